//! Stable error codes of a connection test, with a message that says what to
//! do next. Messages never carry internal topology, secrets or server bodies
//! beyond a short, sanitised excerpt.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    InvalidUrl,
    BlockedDestination,
    ConnectionFailed,
    Timeout,
    AuthFailed,
    AuthRequired,
    InvalidMcpServer,
    NoTools,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidUrl => "INVALID_URL",
            Self::BlockedDestination => "BLOCKED_DESTINATION",
            Self::ConnectionFailed => "CONNECTION_FAILED",
            Self::Timeout => "TIMEOUT",
            Self::AuthFailed => "AUTH_FAILED",
            Self::AuthRequired => "AUTH_REQUIRED",
            Self::InvalidMcpServer => "INVALID_MCP_SERVER",
            Self::NoTools => "NO_TOOLS",
        }
    }
}

/// A failed (or warning) outcome: a code and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
    /// The server's `WWW-Authenticate` header on a 401/403: where OAuth
    /// discovery starts. Not stored with results.
    #[serde(skip)]
    pub challenge: Option<String>,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            challenge: None,
        }
    }
}
