//! The worker's own HTTP endpoint (`SWITCHBOARD_WORKER_LISTEN`): `/metrics`
//! for Prometheus (bearer `SWITCHBOARD_METRICS_TOKEN` when set) and
//! `/healthz` for orchestrators.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_core::{Secret, telemetry};
use tokio::net::TcpListener;

pub fn router(metrics: PrometheusHandle, token: Option<Secret>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            "/metrics",
            get(move |headers: HeaderMap| {
                let (metrics, token) = (metrics.clone(), token.clone());
                async move {
                    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
                    if !telemetry::scrape_allowed(token.as_ref(), authorization) {
                        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response();
                    }
                    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render()).into_response()
                }
            }),
        )
}

/// Serves until the process ends.
pub async fn serve(listener: TcpListener, metrics: PrometheusHandle, token: Option<Secret>) -> anyhow::Result<()> {
    axum::serve(listener, router(metrics, token)).await?;
    Ok(())
}
