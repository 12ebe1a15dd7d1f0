//! `GET /api/runs/{id}` (poll) and `GET /api/runs/{id}/events` (SSE).

mod events;

use axum::Json;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::runs::{RunView, view};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
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
