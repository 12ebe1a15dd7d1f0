//! `GET /api/runs` (yours, newest first, filtered), `GET /api/runs/{id}`
//! (poll) and `GET /api/runs/{id}/events` (SSE).

mod events;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use switchboard_core::jobs::RunKind;
use switchboard_core::runs::RunStatus;
use switchboard_core::store::RunFilter;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::paging::{Page, invalid};
use crate::runs::{RunView, view};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_runs))
        .routes(routes!(get_run))
        .routes(routes!(events::run_events))
}

/// A path id that is not a UUID names no run: 404.
pub(super) fn parse_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("run"))
}

/// A run's current state (steps update live while it runs).
#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RunView), (status = 404, body = ErrorBody)))]
async fn get_run(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<RunView>> {
    let run = state.store.run(&user, parse_id(&id)?).await.map_err(|e| match e {
        switchboard_core::store::StoreError::NotFound => ApiError::not_found("run"),
        other => other.into(),
    })?;
    Ok(Json(view(&state, run).await.0))
}

#[derive(Debug, Deserialize)]
pub struct RunQuery {
    pub kind: Option<String>,
    pub connector_id: Option<String>,
    pub state: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A page of runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPage {
    pub runs: Vec<RunView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Your runs (connection tests, discoveries, tool calls, agent turns), newest
/// first, without their results (read a run for its result).
#[utoipa::path(get, path = "/api/runs", tag = "runs",
    params(("kind" = Option<RunKind>, Query, description = "Only runs of this kind"),
        ("connector_id" = Option<Uuid>, Query, description = "Only runs of this connector"),
        ("state" = Option<RunStatus>, Query, description = "Only runs in this state"),
        ("cursor" = Option<Uuid>, Query, description = "The `next_cursor` of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "Runs per page (default 50)")),
    responses((status = 200, body = RunPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_runs(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> ApiResult<Json<RunPage>> {
    let page = Page::parse("cursor", query.cursor.as_deref(), query.limit)?;
    let kind = match query.kind.as_deref() {
        None => None,
        Some(k) => Some(RunKind::parse(k).ok_or_else(|| {
            invalid(
                "kind",
                "one of connection_test, discover_tools, invoke_tool, agent_turn",
            )
        })?),
    };
    let status = match query.state.as_deref() {
        None => None,
        Some(s) => Some(RunStatus::parse(s).ok_or_else(|| {
            invalid(
                "state",
                "one of queued, waiting, running, awaiting_approval, succeeded, failed",
            )
        })?),
    };
    let connector_id = match query.connector_id.as_deref() {
        None => None,
        Some(c) => Some(Uuid::parse_str(c).map_err(|_| invalid("connector_id", "not a connector id"))?),
    };
    let filter = RunFilter {
        kind: kind.map(|k| k.as_str().to_owned()),
        connector_id,
        status,
    };
    let records = state.store.list_runs(&user, &filter, page.after, page.limit).await?;
    let next_cursor = page.next(&records, |r| r.id);
    Ok(Json(RunPage {
        runs: records.into_iter().map(RunView::listed).collect(),
        next_cursor,
    }))
}
