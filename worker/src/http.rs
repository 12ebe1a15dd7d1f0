//! The worker's own HTTP endpoint (`SWITCHBOARD_WORKER_LISTEN`): `/metrics`
//! for Prometheus and `/healthz` for orchestrators.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

pub fn router(metrics: PrometheusHandle) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render()).into_response() }
            }),
        )
}

/// Serves until the process ends.
pub async fn serve(listener: TcpListener, metrics: PrometheusHandle) -> anyhow::Result<()> {
    axum::serve(listener, router(metrics)).await?;
    Ok(())
}
