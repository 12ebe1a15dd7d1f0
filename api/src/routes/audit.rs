//! `GET /api/audit`: the signed-in user's audit log, newest first, paged by
//! cursor (`before` = the last event's id). Events are written by
//! `switchboard_core::audit`; nobody sees another user's.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::store::AuditRecord;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::paging::Page;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub before: Option<String>,
    pub limit: Option<u32>,
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who did it: your user id, `switchboard` (its own checks) or `operator`.
    pub actor: String,
    /// e.g. `connector.created`, `tool_changes.held`, `grant.revoked`.
    pub kind: String,
    /// What it concerns, e.g. `connector:<id>` or `system_tool:gmail`.
    pub object: String,
    /// What changed (names, flags and counts; never a secret).
    #[schema(value_type = Object)]
    pub summary: Value,
}

/// A page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl From<AuditRecord> for AuditEvent {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            at: r.created_at,
            actor: r.actor,
            kind: r.kind,
            object: r.object,
            summary: r.summary.0,
        }
    }
}

/// Security-relevant changes to your connectors, authorizations and tools, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "account",
    params(("before" = Option<Uuid>, Query, description = "The `next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Events per page (default 50)")),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let page = Page::parse("before", query.before.as_deref(), query.limit)?;
    let records = state.store.audit_events(&user, page.after, page.limit).await?;
    let next_cursor = page.next(&records, |r| r.id);
    Ok(Json(AuditPage {
        events: records.into_iter().map(AuditEvent::from).collect(),
        next_cursor,
    }))
}
