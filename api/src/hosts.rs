//! The `Host` check of the browser-facing API (the page, `/api/*`, `/oauth/*`,
//! `/mcp`): only the names of [`Settings::answered_hosts`] are answered, so a
//! page on an attacker's domain that rebinds to this server (DNS rebinding)
//! gets nothing. `/metrics`, `/healthz` and `/readyz` answer any name (a
//! scraper or orchestrator reaches the API by service name).
//!
//! [`Settings::answered_hosts`]: switchboard_core::config::Settings::answered_hosts

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Paths answered whatever the `Host`.
const ANY_HOST: [&str; 3] = ["/metrics", "/healthz", "/readyz"];

/// The host name of a `Host` header (`name`, `name:port`, `[v6]:port`), lowercase.
pub fn host_name(value: &str) -> String {
    let value = value.trim();
    let name = match value.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => value.rsplit_once(':').map_or(value, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                value
            }
        }),
    };
    name.to_ascii_lowercase()
}

/// Whether a `Host` value names this machine's loopback interface.
pub fn is_loopback(value: &str) -> bool {
    matches!(host_name(value).as_str(), "localhost" | "127.0.0.1" | "::1")
}

pub async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if ANY_HOST.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(host_name)
        .or_else(|| request.uri().host().map(str::to_ascii_lowercase));
    match host {
        Some(host) if state.answered_hosts.contains(&host) => next.run(request).await,
        _ => ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "HOST_NOT_ALLOWED",
            "this server does not answer to that host name; the operator can add it to SWITCHBOARD_ALLOWED_HOSTS",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_read_in_every_form() {
        assert_eq!(host_name("Example.COM:8080"), "example.com");
        assert_eq!(host_name("example.com"), "example.com");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
        assert!(is_loopback("localhost:3000"));
        assert!(is_loopback("127.0.0.1"));
        assert!(!is_loopback("evil.example:8080"));
        assert!(!is_loopback("127.0.0.1.evil.example"));
    }
}
