//! Approvals of calls to `ask` tools: `GET /api/approvals` (yours, newest
//! first; `state=pending` for what waits), `GET /api/approvals/{id}` (with the
//! call's arguments while it is pending) and `POST /api/approvals/{id}`
//! (`approve`, `deny`, or `always`, which also allows the tool from now on).
//! Another user's approval answers 404.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_core::approvals::{self, ApprovalRecord, ApprovalState, DecideError, Decision};
use switchboard_core::store::StoreError;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::oplog::Op;
use crate::paging::{Page, invalid};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_approvals))
        .routes(routes!(get_approval, decide_approval))
}

/// A call waiting for (or given) a person's approval.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalView {
    pub id: Uuid,
    pub state: ApprovalState,
    /// The name agents call the tool by.
    pub tool: String,
    pub display_name: String,
    /// `connector` or `system`.
    pub source_kind: String,
    pub connector_id: Option<Uuid>,
    pub system_tool: Option<String>,
    /// The tool's own name.
    pub tool_name: String,
    /// `invocation`, `agent`, `gateway` or `proxy`.
    pub origin: String,
    /// The call's run, which waits for the decision (none through MCP: there,
    /// approving lets the client's next identical call run).
    pub run_id: Option<Uuid>,
    /// The agent turn paused on this call.
    pub turn_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Undecided by then, it expires and the call fails `APPROVAL_TIMEOUT`.
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// `api`, `ui`, `elicitation`, `always` or `timeout`.
    pub how: Option<String>,
    /// The call's arguments: only from `GET /api/approvals/{id}`, while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub arguments: Option<Map<String, Value>>,
}

impl From<ApprovalRecord> for ApprovalView {
    fn from(a: ApprovalRecord) -> Self {
        Self {
            id: a.id,
            state: a.state(),
            tool: a.catalog_name,
            display_name: a.display_name,
            source_kind: a.source_kind,
            connector_id: a.connector_id,
            system_tool: a.system_tool,
            tool_name: a.tool_name,
            origin: a.origin,
            run_id: a.run_id,
            turn_id: a.turn_id,
            created_at: a.created_at,
            expires_at: a.expires_at,
            decided_at: a.decided_at,
            how: a.how,
            arguments: None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ApprovalQuery {
    pub state: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A page of approvals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalPage {
    pub approvals: Vec<ApprovalView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Your approvals, newest first.
#[utoipa::path(get, path = "/api/approvals", tag = "approvals",
    params(("state" = Option<ApprovalState>, Query, description = "Only approvals in this state (`pending`: waiting for you)"),
        ("cursor" = Option<Uuid>, Query, description = "The `next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Approvals per page (default 50)")),
    responses((status = 200, body = ApprovalPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_approvals(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<ApprovalQuery>,
) -> ApiResult<Json<ApprovalPage>> {
    let page = Page::parse("cursor", query.cursor.as_deref(), query.limit)?;
    let wanted = match query.state.as_deref() {
        None => None,
        Some(s) => Some(
            ApprovalState::parse(s)
                .ok_or_else(|| invalid("state", "one of pending, approved, denied, expired, used"))?,
        ),
    };
    let records = state.store.approvals(&user, wanted, page.after, page.limit).await?;
    let next_cursor = page.next(&records, |r| r.id);
    Ok(Json(ApprovalPage {
        approvals: records.into_iter().map(ApprovalView::from).collect(),
        next_cursor,
    }))
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("approval"),
        other => other.into(),
    }
}

fn parse_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("approval"))
}

/// One approval, with the call's arguments while it is pending.
#[utoipa::path(get, path = "/api/approvals/{id}", tag = "approvals",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ApprovalView), (status = 404, body = ErrorBody)))]
async fn get_approval(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ApprovalView>> {
    let record = state.store.approval(&user, parse_id(&id)?).await.map_err(not_found)?;
    let arguments = approvals::arguments(&state.services, &record);
    let mut view = ApprovalView::from(record);
    view.arguments = arguments;
    Ok(Json(view))
}

/// Body of a decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// `approve` (this call), `deny`, or `always` (this call, and the tool from now on).
    pub decision: Decision,
}

/// Decides on a pending approval.
#[utoipa::path(post, path = "/api/approvals/{id}", tag = "approvals", request_body = DecisionInput,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ApprovalView), (status = 404, body = ErrorBody),
        (status = 409, description = "APPROVAL_SETTLED: already decided, used or expired", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn decide_approval(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> ApiResult<Json<ApprovalView>> {
    let op = Op::start("approval.decide", &user);
    let result = async {
        let id = parse_id(&id)?;
        match approvals::decide(&state.services, &user, id, input.decision, "api").await {
            Ok(record) => Ok(ApprovalView::from(record)),
            Err(DecideError::NotFound) => Err(ApiError::not_found("approval")),
            Err(e @ DecideError::Settled(_)) => Err(ApiError::conflict("APPROVAL_SETTLED", e.to_string())),
            Err(DecideError::Store(e)) => Err(e.into()),
        }
    }
    .await;
    op.finish(Some(&id), result).map(Json)
}
