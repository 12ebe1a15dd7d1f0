//! Calling a tool on an open session, and what a failure means for a retry.
//!
//! A failed call may be sent again only when it provably never reached the
//! server ([`FailureKind::NotReached`]: DNS, refused, TLS, connect timeout, an
//! expired session), when the server refused it unprocessed
//! ([`FailureKind::Refused`]: 429, or 503 with `Retry-After`), or — for
//! [`FailureKind::Transient`] failures (5xx, timeouts, a dropped connection) —
//! when the tool is annotated `readOnlyHint` or `idempotentHint`. A
//! [`FailureKind::Permanent`] failure (the server answered with an error) is
//! never retried.

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::service::ServiceError;
use rmcp::transport::streamable_http_client::StreamableHttpError;
use serde_json::{Map, Value};

use super::classify::{excerpt, http_error};
use super::codes::{ErrorCode, Failure};
use super::limits::McpLimits;
use super::probe::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    NotReached,
    Refused,
    Transient,
    Permanent,
}

/// Why a call failed: a stable code, a message, and what it means for a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    pub kind: FailureKind,
    pub code: String,
    pub message: String,
    /// The server's `WWW-Authenticate` on `AUTH_REQUIRED` / `INSUFFICIENT_SCOPE`:
    /// where re-authorization starts, and which scopes it needs.
    pub challenge: Option<String>,
}

impl CallFailure {
    pub fn new(kind: FailureKind, code: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.to_owned(),
            message: message.into(),
            challenge: None,
        }
    }

    /// Whether the server wants (more) authorization: the connector must be authorized again.
    pub fn needs_authorization(&self) -> bool {
        self.code == ErrorCode::AuthRequired.as_str() || self.code == "INSUFFICIENT_SCOPE"
    }

    /// Whether the call may be sent once more for a tool with these hints.
    pub fn retryable(&self, safe_to_repeat: bool) -> bool {
        match self.kind {
            FailureKind::NotReached | FailureKind::Refused => true,
            FailureKind::Transient => safe_to_repeat,
            FailureKind::Permanent => false,
        }
    }

    /// A failure to open the session: the call was never sent.
    pub fn from_connect(failure: Failure) -> Self {
        let kind = match failure.code {
            ErrorCode::ConnectionFailed | ErrorCode::Timeout => FailureKind::NotReached,
            _ => FailureKind::Permanent,
        };
        Self {
            kind,
            code: failure.code.as_str().to_owned(),
            message: failure.message,
            challenge: failure.challenge,
        }
    }

    /// Whether the session should be dropped (it may be broken).
    pub fn breaks_session(&self) -> bool {
        self.kind != FailureKind::Permanent || self.code == "AUTH_FAILED" || self.needs_authorization()
    }
}

/// Whether `session` is a 2026-07-28 one (no session on the server; each
/// request stands alone). A failed call on one makes the era be detected again.
pub fn is_stateless(session: &Session) -> bool {
    session
        .peer_info()
        .is_some_and(|i| !i.protocol_version.has_initialize())
}

/// What every request on a 2026-07-28 session carries in `_meta` (the
/// protocol version, client info and capabilities). rmcp adds it only on
/// sessions it discovered itself; a remembered server's session is opened
/// without asking, so its requests get it here. Without it a dual-era server
/// takes the request for an old sessionless one (and drops its progress and
/// log notifications); a strict one refuses it.
pub fn stateless_meta(session: &Session) -> Option<RequestMetaObject> {
    let info = session.peer_info()?;
    if info.protocol_version.has_initialize() {
        return None;
    }
    let client = rmcp::Service::get_info(session.service());
    Some(RequestMetaObject::with_client_context(
        info.protocol_version.clone(),
        client.client_info,
        client.capabilities,
    ))
}

/// `tools/call` with a time limit; the result is MCP's `CallToolResult` as JSON
/// (`content`, `structuredContent`, `isError` passed through), at most
/// `limits.max_result_bytes`.
pub async fn call_tool(
    session: &Session,
    tool: &str,
    arguments: Map<String, Value>,
    timeout: Duration,
    limits: &McpLimits,
) -> Result<Value, CallFailure> {
    let mut params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
    params.meta = stateless_meta(session);
    let invalid = |message: String| CallFailure::new(FailureKind::Permanent, "INVALID_MCP_SERVER", message);
    match tokio::time::timeout(timeout, session.peer().call_tool(params)).await {
        Err(_) => Err(CallFailure::new(
            FailureKind::Transient,
            "TIMEOUT",
            format!("the tool did not answer within {} s", timeout.as_secs_f64()),
        )),
        Ok(Ok(result)) => {
            let value = serde_json::to_value(result).map_err(|e| invalid(e.to_string()))?;
            limits.check_result(&value).map_err(invalid)?;
            Ok(value)
        }
        Ok(Err(error)) => Err(classify(&error)),
    }
}

/// What a failed request's error means, in words fit for a user (the
/// server's own text only as a short excerpt).
pub fn classify(error: &ServiceError) -> CallFailure {
    use StreamableHttpError as E;
    let transient = |message: String| CallFailure::new(FailureKind::Transient, "UPSTREAM_ERROR", message);
    match error {
        ServiceError::McpError(data) => CallFailure::new(
            FailureKind::Permanent,
            "TOOL_CALL_FAILED",
            format!("the server refused the call: {}", excerpt(&data.message)),
        ),
        ServiceError::Timeout { .. } => {
            CallFailure::new(FailureKind::Transient, "TIMEOUT", "the tool did not answer in time")
        }
        ServiceError::TransportSend(dynamic) => match http_error(dynamic.error.as_ref()) {
            Some(E::Client(e)) if e.is_connect() => CallFailure::new(
                FailureKind::NotReached,
                "CONNECTION_FAILED",
                "could not connect to the server",
            ),
            Some(E::Client(e)) if e.is_timeout() => {
                CallFailure::new(FailureKind::Transient, "TIMEOUT", "the tool did not answer in time")
            }
            Some(E::Client(_)) => transient("the connection to the server broke during the call".into()),
            Some(E::HttpStatus(s)) if s.status == 429 || (s.status == 503 && s.retry_after.is_some()) => {
                CallFailure::new(
                    FailureKind::Refused,
                    "RATE_LIMITED",
                    format!("the server refused the call for now (HTTP {})", s.status),
                )
            }
            Some(E::HttpStatus(s)) => transient(format!("the server failed (HTTP {})", s.status)),
            Some(E::SessionExpired) => CallFailure::new(
                FailureKind::NotReached,
                "SESSION_EXPIRED",
                "the server ended the session before the call",
            ),
            Some(E::AuthRequired(c)) => CallFailure {
                challenge: Some(c.www_authenticate_header.clone()),
                ..CallFailure::new(
                    FailureKind::Permanent,
                    ErrorCode::AuthRequired.as_str(),
                    "the server no longer accepts the credentials: authorize the connector again",
                )
            },
            Some(E::InsufficientScope(c)) => CallFailure {
                challenge: Some(c.www_authenticate_header.clone()),
                ..CallFailure::new(
                    FailureKind::Permanent,
                    "INSUFFICIENT_SCOPE",
                    "the server needs more permissions for this tool: authorize the connector again",
                )
            },
            Some(E::UnexpectedServerResponse(text)) if text.contains("HTTP 5") => {
                transient(format!("the server failed: {}", excerpt(text)))
            }
            Some(E::UnexpectedServerResponse(text)) => CallFailure::new(
                FailureKind::Permanent,
                "UPSTREAM_ERROR",
                format!("the server refused the call: {}", excerpt(text)),
            ),
            Some(other) => transient(format!("the call failed: {}", excerpt(&other.to_string()))),
            None => transient(format!("the call failed: {}", excerpt(&dynamic.to_string()))),
        },
        ServiceError::TransportClosed => transient("the connection to the server closed during the call".into()),
        other => CallFailure::new(FailureKind::Permanent, "UPSTREAM_ERROR", excerpt(&other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_failures_are_retried() {
        let make = |kind| CallFailure::new(kind, "X", "x");
        assert!(make(FailureKind::NotReached).retryable(false));
        assert!(make(FailureKind::Refused).retryable(false));
        assert!(
            !make(FailureKind::Transient).retryable(false),
            "a 5xx on an unsafe tool may have had its effect"
        );
        assert!(make(FailureKind::Transient).retryable(true));
        assert!(!make(FailureKind::Permanent).retryable(true));
        let refused = CallFailure::from_connect(Failure::new(ErrorCode::ConnectionFailed, "refused"));
        assert_eq!(refused.kind, FailureKind::NotReached);
        let auth = CallFailure::from_connect(Failure::new(ErrorCode::AuthFailed, "no"));
        assert_eq!(auth.kind, FailureKind::Permanent);
    }
}
