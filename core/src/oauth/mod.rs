//! OAuth 2.1 for MCP servers (and Google): Switchboard as the client.
//!
//! - [`http`]: rmcp's OAuth code on the egress stack (guard, redirects, deadlines, caps).
//! - [`flow`]: the authorization-code flow with PKCE, split at the callback.
//! - [`google`]: Google sign-in (Gmail), outside MCP authorization's rules.
//! - [`grant`]: issued tokens, their freshness, and refresh.
//! - [`service`]: flows persisted until the callback, sealed grants, leased
//!   (single-flight) refresh, revocation.

pub mod flow;
pub mod google;
pub mod grant;
pub mod http;
pub mod service;

pub use flow::{ClientChoice, ClientIdentity, Grant, Pending, Provider, Registration, Started, finish, start};
pub use grant::refresh;
pub use http::{GuardedOAuthHttp, rmcp_client};
pub use service::{AccessToken, Authorization, CallbackError, Completed, OAuthService, OAuthTarget, TokenError};

/// Why an OAuth step failed.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The grant is no longer valid (`invalid_grant`, no refresh token): authorize again.
    #[error("authorization is needed again: {0}")]
    Rejected(String),
    #[error("client registration failed: {0}")]
    Registration(String),
    /// Discovery, metadata, token endpoint or transport problems.
    #[error("{0}")]
    Protocol(String),
}
