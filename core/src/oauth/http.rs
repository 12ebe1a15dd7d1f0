//! The HTTP client rmcp's OAuth state machine uses, routed through the egress
//! guard: every metadata document, registration, authorization and token URL a
//! server hands us is checked (names through the guarded resolver, IP literals
//! directly, every redirect hop again).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use rmcp::transport::auth::{
    OAuthHttpClient, OAuthHttpClientError, OAuthHttpClientFuture, OAuthHttpRedirectPolicy, OAuthHttpRequest,
};

use crate::egress::EgressGuard;
use crate::egress::resolver::GuardedResolver;

/// Largest OAuth response (metadata, registration, token) accepted.
const MAX_BODY: usize = 256 * 1024;
const TIMEOUT: Duration = Duration::from_secs(15);

/// Two reqwest clients (redirects followed and checked / not followed), both
/// resolving through the guard. Build once per process.
#[derive(Debug, Clone)]
pub struct GuardedOAuthHttp {
    follow: reqwest::Client,
    stop: reqwest::Client,
    guard: EgressGuard,
}

impl GuardedOAuthHttp {
    pub fn new(guard: EgressGuard) -> anyhow::Result<Self> {
        let build = |redirect: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
                .redirect(redirect)
                .no_proxy()
                .timeout(TIMEOUT)
                .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        let hop_guard = guard.clone();
        let follow = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if let Err(e) = hop_guard.check_literal(attempt.url()) {
                attempt.error(e)
            } else {
                attempt.follow()
            }
        });
        Ok(Self {
            follow: build(follow)?,
            stop: build(reqwest::redirect::Policy::none())?,
            guard,
        })
    }
}

impl OAuthHttpClient for GuardedOAuthHttp {
    fn execute(&self, request: OAuthHttpRequest) -> OAuthHttpClientFuture<'_> {
        Box::pin(async move {
            let client = match request.redirect_policy {
                OAuthHttpRedirectPolicy::Stop => &self.stop,
                _ => &self.follow,
            };
            let request = reqwest::Request::try_from(request.request).map_err(boxed)?;
            self.guard.check_url(request.url()).await.map_err(boxed)?;
            let response = client.execute(request).await.map_err(boxed)?;
            let mut builder = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(boxed)?;
                if body.len() + chunk.len() > MAX_BODY {
                    return Err("the OAuth server's response is too large".into());
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(boxed)
        })
    }
}

fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> OAuthHttpClientError {
    Box::new(e)
}
