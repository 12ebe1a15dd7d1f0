//! `GET /healthz` (the process is alive) and `GET /readyz` (database and queue answer).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let database = check(state.store.ping()).await;
    let queue = check(state.queue.as_queue().ping()).await;
    let checks = json!({"database": database.unwrap_or("ok"), "queue": queue.unwrap_or("ok")});
    match (database, queue) {
        (None, None) => Ok(Json(json!({"status": "ready", "checks": checks}))),
        (Some(_), _) | (_, Some(_)) => {
            let failing: Vec<&str> = [("database", database), ("queue", queue)]
                .into_iter()
                .filter(|(_, p)| p.is_some())
                .map(|(n, _)| n)
                .collect();
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "NOT_READY",
                format!("not ready: {} unavailable", failing.join(", ")),
            )
            .with_details(checks))
        }
    }
}

/// `None` when the check passes, else what went wrong.
async fn check<E: std::fmt::Display>(probe: impl Future<Output = Result<(), E>>) -> Option<&'static str> {
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Some("unreachable")
        }
        Err(_) => Some("timed out"),
    }
}
