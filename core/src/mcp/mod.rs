//! The MCP client: one shared, egress-guarded HTTP client; connection tests
//! (`server/discover` or `initialize`, then paginated `tools/list`) over
//! Streamable HTTP through rmcp, with the legacy HTTP+SSE transport as an
//! automatic fallback.
//!
//! - [`eras`]: 2026-07-28 (stateless), the handshake era and legacy SSE, and
//!   the memory of which one each server speaks.
//! - [`codes`]: error codes and failures.
//! - [`call`]: `tools/call` and the retry classification of its failures.
//! - [`classify`]: rmcp/reqwest errors → failures.
//! - [`probe`]: the connection test, step by step; `handshake` (both
//!   transports) and `tools` (paginated `tools/list`) are its steps.
//! - [`limits`]: caps on what a server can make us hold.
//! - [`legacy`]: the HTTP+SSE transport.
//! - [`timed`]: notices when the server first answers (connect vs handshake);
//!   a [`LiveToken`] replaced by an OAuth refresh mid-session.
//! - [`relay`]: the client side of every session — refusing, or relayed to
//!   the per-connector proxy's client ([`Downstream`]).

pub mod call;
pub mod classify;
pub mod codes;
pub mod eras;
mod handshake;
pub mod legacy;
pub mod limits;
pub mod probe;
pub mod relay;
pub mod timed;
mod tools;

use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use url::Url;

use crate::domain::{Credentials, CustomHeaders};
use crate::egress::EgressGuard;
use crate::egress::http::EgressHttp;
use crate::secret::Secret;
pub use codes::{ErrorCode, Failure};
pub use eras::Era;
pub use handshake::Opening;
pub use limits::McpLimits;
pub use probe::{ProbeReport, ServerInfo, Session, StepObserver, StepStatus, StepUpdate, TEST_STEPS, close};
pub use relay::{ClientSide, Downstream};
pub use timed::LiveToken;

/// Where and how to reach one server. Secrets travel only in headers.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    pub bearer: Option<Secret>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Target {
    pub fn new(url: Url, credentials: &Credentials, headers: &CustomHeaders) -> Self {
        let bearer = match credentials {
            Credentials::Bearer { token } => Some(token.clone()),
            Credentials::Oauth(o) => o.access_token.clone(),
            Credentials::None => None,
        };
        let headers = headers
            .iter()
            .filter_map(|(name, value)| {
                let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
                let mut value = HeaderValue::from_str(value.expose()).ok()?;
                value.set_sensitive(true);
                Some((name, value))
            })
            .collect();
        Self { url, bearer, headers }
    }

    /// Adds the credentials and custom headers to a request.
    pub fn apply(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token.expose());
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }
}

/// The process's MCP client. Cheap to clone; build it once.
#[derive(Debug, Clone)]
pub struct McpClient {
    http: EgressHttp,
    limits: McpLimits,
    eras: Arc<eras::EraMemory>,
}

impl McpClient {
    pub fn new(http: EgressHttp, limits: McpLimits) -> Self {
        Self {
            http,
            limits,
            eras: Arc::default(),
        }
    }

    pub fn guard(&self) -> &EgressGuard {
        self.http.guard()
    }

    pub fn limits(&self) -> McpLimits {
        self.limits
    }

    /// The egress stack this client sends on.
    pub fn http(&self) -> &EgressHttp {
        &self.http
    }
}
