//! A reqwest-backed rmcp HTTP client that reports when the server first
//! answers (any response that is not a transport failure or a 5xx/429), so a
//! connection test can tell "could not reach the server" (connect) from "the
//! server answered but is not a usable MCP server" (handshake). It also
//! reports when a GET event stream opened: rmcp opens the standalone stream
//! after `initialize` without saying so, and a client that must not race it
//! (the conformance client) waits for this. And it notices an event stream cut
//! off for an oversized event, which rmcp reports only as a closed connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use futures::StreamExt as _;
use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use sse_stream::Sse;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct AnsweredClient {
    pub inner: reqwest::Client,
    pub answered: Arc<Notify>,
    pub stream_opened: Arc<Notify>,
    /// Set when an event stream was cut off for an event over the size limit.
    pub oversized: Arc<AtomicBool>,
    pub token: Option<LiveToken>,
}

/// A bearer token that can be replaced while a session is open (an OAuth
/// refresh in the middle of a proxied session).
#[derive(Clone)]
pub struct LiveToken(Arc<RwLock<crate::Secret>>);

impl std::fmt::Debug for LiveToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveToken(…)")
    }
}

impl LiveToken {
    pub fn new(token: crate::Secret) -> Self {
        Self(Arc::new(RwLock::new(token)))
    }

    /// Whether `token` is the one sent now.
    pub fn is(&self, token: &crate::Secret) -> bool {
        self.0.read().unwrap_or_else(PoisonError::into_inner).expose() == token.expose()
    }

    pub fn replace(&self, token: crate::Secret) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = token;
    }

    fn header(&self) -> String {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .expose()
            .to_owned()
    }
}

impl AnsweredClient {
    pub fn new(inner: reqwest::Client) -> Self {
        Self {
            inner,
            answered: Arc::default(),
            stream_opened: Arc::default(),
            oversized: Arc::default(),
            token: None,
        }
    }

    /// The bearer token to send: the live one when there is one.
    fn auth(&self, given: Option<String>) -> Option<String> {
        self.token.as_ref().map(LiveToken::header).or(given)
    }

    /// The stream, noting an oversized event in [`Self::oversized`].
    fn watch(&self, stream: SseStream) -> SseStream {
        let oversized = self.oversized.clone();
        stream
            .inspect(move |item| {
                if let Err(e) = item
                    && e.to_string().contains("exceeded the maximum size")
                {
                    oversized.store(true, Ordering::Release);
                }
            })
            .boxed()
    }

    fn watch_post(&self, result: PostResult) -> PostResult {
        match result {
            Ok(StreamableHttpPostResponse::Sse(stream, session)) => {
                Ok(StreamableHttpPostResponse::Sse(self.watch(stream), session))
            }
            other => other,
        }
    }
}

type SseStream = BoxStream<'static, Result<Sse, SseError>>;

type PostResult = Result<StreamableHttpPostResponse, StreamableHttpError<reqwest::Error>>;

impl AnsweredClient {
    fn observe(&self, result: &PostResult) {
        let reached = match result {
            Ok(_) => true,
            Err(StreamableHttpError::Client(_) | StreamableHttpError::HttpStatus(_)) => false,
            Err(_) => true,
        };
        if reached {
            self.answered.notify_one();
        }
    }
}

impl StreamableHttpClient for AnsweredClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> PostResult {
        let result = self
            .inner
            .post_message(uri, message, session_id, self.auth(auth_header), custom_headers)
            .await;
        self.observe(&result);
        self.watch_post(result)
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> PostResult {
        let result = self
            .inner
            .post_message_with_response_limits(uri, message, session_id, self.auth(auth_header), custom_headers, limits)
            .await;
        self.observe(&result);
        self.watch_post(result)
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<reqwest::Error>> {
        self.inner
            .delete_session(uri, session_id, self.auth(auth_header), custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<reqwest::Error>> {
        let stream = self
            .inner
            .get_stream(uri, session_id, last_event_id, self.auth(auth_header), custom_headers)
            .await;
        if stream.is_ok() {
            self.stream_opened.notify_one();
        }
        stream.map(|s| self.watch(s))
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<reqwest::Error>> {
        let stream = self
            .inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                self.auth(auth_header),
                custom_headers,
                max_sse_event_size,
            )
            .await;
        if stream.is_ok() {
            self.stream_opened.notify_one();
        }
        stream.map(|s| self.watch(s))
    }
}
