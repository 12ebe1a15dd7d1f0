//! The MCP client: one shared, egress-guarded HTTP client; connection tests
//! (`initialize` + paginated `tools/list`) over Streamable HTTP through rmcp,
//! with the legacy HTTP+SSE transport as an automatic fallback.
//!
//! - [`codes`]: error codes and failures.
//! - [`call`]: `tools/call` and the retry classification of its failures.
//! - [`classify`]: rmcp/reqwest errors → failures.
//! - [`probe`]: the connection test, step by step.
//! - [`legacy`]: the HTTP+SSE transport.
//! - [`timed`]: notices when the server first answers (connect vs handshake).

pub mod call;
pub mod classify;
pub mod codes;
pub mod legacy;
pub mod probe;
pub mod timed;

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use url::Url;

use crate::domain::{Credentials, CustomHeaders};
use crate::egress::EgressGuard;
use crate::egress::resolver::GuardedResolver;
use crate::oauth::GuardedOAuthHttp;
use crate::secret::Secret;
pub use codes::{ErrorCode, Failure};
pub use probe::{ProbeReport, ServerInfo, Session, StepObserver, StepStatus, StepUpdate, TEST_STEPS, close};
use rmcp::transport::auth::OAuthHttpClient;

/// Caps on what an (untrusted) server may send.
#[derive(Debug, Clone, Copy)]
pub struct McpLimits {
    /// Largest JSON body or single SSE event accepted.
    pub max_message_bytes: usize,
    /// Most tools accepted from one server, over all pages.
    pub max_tools: usize,
    /// Most `tools/list` pages followed.
    pub max_pages: usize,
}

impl Default for McpLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 2 * 1024 * 1024,
            max_tools: 1000,
            max_pages: 50,
        }
    }
}

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
    http: reqwest::Client,
    oauth: Arc<GuardedOAuthHttp>,
    guard: EgressGuard,
    limits: McpLimits,
}

impl McpClient {
    /// Builds the shared HTTP client: guarded resolver, redirect hops checked,
    /// proxies ignored (a proxy would resolve names behind the guard's back).
    pub fn new(guard: EgressGuard, limits: McpLimits) -> anyhow::Result<Self> {
        crate::telemetry::install_crypto_provider();
        let redirect_guard = guard.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if let Err(e) = redirect_guard.check_literal(attempt.url()) {
                attempt.error(e)
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
            .redirect(redirects)
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let oauth = Arc::new(GuardedOAuthHttp::new(guard.clone())?);
        Ok(Self {
            http,
            oauth,
            guard,
            limits,
        })
    }

    pub fn guard(&self) -> &EgressGuard {
        &self.guard
    }

    pub fn limits(&self) -> McpLimits {
        self.limits
    }

    /// The shared, guarded HTTP client (for transports built elsewhere).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The guarded client OAuth discovery, registration and token requests use.
    pub fn oauth_http(&self) -> Arc<dyn OAuthHttpClient> {
        self.oauth.clone()
    }
}
