//! Calling a system tool: what a tool gets ([`ToolContext`]) and gives back
//! ([`ToolOutput`], or a [`ToolError`] with a stable code).

use serde_json::{Value, json};
use switchboard_core::domain::UserId;
use switchboard_core::services::Services;

/// What a system tool may use for one call (`Debug` leaves out the credentials).
pub struct ToolContext<'a> {
    pub services: &'a Services,
    pub user: &'a UserId,
    /// The user's credentials for this tool (opened from the vault), if connected with any.
    pub credentials: Option<Value>,
}

impl std::fmt::Debug for ToolContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("user", &self.user)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| switchboard_core::secret::REDACTED),
            )
            .finish_non_exhaustive()
    }
}

/// A tool's answer, in MCP's `tools/call` result shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// MCP content blocks (`{"type": "text", "text": …}`).
    pub content: Vec<Value>,
    pub structured: Option<Value>,
    /// The tool ran but reports a failure the agent should read.
    pub is_error: bool,
}

impl ToolOutput {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content: vec![json!({"type": "text", "text": text.into()})],
            structured: None,
            is_error: false,
        }
    }

    /// Structured content with its JSON as the text block.
    pub fn json(value: Value) -> Self {
        Self {
            content: vec![json!({"type": "text", "text": value.to_string()})],
            structured: Some(value),
            is_error: false,
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            is_error: true,
            ..Self::text(text)
        }
    }
}

/// Why a call could not be made; the message is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ToolError {
    /// `NOT_CONNECTED`, `INVALID_ARGUMENTS`, `UPSTREAM_ERROR`, `AUTH_FAILED`, `INTERNAL_ERROR`, …
    pub code: &'static str,
    pub message: String,
}

impl ToolError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn not_connected(tool: &str) -> Self {
        Self::new(
            "NOT_CONNECTED",
            format!("{tool} is not connected: connect it in the Apps menu first"),
        )
    }

    pub fn unknown_function(tool: &str, function: &str) -> Self {
        Self::new("UNKNOWN_FUNCTION", format!("{tool} has no function `{function}`"))
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "system tool failed");
        Self::new("INTERNAL_ERROR", "the tool failed unexpectedly; please retry")
    }
}

/// Reads a typed argument object (already validated against the schema).
pub fn arguments<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ToolError> {
    serde_json::from_value(value).map_err(|e| ToolError::new("INVALID_ARGUMENTS", e.to_string()))
}
