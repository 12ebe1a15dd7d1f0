//! rmcp's OAuth state machine on the egress stack: every metadata document,
//! registration, token and revocation request goes through
//! [`EgressHttp::execute`] — the guard, the one redirect policy, a deadline
//! and a body cap.

use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::auth::{
    OAuthHttpClient, OAuthHttpClientError, OAuthHttpClientFuture, OAuthHttpRedirectPolicy, OAuthHttpRequest,
};

use crate::egress::http::{Deadline, EgressHttp, Fetched, Redirects};

/// Largest OAuth response (metadata, registration, token) accepted.
pub const MAX_BODY: usize = 256 * 1024;
/// Time one OAuth request may take, connect to last body byte.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// The adapter rmcp's `AuthorizationManager` runs on.
#[derive(Debug, Clone)]
pub struct GuardedOAuthHttp(pub EgressHttp);

/// The egress stack as rmcp's OAuth HTTP client.
pub fn rmcp_client(http: &EgressHttp) -> Arc<dyn OAuthHttpClient> {
    Arc::new(GuardedOAuthHttp(http.clone()))
}

impl OAuthHttpClient for GuardedOAuthHttp {
    fn execute(&self, request: OAuthHttpRequest) -> OAuthHttpClientFuture<'_> {
        Box::pin(async move {
            let redirects = match request.redirect_policy {
                OAuthHttpRedirectPolicy::Stop => Redirects::Stop,
                _ => Redirects::Follow,
            };
            let request = reqwest::Request::try_from(request.request).map_err(boxed)?;
            let deadline = Deadline::after(TIMEOUT);
            let response = self.0.execute(request, deadline, redirects).await.map_err(boxed)?;
            let Fetched { status, headers, body } = Fetched::read(response, deadline, MAX_BODY).await.map_err(boxed)?;
            let mut builder = http::Response::builder().status(status);
            for (name, value) in &headers {
                builder = builder.header(name, value);
            }
            builder.body(body.to_vec()).map_err(boxed)
        })
    }
}

fn boxed(e: impl std::error::Error + Send + Sync + 'static) -> OAuthHttpClientError {
    Box::new(e)
}
