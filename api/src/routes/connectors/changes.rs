//! Tool changes held for review (see `switchboard_core::domain::pins`):
//! `GET /api/connectors/{id}/changes` lists what the server changed since the
//! user approved its tools; `POST` approves (the new definitions are pinned
//! and served) or rejects (the approved ones stay) all of them or some.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::audit::{self, AuditKind};
use switchboard_core::domain::{ToolChange, UserId};
use switchboard_core::store::ConnectorRecord;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ConnectorView, not_found, parse_id, view_of};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::oplog::Op;
use crate::state::AppState;

/// Body of `GET /api/connectors/{id}/changes`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolChanges {
    pub connector_id: Uuid,
    /// Each tool that differs from its approved definition, in the server's
    /// order (removals last); rejected ones are marked and not pending.
    pub changes: Vec<ToolChange>,
    /// Send back with a decision: it is refused if the pending changes are
    /// no longer the ones reviewed.
    pub review: String,
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// Body of `POST /api/connectors/{id}/changes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeDecision {
    pub decision: Decision,
    /// The `review` of the changes listed to the user.
    pub review: String,
    /// The tools to decide (server names); all pending changes when omitted.
    /// A rejected change may be approved by naming it.
    pub tools: Option<Vec<String>>,
}

/// The server's tool changes waiting for review.
#[utoipa::path(get, path = "/api/connectors/{id}/changes", tag = "connectors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ToolChanges), (status = 404, body = ErrorBody)))]
pub async fn list_changes(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ToolChanges>> {
    let record = state.store.connector(&user, parse_id(&id)?).await.map_err(not_found)?;
    let pins = record.tool_pins.map(|p| p.0).unwrap_or_default();
    Ok(Json(ToolChanges {
        connector_id: record.id,
        changes: pins.differences(),
        review: pins.review_hash(),
    }))
}

/// Approves or rejects the server's tool changes (all, or the named tools).
/// Approving pins the new definitions and serves them to agents; rejecting
/// keeps the approved ones and does not ask again about the same change.
#[utoipa::path(post, path = "/api/connectors/{id}/changes", tag = "connectors", request_body = ChangeDecision,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody),
        (status = 409, description = "CHANGES_MOVED: the server changed its tools again since `review` was listed; \
            NO_PENDING_CHANGE: a named tool has no change waiting; PINS_BUSY: retry", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn decide_changes(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ChangeDecision>,
) -> ApiResult<Json<ConnectorView>> {
    let op = Op::start("connector.review_changes", &user);
    let result = async {
        let id = parse_id(&id)?;
        let (record, decided) = decide(&state, &user, id, &input).await?;
        let kind = match input.decision {
            Decision::Approve => AuditKind::ToolChangesApproved,
            Decision::Reject => AuditKind::ToolChangesRejected,
        };
        if !decided.is_empty() {
            let summary = json!({"connector": record.name, "tools": decided});
            state.audit(&user, kind, audit::connector(id), summary).await;
        }
        view_of(&state, &user, record).await
    }
    .await;
    let view = op.finish(Some(&id), result)?;
    state.events.catalog_changed(user.as_str()).await;
    Ok(Json(view))
}

/// Applies the decision to the stored pins, only while the pending changes
/// are those the user reviewed (compare-and-set, re-read when a discovery
/// wrote meanwhile). Returns the saved connector and the tools decided.
async fn decide(
    state: &AppState,
    user: &UserId,
    id: Uuid,
    input: &ChangeDecision,
) -> ApiResult<(ConnectorRecord, Vec<String>)> {
    for _ in 0..3 {
        let record = state.store.connector(user, id).await.map_err(not_found)?;
        let mut pins = record.tool_pins.clone().map(|p| p.0).unwrap_or_default();
        if pins.review_hash() != input.review {
            return Err(ApiError::conflict(
                "CHANGES_MOVED",
                "the server changed its tools again since they were listed: review them again",
            ));
        }
        let decided = pins
            .decide(input.decision == Decision::Approve, input.tools.as_deref())
            .map_err(|e| no_change(&e.0))?;
        if decided.is_empty() {
            return Ok((record, decided));
        }
        if let Some(saved) = state.store.put_tool_pins(user, id, record.pins_rev, &pins).await? {
            return Ok((saved, decided));
        }
    }
    Err(ApiError::conflict(
        "PINS_BUSY",
        "the connector's tools were being re-checked; try again",
    ))
}

fn no_change(tool: &str) -> ApiError {
    ApiError::conflict(
        "NO_PENDING_CHANGE",
        format!("no change is waiting for review for the tool \u{201c}{tool}\u{201d}"),
    )
}
