//! `POST /api/agent/invocations`: call one catalog tool as a run (202, or 200
//! with `Prefer: wait`). Arguments are checked against the tool's schema
//! first (422 with the failing path); an idempotency key never runs twice for
//! a user (a replay answers the original run; the same key with another
//! request answers 409).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchboard_core::catalog::CatalogEntry;
use switchboard_core::domain::{FieldError, UserId};
use switchboard_core::jobs::RunKind;
use switchboard_core::runs::launch::{NewRun, launch};
use switchboard_core::runs::{InvocationInput, RunInput, RunRecord, ToolTarget};
use switchboard_core::store::StoreError;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::oplog::Op;
use crate::runs::{RunView, prefer_wait, respond};
use crate::state::AppState;

/// Body of `POST /api/agent/invocations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invocation {
    /// The catalog name of the tool.
    pub tool: String,
    /// Arguments, checked against the tool's input schema.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub arguments: Map<String, Value>,
    /// 1–255 visible characters; the same key never runs twice.
    pub idempotency_key: Option<String>,
}

/// Calls a tool of the user's catalog.
#[utoipa::path(post, path = "/api/agent/invocations", tag = "agent", request_body = Invocation,
    params(("Prefer" = Option<String>, Header, description = "`wait=N`: wait up to N seconds for the result")),
    responses((status = 202, body = RunView), (status = 200, body = RunView), (status = 404, body = ErrorBody),
        (status = 409, description = "NOT_CONNECTED or IDEMPOTENCY_KEY_REUSED", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn invoke(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Invocation>,
) -> ApiResult<Response> {
    let op = Op::start("tool.invoke", &user);
    let tool = body.tool.clone();
    let result = async {
        let run = start_invocation(&state, &user, body).await?;
        respond(&state, &user, run, prefer_wait(&headers)).await
    }
    .await;
    op.finish(Some(&tool), result)
}

/// Resolves, checks and queues an invocation (shared with the MCP gateway and
/// agent turns); a replayed idempotency key gives back the original run.
pub async fn start_invocation(state: &AppState, user: &UserId, body: Invocation) -> ApiResult<RunRecord> {
    if let Some(key) = &body.idempotency_key {
        let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(ApiError::validation(vec![FieldError::body(&["idempotency_key"], "use 1-255 visible ASCII characters")]));
        }
    }
    state.invoke_limiter.check(user).await.map_err(|retry_after| {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", format!("too many tool calls; try again in {retry_after} s"))
            .with_retry_after(retry_after)
    })?;
    let catalog = switchboard_plugins::catalog::load(&*state.store, user).await?;
    let entry = find(&catalog, &body.tool)?;
    let arguments = Value::Object(body.arguments);
    crate::schema::check(&entry.input_schema, &arguments).map_err(ApiError::validation)?;
    let request_hash = request_hash(&entry.name, &arguments);
    if let Some(key) = &body.idempotency_key
        && let Some(existing) = replay(state, user, key, &request_hash).await?
    {
        return Ok(existing);
    }
    let Value::Object(arguments) = arguments else { unreachable!("built from a map") };
    let new = NewRun {
        owner: user.clone(),
        kind: RunKind::InvokeTool,
        connector_id: entry.connector_id(),
        input: RunInput { tool: Some(target(entry)), ..RunInput::default() },
        sealed: Some(json!(InvocationInput { arguments })),
        idempotency: body.idempotency_key.clone().map(|k| (k, request_hash.clone())),
    };
    match launch(&state.services, new).await {
        Ok(run) => Ok(run),
        Err(e) if matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Duplicate("idempotency_key"))) => {
            // Another request with this key won the race.
            let key = body.idempotency_key.as_deref().unwrap_or_default();
            replay(state, user, key, &request_hash).await?.ok_or_else(|| ApiError::internal(e))
        }
        Err(e) => Err(crate::routes::connectors::queue_error(e)),
    }
}

fn find<'a>(catalog: &'a switchboard_core::catalog::Catalog, name: &str) -> ApiResult<&'a CatalogEntry> {
    catalog.get(name).ok_or_else(|| match switchboard_plugins::catalog::unconnected_system_tool(name) {
        Some(tool) => ApiError::conflict(
            "NOT_CONNECTED",
            format!("{} is not connected: connect it in the Apps menu first", tool.descriptor().name),
        ),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "TOOL_NOT_FOUND",
            format!("no tool `{name}` in your catalog; list them with GET /api/agent/tools"),
        ),
    })
}

fn target(entry: &CatalogEntry) -> ToolTarget {
    ToolTarget {
        catalog_name: entry.name.clone(),
        source_kind: entry.source.kind.clone(),
        connector_id: entry.connector_id(),
        system_tool: (entry.source.kind == "system").then(|| entry.source.id.clone()),
        tool_name: entry.tool.clone(),
        read_only: entry.read_only(),
        idempotent: entry.idempotent(),
    }
}

/// The earlier run of this key, if any; 409 when it was for another request.
async fn replay(state: &AppState, user: &UserId, key: &str, request_hash: &str) -> ApiResult<Option<RunRecord>> {
    match state.store.run_by_idempotency_key(user, key).await {
        Ok(run) if run.request_hash.as_deref() == Some(request_hash) => Ok(Some(run)),
        Ok(_) => Err(ApiError::conflict(
            "IDEMPOTENCY_KEY_REUSED",
            "this idempotency key was used for another call; use a new key for a new call",
        )),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// SHA-256 of the tool and its arguments (serde_json orders object keys).
fn request_hash(tool: &str, arguments: &Value) -> String {
    let canonical = json!([tool, arguments]).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()))
}
