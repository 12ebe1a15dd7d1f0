//! Shared state of the HTTP handlers: the [`Services`] shared with the
//! workers (reachable through `Deref`), plus what only the API needs.

use std::ops::Deref;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use switchboard_core::audit::{self, Actor, AuditKind};
use switchboard_core::domain::UserId;
use switchboard_core::ratelimit::RateLimiter;
use switchboard_core::services::Services;
use switchboard_plugins::Registry;
use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub auth: Arc<Authenticator>,
    pub tools: &'static Registry,
    pub metrics: PrometheusHandle,
    /// Connection tests per user per minute.
    pub test_limiter: Arc<RateLimiter>,
    /// Tool invocations per user per minute.
    pub invoke_limiter: Arc<RateLimiter>,
    /// OAuth sign-ins started per user per minute.
    pub authorize_limiter: Arc<RateLimiter>,
    /// The server-made JWT secret, when dev sign-in is on (embedded mode, no
    /// configured secret, loopback-only listener): see [`crate::ui`].
    pub dev_sign_in: Option<switchboard_core::Secret>,
    /// Cancelled when the server shuts down: ends long-lived streams (the MCP gateway's).
    pub shutdown: CancellationToken,
    /// The host names the browser-facing API answers to (see [`crate::hosts`]).
    pub answered_hosts: Arc<Vec<String>>,
    /// Open run event streams per user (`SWITCHBOARD_USER_STREAMS`).
    pub streams: crate::slots::UserSlots,
    /// Open MCP gateway sessions per user (`SWITCHBOARD_USER_GATEWAY_SESSIONS`).
    pub gateway_sessions: crate::slots::UserSlots,
}

impl Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.services
    }
}

impl AppState {
    /// Records an audit event of `user`'s own doing (see [`audit`]).
    pub async fn audit(&self, user: &UserId, kind: AuditKind, object: String, summary: serde_json::Value) {
        audit::record(
            self.store.as_ref(),
            Some(user.as_str()),
            Actor::User(user.as_str()),
            kind,
            object,
            summary,
        )
        .await;
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("services", &self.services).finish()
    }
}
