//! [`Secret`]: a string that never prints.
//!
//! `Debug` and `Display` show `[redacted]`. `Serialize` writes the value, because
//! secrets are serialised in exactly one place: into a plaintext buffer that the
//! vault encrypts at once. Response types never hold a `Secret`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A credential or key held in memory. Read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext. Call sites are few and easy to audit: `rg expose\(`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Stands in for a field that may hold a secret in a hand-written `Debug`:
/// `f.debug_struct("X").field("arguments", &REDACTED)`.
pub const REDACTED: Redacted = Redacted;

/// See [`REDACTED`].
#[derive(Clone, Copy)]
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("hunter2-canary");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), "hunter2-canary");
    }

    /// Every type that holds a secret in plain text, built from a body full of
    /// canaries: its `Debug` shows none of them.
    #[test]
    fn debug_of_types_holding_secrets_leaves_them_out() {
        use serde_json::json;

        use crate::domain::{ConnectorDraft, ConnectorInput};
        use crate::llm::{Reply, ToolCall};
        use crate::oauth::Pending;
        use crate::runs::{AgentInput, InvocationInput};

        const CANARY: &str = "canary-7f3a";
        let input: ConnectorInput = serde_json::from_value(json!({
            "name": "n", "server_url": "https://mcp.example.com/mcp", "auth_type": "bearer",
            "auth_config": {"token": CANARY}, "headers": {"X-Api-Key": CANARY},
        }))
        .expect("input");
        let input_debug = format!("{input:?}");
        let draft = ConnectorDraft::parse(input).expect("valid");
        let pending: Pending = serde_json::from_value(json!({
            "registration": {
                "resource": "https://mcp.example.com/mcp",
                "metadata": {"authorization_endpoint": "https://as.example.com/a", "token_endpoint": "https://as.example.com/t"},
                "client_id": "c", "client_secret": CANARY, "redirect_uri": "https://sb.example.com/oauth/callback",
            },
            "state": {"pkce_verifier": CANARY, "csrf_token": CANARY, "created_at": 0},
        }))
        .expect("pending");
        let call = ToolCall {
            id: "1".into(),
            name: "t".into(),
            arguments: CANARY.into(),
        };
        let reply = Reply {
            message: json!({"content": CANARY}),
            content: Some(CANARY.into()),
            tool_calls: vec![call.clone()],
        };
        let invocation: InvocationInput = serde_json::from_value(json!({"arguments": {"k": CANARY}})).expect("input");
        let turn = AgentInput {
            messages: vec![json!({"role": "user", "content": CANARY})],
            selected_tools: vec![],
            resume: Some(json!({"messages": [CANARY]})),
        };

        for shown in [
            input_debug,
            format!("{draft:?}"),
            format!("{pending:?}"),
            format!("{call:?}"),
            format!("{reply:?}"),
            format!("{invocation:?}"),
            format!("{turn:?}"),
        ] {
            assert!(!shown.contains(CANARY), "a secret in Debug: {shown}");
            assert!(shown.contains("redacted"), "nothing marked as left out: {shown}");
        }
    }
}
