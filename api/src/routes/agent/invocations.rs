//! `POST /api/agent/invocations`: call one catalog tool as a run (202, or 200
//! with `Prefer: wait`). Arguments are checked against the tool's schema
//! first (422 with the failing path); an idempotency key never runs twice for
//! a user (a replay answers the original run; the same key with another
//! request answers 409).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};
use switchboard_core::domain::UserId;
use switchboard_core::runs::RunRecord;
use switchboard_core::secret::REDACTED;
use switchboard_plugins::calls::{self, CallRequest};
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::oplog::Op;
use crate::runs::{RunView, prefer_wait, respond};
use crate::state::AppState;

/// Body of `POST /api/agent/invocations` (`Debug` leaves out the arguments).
#[derive(Deserialize, ToSchema)]
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

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("tool", &self.tool)
            .field("arguments", &REDACTED)
            .field("idempotency_key", &self.idempotency_key)
            .finish()
    }
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

/// Checks the rate limit, then starts the call.
async fn start_invocation(state: &AppState, user: &UserId, body: Invocation) -> ApiResult<RunRecord> {
    state
        .invoke_limiter
        .check(user)
        .await
        .map_err(|retry| ApiError::rate_limited("tool calls", retry))?;
    let request = CallRequest::new(body.tool, body.arguments, body.idempotency_key);
    Ok(calls::start(&state.services, user, request).await?)
}
