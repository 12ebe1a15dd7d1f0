//! System tools: `GET /api/tools`, `POST /api/tools/{id}/connect`, `POST /api/tools/{id}/disconnect`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use serde::Serialize;
use serde_json::json;
use switchboard_core::audit::{self, AuditKind};
use switchboard_core::oauth::OAuthTarget;
use switchboard_core::store::{UserToolRecord, now};
use switchboard_plugins::{SystemTool, ToolAuth};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::oplog::Op;
use crate::routes::oauth::{authorization_response, oauth_error};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tools))
        .routes(routes!(connect_tool))
        .routes(routes!(disconnect_tool))
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
    /// `available`, `connected`, `needs_authorization` (sign in again) or `coming_soon`.
    pub status: &'static str,
    pub functions: Vec<FunctionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionView {
    pub name: &'static str,
    pub description: &'static str,
    pub read_only: bool,
    pub destructive: bool,
}

/// `connected`: the user connected it, and (for sign-in tools) `signed_in`:
/// its grant still exists (a refused refresh deletes it).
fn view(tool: &dyn SystemTool, connected: bool, signed_in: bool) -> ToolView {
    let d = tool.descriptor();
    let status = match (d.is_beta, connected, signed_in) {
        (true, _, _) => "coming_soon",
        (false, true, true) => "connected",
        (false, true, false) => "needs_authorization",
        (false, false, _) => "available",
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
        functions: d
            .functions
            .iter()
            .map(|f| FunctionView {
                name: f.name,
                description: f.description,
                read_only: f.read_only,
                destructive: f.destructive,
            })
            .collect(),
    }
}

/// Every system tool, sorted by id, with this user's status.
#[utoipa::path(get, path = "/api/tools", tag = "tools",
    responses((status = 200, body = [ToolView]), (status = 401, body = ErrorBody)))]
async fn list_tools(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<Json<Vec<ToolView>>> {
    let connected: HashMap<String, bool> = state
        .store
        .user_tools(&user)
        .await?
        .into_iter()
        .map(|r| (r.tool_id, r.connected))
        .collect();
    let mut views = Vec::new();
    for tool in state.tools.all() {
        let d = tool.descriptor();
        let connected = connected.get(d.id).copied().unwrap_or(false);
        let signed_in = match d.auth {
            ToolAuth::Google { .. } if connected => state
                .store
                .oauth_grant(user.as_str(), &OAuthTarget::SystemTool(d.id).key())
                .await?
                .is_some(),
            _ => true,
        };
        views.push(view(*tool, connected, signed_in));
    }
    Ok(Json(views))
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
        Ok(Json(view(tool, true, true)).into_response())
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
        Ok(Json(view(tool, false, true)))
    }
    .await;
    op.finish(Some(&id), result)
}

async fn put(
    state: &AppState,
    user: &switchboard_core::domain::UserId,
    tool_id: &str,
    connected: bool,
) -> ApiResult<()> {
    let now = now();
    let record = UserToolRecord {
        owner: user.as_str().to_owned(),
        tool_id: tool_id.to_owned(),
        connected,
        credentials: None,
        connected_at: connected.then_some(now),
        created_at: now,
        updated_at: now,
    };
    state.store.put_user_tool(&record).await?;
    state.events.catalog_changed(user.as_str()).await;
    Ok(())
}
