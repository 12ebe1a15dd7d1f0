//! The legacy HTTP+SSE transport (MCP 2024-11-05), written here because rmcp
//! removed its client: GET the URL as an event stream, wait for the `endpoint`
//! event, then POST JSON-RPC messages to that endpoint and read the answers as
//! `message` events on the stream. The endpoint must be on the same origin as
//! the URL that passed the egress check. Every request goes through the
//! egress stack under a deadline; events are size-capped.

use std::time::Duration;

use futures::{Sink, Stream, StreamExt};
use http::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use url::Url;

use super::Target;
use super::classify::{excerpt, http_failure, oversized_message};
use super::codes::{ErrorCode, Failure};
use crate::egress::http::{Deadline, EgressHttp};
use crate::sse::{self, SseError, SseEvent};

/// Time one message POST may take (the answer comes on the stream; the POST
/// itself is answered at once by a working server).
const POST_TIMEOUT: Duration = Duration::from_secs(30);

/// A send failure on the legacy transport.
#[derive(Debug, thiserror::Error)]
#[error("legacy SSE transport: {0}")]
pub struct LegacyError(String);

pub type LegacySink = std::pin::Pin<Box<dyn Sink<ClientJsonRpcMessage, Error = LegacyError> + Send>>;
pub type LegacyStream = std::pin::Pin<Box<dyn Stream<Item = ServerJsonRpcMessage> + Send>>;

/// Opens the event stream and waits for the endpoint, until `deadline`.
/// `refused`: the status the Streamable HTTP request got (400, 404 or 405),
/// reported when this transport is not there either (else the status here).
pub async fn connect(
    http: &EgressHttp,
    target: &Target,
    deadline: Deadline,
    max_event: usize,
    refused: Option<u16>,
) -> Result<(LegacySink, LegacyStream), Failure> {
    let not_mcp = |status: u16, content_type: Option<&str>| {
        let status = refused.unwrap_or(status);
        Failure::new(
            ErrorCode::InvalidMcpServer,
            super::classify::not_an_mcp_endpoint(&target.url, status, content_type),
        )
    };
    let request = target.apply(
        http.request(Method::GET, target.url.clone())
            .header(ACCEPT, "text/event-stream"),
    );
    let response = http.send(request, deadline).await.map_err(|e| http_failure(&e))?;
    let status = response.status();
    if status == 401 || status == 403 {
        return Err(super::classify::auth_failure(status.as_u16(), None));
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_sse = content_type
        .as_deref()
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !status.is_success() || !is_sse {
        return Err(not_mcp(status.as_u16(), content_type.as_deref()));
    }
    let mut events = Box::pin(sse::events(response.bytes_stream(), max_event));
    let endpoint = loop {
        let next = deadline.run(events.next()).await.map_err(|_| {
            Failure::new(
                ErrorCode::Timeout,
                "the legacy SSE server did not announce its message endpoint in time",
            )
        })?;
        match next {
            Some(Ok(SseEvent { event, data, .. })) if event == "endpoint" => break data,
            Some(Ok(_)) => continue,
            Some(Err(SseError::TooLarge(max))) => {
                return Err(Failure::new(ErrorCode::InvalidMcpServer, oversized_message(max)));
            }
            Some(Err(e)) => {
                return Err(Failure::new(
                    ErrorCode::InvalidMcpServer,
                    format!("invalid event stream: {}", excerpt(&e.to_string())),
                ));
            }
            None => return Err(not_mcp(status.as_u16(), Some("text/event-stream"))),
        }
    };
    let endpoint = target.url.join(endpoint.trim()).map_err(|_| {
        Failure::new(
            ErrorCode::InvalidMcpServer,
            format!("the server announced an invalid endpoint `{}`", excerpt(&endpoint)),
        )
    })?;
    if endpoint.origin() != target.url.origin() {
        return Err(Failure::new(
            ErrorCode::BlockedDestination,
            "the server announced a message endpoint on another host, which Switchboard does not follow",
        ));
    }
    let stream = events.filter_map(|event| async move {
        match event {
            Ok(SseEvent { event, data, .. }) if event == "message" => {
                serde_json::from_str::<ServerJsonRpcMessage>(&data).ok()
            }
            _ => None,
        }
    });
    Ok((
        Box::pin(poster(http.clone(), target.clone(), endpoint)),
        Box::pin(stream),
    ))
}

fn poster(http: EgressHttp, target: Target, endpoint: Url) -> impl Sink<ClientJsonRpcMessage, Error = LegacyError> {
    futures::sink::unfold(
        (http, target, endpoint),
        |(http, target, endpoint), message: ClientJsonRpcMessage| async move {
            let request = target.apply(http.request(Method::POST, endpoint.clone()).json(&message));
            let response = http
                .send(request, Deadline::after(POST_TIMEOUT))
                .await
                .map_err(|e| LegacyError(http_failure(&e).message))?;
            if !response.status().is_success() {
                return Err(LegacyError(format!(
                    "the message endpoint answered HTTP {}",
                    response.status().as_u16()
                )));
            }
            Ok((http, target, endpoint))
        },
    )
}
