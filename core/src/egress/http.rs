//! The outbound HTTP stack: every request Switchboard makes goes through
//! here, under a [`Deadline`] that covers connect, headers and body, with the
//! body read through a byte cap.
//!
//! - [`EgressHttp`] is the process's stack for destinations users choose (MCP
//!   servers, OAuth servers): one shared client resolving through the egress
//!   guard, proxies ignored, and one redirect policy ([`judge_hop`]): every hop
//!   re-checked against the guard with its port, at most [`MAX_HOPS`], and a
//!   hop to another origin never carries `Authorization`, cookies or any
//!   custom header. rmcp's transports use [`EgressHttp::client`], whose policy
//!   refuses cross-origin hops outright (it cannot strip headers); requests
//!   Switchboard sends itself use [`EgressHttp::send`], which follows them
//!   without the secrets.
//! - [`operator_client`] is for upstreams the operator configured (the model
//!   API, Gmail, JWKS): no egress guard, the same deadlines and caps.
//! - [`send`] / [`read_body`] / [`fetch`] are the deadline helpers. No network
//!   await in this codebase happens outside them or outside a
//!   `tokio::time::timeout` around an rmcp session call.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use http::{HeaderMap, HeaderName, Method, StatusCode, header};
use tokio::time::Instant;
use url::Url;

use super::resolver::GuardedResolver;
use super::{EgressError, EgressGuard};

/// Redirect hops followed at most.
pub const MAX_HOPS: usize = 5;
/// How long connecting may take, whatever the deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT: &str = concat!("switchboard/", env!("CARGO_PKG_VERSION"));

/// When an outbound exchange must be over. One per run (or per request, for
/// requests outside a run); pass it down, never start a fresh one mid-run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
            budget,
        }
    }

    pub fn instant(&self) -> Instant {
        self.at
    }

    /// The budget this deadline was started with (for messages).
    pub fn budget(&self) -> Duration {
        self.budget
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    pub fn is_past(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Runs `work` until the deadline.
    pub async fn run<T>(&self, work: impl Future<Output = T>) -> Result<T, HttpError> {
        tokio::time::timeout_at(self.at, work)
            .await
            .map_err(|_| HttpError::Timeout)
    }
}

/// Why an outbound request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("the server did not answer in time")]
    Timeout,
    #[error("the response exceeded the {cap}-byte limit")]
    TooLarge { cap: usize },
    #[error(transparent)]
    Blocked(#[from] EgressError),
    #[error("{0}")]
    Redirect(#[from] RedirectRefused),
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// A redirect that is not followed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RedirectRefused {
    #[error("the server redirected more than {MAX_HOPS} times (a redirect loop?)")]
    TooMany,
    #[error(
        "the server redirected to another origin ({0}); Switchboard sends requests with credentials only to the server's own origin: use that URL instead"
    )]
    CrossOrigin(String),
    #[error("the server redirected to a URL Switchboard does not follow ({0})")]
    Unusable(String),
    #[error("{0}")]
    Blocked(EgressError),
}

/// How a redirect hop may be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    SameOrigin,
    /// Followed only without `Authorization`, cookies and custom headers.
    CrossOrigin,
}

/// The one redirect policy: `hops` redirects were followed before this one.
/// IP-literal targets are checked here with their port; named targets are
/// checked by the guarded resolver (same origin: already checked with this
/// port) or, for cross-origin hops Switchboard follows itself, by
/// [`EgressGuard::check_url`] before the request.
pub fn judge_hop(guard: &EgressGuard, from: &Url, to: &Url, hops: usize) -> Result<Hop, RedirectRefused> {
    if hops >= MAX_HOPS {
        return Err(RedirectRefused::TooMany);
    }
    if !matches!(to.scheme(), "http" | "https") || !to.username().is_empty() || to.password().is_some() {
        return Err(RedirectRefused::Unusable(to.origin().ascii_serialization()));
    }
    guard.check_literal(to).map_err(RedirectRefused::Blocked)?;
    Ok(if from.origin() == to.origin() {
        Hop::SameOrigin
    } else {
        Hop::CrossOrigin
    })
}

/// Whether [`EgressHttp::execute`] follows redirects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    Follow,
    Stop,
}

/// Headers that carry nothing secret and may follow a cross-origin hop.
const PLAIN_HEADERS: [HeaderName; 4] = [
    header::ACCEPT,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::USER_AGENT,
];

/// The outbound HTTP stack for user-chosen destinations. Cheap to clone; build once.
#[derive(Debug, Clone)]
pub struct EgressHttp {
    guard: EgressGuard,
    /// Follows same-origin redirects only: for rmcp's transports.
    client: reqwest::Client,
    /// Follows nothing: [`Self::send`] follows hops itself.
    manual: reqwest::Client,
}

impl EgressHttp {
    pub fn new(guard: EgressGuard) -> anyhow::Result<Self> {
        crate::telemetry::install_crypto_provider();
        let build = |redirect: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
                .redirect(redirect)
                .no_proxy()
                .connect_timeout(CONNECT_TIMEOUT)
                .pool_idle_timeout(Duration::from_secs(30))
                .user_agent(USER_AGENT)
                .build()
        };
        let hop_guard = guard.clone();
        let same_origin = reqwest::redirect::Policy::custom(move |attempt| {
            let hops = attempt.previous().len().saturating_sub(1);
            let from = attempt.previous().last().cloned();
            let judged = match &from {
                Some(from) => judge_hop(&hop_guard, from, attempt.url(), hops),
                None => Err(RedirectRefused::TooMany),
            };
            match judged {
                Ok(Hop::SameOrigin) => attempt.follow(),
                Ok(Hop::CrossOrigin) => {
                    let to = attempt.url().origin().ascii_serialization();
                    attempt.error(RedirectRefused::CrossOrigin(to))
                }
                Err(refused) => attempt.error(refused),
            }
        });
        Ok(Self {
            client: build(same_origin)?,
            manual: build(reqwest::redirect::Policy::none())?,
            guard,
        })
    }

    pub fn guard(&self) -> &EgressGuard {
        &self.guard
    }

    /// The shared client for transports that send requests themselves (rmcp):
    /// guarded resolver, same-origin redirects only. Wrap every await on it in
    /// a deadline.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A request builder on the stack (send it with [`Self::send`]).
    pub fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.manual.request(method, url)
    }

    /// Checks the URL with the guard, sends, and follows redirects by
    /// [`judge_hop`] (a cross-origin hop goes without `Authorization`, cookies
    /// and custom headers); the response headers must arrive by `deadline`.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        deadline: Deadline,
    ) -> Result<reqwest::Response, HttpError> {
        self.execute(request.build()?, deadline, Redirects::Follow).await
    }

    /// [`Self::send`] for a built request; with [`Redirects::Stop`] a redirect
    /// answer is returned as it is.
    pub async fn execute(
        &self,
        mut request: reqwest::Request,
        deadline: Deadline,
        redirects: Redirects,
    ) -> Result<reqwest::Response, HttpError> {
        let mut hops = 0;
        loop {
            deadline.run(self.guard.check_url(request.url())).await??;
            let next = request.try_clone();
            let response = deadline.run(self.manual.execute(request)).await??;
            let Some(location) = redirect_location(&response).filter(|_| redirects == Redirects::Follow) else {
                return Ok(response);
            };
            let from = response.url().clone();
            let to = from
                .join(&location)
                .map_err(|_| RedirectRefused::Unusable(crate::mcp::classify::excerpt(&location)))?;
            let hop = judge_hop(&self.guard, &from, &to, hops)?;
            let Some(mut next) = next else {
                // A streamed body cannot be sent twice.
                return Ok(response);
            };
            hops += 1;
            if matches!(response.status(), StatusCode::SEE_OTHER)
                || (matches!(response.status(), StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                    && next.method() == Method::POST)
            {
                *next.method_mut() = Method::GET;
                *next.body_mut() = None;
                next.headers_mut().remove(header::CONTENT_TYPE);
                next.headers_mut().remove(header::CONTENT_LENGTH);
            }
            if hop == Hop::CrossOrigin {
                keep_plain_headers(next.headers_mut());
            }
            *next.url_mut() = to;
            request = next;
        }
    }

    /// [`Self::send`], then the body through `cap`, all by `deadline`.
    pub async fn fetch(
        &self,
        request: reqwest::RequestBuilder,
        deadline: Deadline,
        cap: usize,
    ) -> Result<Fetched, HttpError> {
        let response = self.send(request, deadline).await?;
        Fetched::read(response, deadline, cap).await
    }

    /// [`Self::fetch`] without following redirects (a redirect is answered as it is).
    pub async fn fetch_once(
        &self,
        request: reqwest::RequestBuilder,
        deadline: Deadline,
        cap: usize,
    ) -> Result<Fetched, HttpError> {
        let response = self.execute(request.build()?, deadline, Redirects::Stop).await?;
        Fetched::read(response, deadline, cap).await
    }
}

/// Drops every header but [`PLAIN_HEADERS`] (before a cross-origin hop).
fn keep_plain_headers(headers: &mut HeaderMap) {
    let secret: Vec<HeaderName> = headers
        .keys()
        .filter(|name| !PLAIN_HEADERS.contains(name))
        .cloned()
        .collect();
    for name in secret {
        headers.remove(name);
    }
}

fn redirect_location(response: &reqwest::Response) -> Option<String> {
    if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED {
        return None;
    }
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A response read whole.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Fetched {
    pub async fn read(response: reqwest::Response, deadline: Deadline, cap: usize) -> Result<Self, HttpError> {
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(response, deadline, cap).await?;
        Ok(Self { status, headers, body })
    }

    /// The body as JSON of type `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Sends on any client (operator upstreams) with headers due by `deadline`.
pub async fn send(request: reqwest::RequestBuilder, deadline: Deadline) -> Result<reqwest::Response, HttpError> {
    Ok(deadline.run(request.send()).await??)
}

/// Reads a body through `cap` bytes, by `deadline`. Nothing is decompressed:
/// a compressed body is read (and refused) as the bytes it is.
pub async fn read_body(response: reqwest::Response, deadline: Deadline, cap: usize) -> Result<Bytes, HttpError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(HttpError::TooLarge { cap });
    }
    let mut stream = response.bytes_stream();
    let mut body = Vec::new();
    loop {
        match deadline.run(stream.next()).await? {
            None => return Ok(Bytes::from(body)),
            Some(chunk) => {
                let chunk = chunk?;
                if body.len() + chunk.len() > cap {
                    return Err(HttpError::TooLarge { cap });
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
}

/// [`send`] then [`read_body`] on any client (operator upstreams).
pub async fn fetch(request: reqwest::RequestBuilder, deadline: Deadline, cap: usize) -> Result<Fetched, HttpError> {
    let response = send(request, deadline).await?;
    Fetched::read(response, deadline, cap).await
}

/// A client for upstreams the operator configured (model API, Gmail, JWKS):
/// no egress guard (the operator chose them), system proxies honoured,
/// redirects followed (at most [`MAX_HOPS`]); use it with [`send`] / [`fetch`].
/// Build it once per process.
pub fn operator_client() -> anyhow::Result<reqwest::Client> {
    crate::telemetry::install_crypto_provider();
    Ok(reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::limited(MAX_HOPS))
        .user_agent(USER_AGENT)
        .build()?)
}
