//! System tools: `GET /api/tools`, `POST /api/tools/{id}/connect`, `POST /api/tools/{id}/disconnect`,
//! and `PUT /api/tools/{id}/functions/{name}` (a function's policy: allow, ask or block).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::approvals::{DefaultPolicy, Policies, Policy};
use switchboard_core::audit::{self, AuditKind};
use switchboard_core::domain::UserId;
use switchboard_core::oauth::OAuthTarget;
use switchboard_core::store::{UserToolRecord, now};
use switchboard_plugins::{SystemTool, ToolAuth};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::oplog::Op;
use crate::routes::oauth::{authorization_response, oauth_error};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tools))
        .routes(routes!(connect_tool))
        .routes(routes!(disconnect_tool))
        .routes(routes!(set_function_policy))
}

/// A system tool as the Apps menu shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolView {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub icon: &'static str,
    pub category: &'static str,
    /// `none` or `oauth`.
    pub auth_type: &'static str,
    pub is_beta: bool,
    /// `available`, `connected`, `needs_authorization` (sign in again), `coming_soon`, or
    /// `unavailable` (its sign-in is not configured on this server: see `needs_settings`).
    pub status: &'static str,
    /// For the operator, when `unavailable`: the settings this server lacks.
    pub needs_settings: Vec<&'static str>,
    pub functions: Vec<FunctionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionView {
    pub name: &'static str,
    pub description: &'static str,
    pub read_only: bool,
    pub destructive: bool,
    /// What an agent's call does: runs (`allow`), waits for your approval (`ask`) or is refused (`block`).
    pub policy: Policy,
}

/// The settings a Google sign-in needs.
const GOOGLE_SETTINGS: [&str; 2] = ["SWITCHBOARD_GOOGLE_CLIENT_ID", "SWITCHBOARD_GOOGLE_CLIENT_SECRET"];

/// What the user set for one system tool.
#[derive(Debug, Clone, Copy)]
struct UserSetting<'a> {
    /// Whether this server can sign in to it (Google tools need the operator's client).
    configured: bool,
    connected: bool,
    /// For sign-in tools: the grant still exists (a refused refresh deletes it).
    signed_in: bool,
    default_policy: DefaultPolicy,
    policies: &'a Policies,
}

fn view(tool: &dyn SystemTool, user: UserSetting<'_>) -> ToolView {
    let UserSetting {
        configured,
        connected,
        signed_in,
        ..
    } = user;
    let d = tool.descriptor();
    let status = match (d.is_beta, configured, connected, signed_in) {
        (true, _, _, _) => "coming_soon",
        (false, false, _, _) => "unavailable",
        (false, true, true, true) => "connected",
        (false, true, true, false) => "needs_authorization",
        (false, true, false, _) => "available",
    };
    let needs_settings = if status == "unavailable" {
        GOOGLE_SETTINGS.to_vec()
    } else {
        Vec::new()
    };
    ToolView {
        id: d.id,
        name: d.name,
        description: d.description,
        icon: d.icon,
        category: d.category,
        auth_type: d.auth.as_str(),
        is_beta: d.is_beta,
        status,
        needs_settings,
        functions: d
            .functions
            .iter()
            .map(|f| FunctionView {
                name: f.name,
                description: f.description,
                read_only: f.read_only,
                destructive: f.destructive,
                policy: user
                    .policies
                    .of_function(d.id, user.default_policy, f.name, f.read_only),
            })
            .collect(),
    }
}

/// Every system tool, sorted by id, with this user's status.
#[utoipa::path(get, path = "/api/tools", tag = "tools",
    responses((status = 200, body = [ToolView]), (status = 401, body = ErrorBody)))]
async fn list_tools(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<Json<Vec<ToolView>>> {
    let mut views = Vec::new();
    for tool in state.tools.all() {
        views.push(tool_view(&state, &user, *tool).await?);
    }
    Ok(Json(views))
}

/// One system tool with this user's status and policies.
async fn tool_view(state: &AppState, user: &UserId, tool: &'static dyn SystemTool) -> ApiResult<ToolView> {
    let d = tool.descriptor();
    let (rows, policies) = tokio::try_join!(state.store.user_tools(user), state.store.policies(user))?;
    let row = rows.into_iter().find(|r| r.tool_id == d.id);
    let connected = row.as_ref().is_some_and(|r| r.connected);
    let default_policy = row.map_or(DefaultPolicy::Auto, |r| DefaultPolicy::parse(&r.tool_policy));
    let signed_in = match d.auth {
        ToolAuth::Google { .. } if connected => state
            .store
            .oauth_grant(user.as_str(), &OAuthTarget::SystemTool(d.id).key())
            .await?
            .is_some(),
        _ => true,
    };
    let google = &state.settings.google;
    let configured = match d.auth {
        ToolAuth::Google { .. } => google.client_id.is_some() && google.client_secret.is_some(),
        ToolAuth::None => true,
    };
    let setting = UserSetting {
        configured,
        connected,
        signed_in,
        default_policy,
        policies: &policies,
    };
    Ok(view(tool, setting))
}

/// Body of a policy change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub policy: Policy,
}

/// Sets what an agent's call of one of the tool's functions does: `allow`, `ask` or `block`.
#[utoipa::path(put, path = "/api/tools/{id}/functions/{name}", tag = "tools", request_body = PolicyInput,
    params(("id" = String, Path, description = "System tool id"), ("name" = String, Path, description = "Function name")),
    responses((status = 200, body = ToolView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_function_policy(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, name)): Path<(String, String)>,
    ApiJson(input): ApiJson<PolicyInput>,
) -> ApiResult<Json<ToolView>> {
    let op = Op::start("tool.function_policy", &user);
    let result = async {
        let tool = find(&state, &id)?;
        let d = tool.descriptor();
        if !d.functions.iter().any(|f| f.name == name) {
            return Err(ApiError::not_found("function"));
        }
        state
            .store
            .set_function_policy(&user, d.id, &name, input.policy)
            .await?;
        let changed = json!({"tool": d.name, "function": name, "policy": input.policy});
        state
            .audit(&user, AuditKind::ToolSwitched, audit::system_tool(d.id), changed)
            .await;
        state.events.catalog_changed(user.as_str()).await;
        tool_view(&state, &user, tool).await
    }
    .await;
    op.finish(Some(&id), result).map(Json)
}

fn find(state: &AppState, id: &str) -> ApiResult<&'static dyn SystemTool> {
    state.tools.get(id).ok_or_else(|| ApiError::not_found("system tool"))
}

/// Connects a system tool. Tools without sign-in connect at once (200 with
/// the tool); Google tools answer `{authorization_url}` for a sign-in popup,
/// which `/oauth/callback` completes.
#[utoipa::path(post, path = "/api/tools/{id}/connect", tag = "tools",
    params(("id" = String, Path, description = "System tool id")),
    responses((status = 200, description = "The connected tool, or `{authorization_url}`", body = ToolView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "COMING_SOON or OAUTH_NOT_CONFIGURED", body = ErrorBody)))]
async fn connect_tool(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let op = Op::start("tool.connect", &user);
    let result = async {
        let tool = find(&state, &id)?;
        let d = tool.descriptor();
        if d.is_beta {
            return Err(ApiError::conflict(
                "COMING_SOON",
                format!("{} is coming soon and cannot be connected yet", d.name),
            ));
        }
        if let ToolAuth::Google { scopes } = d.auth {
            state
                .authorize_limiter
                .check(&user)
                .await
                .map_err(|retry| ApiError::rate_limited("sign-ins", retry))?;
            let started = state
                .oauth
                .authorize_google(user.as_str(), d.id, &state.settings.google, scopes)
                .await
                .map_err(oauth_error)?;
            return started.map(|s| authorization_response(&state, s)).ok_or_else(|| {
                ApiError::conflict(
                    "OAUTH_NOT_CONFIGURED",
                    format!(
                        "{} needs sign-in with Google, which is not configured on this server \
                         (SWITCHBOARD_GOOGLE_CLIENT_ID and SWITCHBOARD_GOOGLE_CLIENT_SECRET)",
                        d.name
                    ),
                )
            });
        }
        put(&state, &user, d.id, true).await?;
        state
            .audit(
                &user,
                AuditKind::SystemToolConnected,
                audit::system_tool(d.id),
                json!({"name": d.name}),
            )
            .await;
        Ok(Json(tool_view(&state, &user, tool).await?).into_response())
    }
    .await;
    op.finish(Some(&id), result)
}

/// Disconnects a system tool; its OAuth tokens are revoked at the provider
/// (best effort) and deleted. Idempotent.
#[utoipa::path(post, path = "/api/tools/{id}/disconnect", tag = "tools",
    params(("id" = String, Path, description = "System tool id")),
    responses((status = 200, body = ToolView), (status = 404, body = ErrorBody)))]
async fn disconnect_tool(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ToolView>> {
    let op = Op::start("tool.disconnect", &user);
    let result = async {
        let tool = find(&state, &id)?;
        let d = tool.descriptor();
        put(&state, &user, d.id, false).await?;
        state
            .audit(
                &user,
                AuditKind::SystemToolDisconnected,
                audit::system_tool(d.id),
                json!({"name": d.name}),
            )
            .await;
        state
            .oauth
            .forget(user.as_str(), OAuthTarget::SystemTool(tool.descriptor().id))
            .await?;
        Ok(Json(tool_view(&state, &user, tool).await?))
    }
    .await;
    op.finish(Some(&id), result)
}

async fn put(state: &AppState, user: &UserId, tool_id: &str, connected: bool) -> ApiResult<()> {
    let now = now();
    let record = UserToolRecord {
        owner: user.as_str().to_owned(),
        tool_id: tool_id.to_owned(),
        connected,
        credentials: None,
        connected_at: connected.then_some(now),
        tool_policy: DefaultPolicy::Auto.as_str().to_owned(),
        created_at: now,
        updated_at: now,
    };
    state.store.put_user_tool(&record).await?;
    state.events.catalog_changed(user.as_str()).await;
    Ok(())
}
