//! Turning rmcp and reqwest errors into a connection-test [`Failure`].
//!
//! rmcp reports transport problems as a `DynamicTransportError` wrapping a
//! `WorkerQuitReason<StreamableHttpError<reqwest::Error>>`; the interesting
//! part is the `StreamableHttpError`, found by walking that chain.

use std::error::Error as StdError;

use rmcp::service::ClientInitializeError;
use rmcp::transport::streamable_http_client::StreamableHttpError;
use rmcp::transport::worker::WorkerQuitReason;

use super::codes::{ErrorCode, Failure};
use crate::egress::EgressError;
use crate::egress::http::{HttpError, RedirectRefused};

pub type TransportError = StreamableHttpError<reqwest::Error>;

/// What went wrong during `initialize`, before it is turned into a failure.
#[derive(Debug)]
pub enum InitProblem {
    /// The server answered 400/404/405: try the legacy HTTP+SSE transport.
    TryLegacy(u16),
    Failed(Failure),
}

/// Finds the `StreamableHttpError` inside an rmcp error.
pub fn http_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a TransportError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<TransportError>() {
            return Some(found);
        }
        if let Some(WorkerQuitReason::Fatal { error, .. }) = e.downcast_ref::<WorkerQuitReason<TransportError>>() {
            return Some(error);
        }
        if let Some(dynamic) = e.downcast_ref::<rmcp::transport::DynamicTransportError>() {
            current = Some(dynamic.error.as_ref());
            continue;
        }
        current = e.source();
    }
    None
}

/// The `StreamableHttpError` behind a failed `initialize`, if any.
pub fn init_http_error(error: &ClientInitializeError) -> Option<&TransportError> {
    match error {
        ClientInitializeError::TransportError { error, .. } => http_error(error.error.as_ref()),
        other => http_error(other),
    }
}

/// Whether `initialize` is worth trying after `server/discover` failed: yes,
/// unless the server was not reached or asked for credentials (which
/// `initialize` would meet too). A server of the handshake era answers
/// `server/discover` with a JSON-RPC error, an HTTP 400/404/405, a 401 for
/// the missing session (older rmcp) or its supported versions, none 2026-07-28.
pub fn discover_falls_back(error: &ClientInitializeError) -> bool {
    !matches!(
        init_http_error(error),
        Some(
            StreamableHttpError::Client(_)
                | StreamableHttpError::AuthRequired(_)
                | StreamableHttpError::InsufficientScope(_)
        )
    )
}

/// Classifies a failed `initialize`.
pub fn init_error(error: &ClientInitializeError) -> InitProblem {
    if let ClientInitializeError::JsonRpcError(data) = error {
        return InitProblem::Failed(Failure::new(
            ErrorCode::InvalidMcpServer,
            format!("the server refused to initialize: {}", excerpt(&data.message)),
        ));
    }
    match init_http_error(error) {
        Some(e) => http_problem(e),
        None => InitProblem::Failed(Failure::new(
            ErrorCode::InvalidMcpServer,
            "the server did not complete the MCP handshake; check that the URL is the server's MCP endpoint",
        )),
    }
}

fn http_problem(error: &TransportError) -> InitProblem {
    use StreamableHttpError as E;
    let failed = |code, msg: String| InitProblem::Failed(Failure::new(code, msg));
    match error {
        E::Client(e) => InitProblem::Failed(transport_failure(e)),
        E::HttpStatus(status) => failed(
            ErrorCode::ConnectionFailed,
            format!(
                "the server answered HTTP {}; it may be down or overloaded, try again later",
                status.status
            ),
        ),
        E::AuthRequired(challenge) => InitProblem::Failed(auth_failure(401, Some(&challenge.www_authenticate_header))),
        E::InsufficientScope(challenge) => {
            InitProblem::Failed(auth_failure(403, Some(&challenge.www_authenticate_header)))
        }
        E::UnexpectedServerResponse(text) => match status_in(text) {
            Some(status @ (400 | 404 | 405)) => InitProblem::TryLegacy(status),
            Some(status @ (401 | 403)) => InitProblem::Failed(auth_failure(status, None)),
            Some(status) if status >= 500 => failed(
                ErrorCode::ConnectionFailed,
                format!("the server answered HTTP {status}; it may be down, try again later"),
            ),
            Some(status) => failed(
                ErrorCode::InvalidMcpServer,
                format!("the server answered HTTP {status} instead of an MCP response"),
            ),
            None => failed(
                ErrorCode::InvalidMcpServer,
                "the server's answer is not an MCP (JSON-RPC) message".into(),
            ),
        },
        E::UnexpectedContentType(content_type) => failed(
            ErrorCode::InvalidMcpServer,
            format!(
                "the server answered with {} instead of JSON or an event stream: this address is not an MCP \
                 endpoint (a web page?); MCP servers usually live at a path ending in /mcp",
                content_type.as_deref().map_or("no content type".to_owned(), excerpt)
            ),
        ),
        E::ResponseBodyTooLarge { max_size } => failed(ErrorCode::InvalidMcpServer, oversized_message(*max_size)),
        E::Sse(_) | E::Deserialize(_) | E::UnexpectedEndOfStream => failed(
            ErrorCode::InvalidMcpServer,
            "the server's answer is not a valid MCP message".into(),
        ),
        _ => failed(
            ErrorCode::InvalidMcpServer,
            format!("the MCP handshake failed: {}", excerpt(&error.to_string())),
        ),
    }
}

/// A message from the server over `SWITCHBOARD_MCP_MAX_RESPONSE_BYTES`.
pub fn oversized_message(max: usize) -> String {
    format!(
        "a message from the server is over Switchboard's limit of {max} bytes \
         (SWITCHBOARD_MCP_MAX_RESPONSE_BYTES; the operator can raise it)"
    )
}

/// A failure of a request Switchboard sent through the egress stack.
pub fn http_failure(error: &HttpError) -> Failure {
    match error {
        HttpError::Timeout => Failure::new(ErrorCode::Timeout, "the server did not answer in time"),
        HttpError::TooLarge { cap } => Failure::new(
            ErrorCode::InvalidMcpServer,
            format!("the server's answer is over Switchboard's limit of {cap} bytes"),
        ),
        HttpError::Blocked(e) => Failure::new(ErrorCode::BlockedDestination, blocked_message(e)),
        HttpError::Redirect(refused) => redirect_failure(refused),
        HttpError::Transport(e) => transport_failure(e),
    }
}

/// A redirect that was not followed.
pub fn redirect_failure(refused: &RedirectRefused) -> Failure {
    match refused {
        RedirectRefused::Blocked(e) => Failure::new(ErrorCode::BlockedDestination, blocked_message(e)),
        other => Failure::new(ErrorCode::InvalidMcpServer, other.to_string()),
    }
}

/// A failure from reqwest before the server answered.
pub fn transport_failure(error: &reqwest::Error) -> Failure {
    if let Some(refused) = find::<RedirectRefused>(error) {
        return redirect_failure(refused);
    }
    if let Some(blocked) = find::<EgressError>(error) {
        return Failure::new(ErrorCode::BlockedDestination, blocked_message(blocked));
    }
    if error.is_redirect() {
        return Failure::new(
            ErrorCode::InvalidMcpServer,
            "the server redirected in a way Switchboard does not follow",
        );
    }
    if error.is_timeout() {
        return Failure::new(ErrorCode::Timeout, "the server did not answer in time");
    }
    let text = chain_text(error);
    let message = if text.contains("certificate") || text.contains("tls") || text.contains("TLS") {
        "the TLS handshake failed: check that the server has a valid certificate for this host name"
    } else if text.contains("refused") {
        "the connection was refused: check the host and port, and that the server is running"
    } else {
        "could not connect to the server: check the URL and that the server is reachable"
    };
    Failure::new(ErrorCode::ConnectionFailed, message)
}

pub fn blocked_message(error: &EgressError) -> String {
    match error {
        EgressError::Blocked { range, .. } => format!(
            "the server's address is in a {range} range, which Switchboard does not connect to; \
             self-hosted servers must be allowed by the operator (SWITCHBOARD_EGRESS_ALLOW)"
        ),
        EgressError::Unresolvable { host } => format!("could not resolve {host}: check the host name"),
    }
}

/// 401/403: the credentials were refused. When the server advertises
/// protected-resource metadata (RFC 9728) it wants OAuth: `AUTH_REQUIRED`,
/// with the challenge kept for discovery.
pub fn auth_failure(status: u16, challenge: Option<&str>) -> Failure {
    let oauth = challenge.is_some_and(|c| c.contains("resource_metadata"));
    let (code, message) = match (status, oauth) {
        (_, true) => (
            ErrorCode::AuthRequired,
            "the server requires OAuth sign-in: choose OAuth as the auth type and authorize",
        ),
        (403, false) => (
            ErrorCode::AuthFailed,
            "the server refused access (HTTP 403): check that the token has the needed permissions",
        ),
        _ => (
            ErrorCode::AuthFailed,
            "the server refused the credentials (HTTP 401): check the token, or whether the server needs OAuth",
        ),
    };
    Failure {
        challenge: challenge.map(str::to_owned),
        ..Failure::new(code, message)
    }
}

/// A refused request that carried no credentials: the server needs some.
pub fn without_credentials(target: &super::Target, failure: Failure) -> Failure {
    if failure.code != ErrorCode::AuthFailed || target.bearer.is_some() || !target.headers.is_empty() {
        return failure;
    }
    Failure {
        message: "this server needs authentication, and none was sent: choose Bearer token (or OAuth) \
                  and test again"
            .into(),
        ..failure
    }
}

/// An address that answers HTTP but not MCP: what it answered, and where
/// MCP servers usually are.
pub fn not_an_mcp_endpoint(url: &url::Url, status: u16, content_type: Option<&str>) -> String {
    let reason = match status {
        400 => " (bad request)",
        404 => " (not found)",
        405 => " (method not allowed)",
        _ => "",
    };
    let page = if content_type.is_some_and(|c| c.starts_with("text/html")) {
        ", a web page,"
    } else {
        ""
    };
    let path = url.path();
    let hint = if path.trim_end_matches('/').ends_with("/mcp") || path.trim_end_matches('/').ends_with("/sse") {
        "check the URL in the server's documentation"
    } else {
        "MCP servers usually live at a path ending in /mcp (older ones in /sse): check the URL"
    };
    format!(
        "the server answered HTTP {status}{reason}{page} at {}: this address is not an MCP endpoint; {hint}",
        excerpt(path)
    )
}

/// The status in rmcp's `"HTTP 404 …"`-style messages.
fn status_in(text: &str) -> Option<u16> {
    let rest = text.split("HTTP ").nth(1)?;
    rest.get(..3)?.parse().ok()
}

fn find<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

fn chain_text(error: &(dyn StdError + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        parts.push(e.to_string());
        current = e.source();
    }
    parts.join(": ")
}

/// At most 120 printable characters of text that came from a server.
pub fn excerpt(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).take(120).collect();
    if text.chars().count() > 120 {
        format!("{clean}…")
    } else {
        clean
    }
}
