//! HTTP routes. Each module exposes `router()`; [`app`] assembles them with the
//! cross-cutting layers (metrics, tracing, body limits, JSON 404/405). `gateway`
//! is `/mcp` (the user's tools, merged); `proxy` is `/mcp/connectors/{id}`
//! (one connector as its server made it).

mod agent;
mod approvals;
mod audit;
mod connectors;
mod docs;
mod gateway;
mod health;
mod me;
mod metrics;
pub(crate) mod oauth;
mod proxy;
mod runs;
mod tools;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse as _;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// Body limit of the connector, tool and run routes (agent routes have their own).
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(connectors::router())
        .merge(tools::router())
        .merge(runs::router())
        .merge(me::router())
        .merge(audit::router())
        .merge(approvals::router())
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .merge(agent::router().layer(DefaultBodyLimit::max(state.settings.agent.body_limit)))
        .split_for_parts();
    Router::new()
        .merge(api)
        .merge(health::router())
        .merge(metrics::router())
        .merge(docs::router(openapi))
        .merge(gateway::router(state.clone()))
        .merge(proxy::router(state.clone()))
        .merge(oauth::router())
        .merge(crate::ui::router(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), crate::hosts::check_host))
        .layer(middleware::from_fn(metrics::track))
        .layer(catch_panics())
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .with_state(state)
}

/// The layer that answers a panicking handler (see [`panicked`]).
pub fn catch_panics() -> CatchPanicLayer<fn(Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response> {
    CatchPanicLayer::custom(panicked)
}

/// A handler that panicked: 500 JSON like any other internal error, logged once.
fn panicked(cause: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = cause
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| cause.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    ApiError::internal(anyhow::anyhow!("a request handler panicked: {message}")).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "no such route; see /docs for the API",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "this route does not accept that method",
    )
}
