//! The `approvals` row and its states.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting for the owner.
    Pending,
    /// Approved: its run was released, or (gateway) a grant for the next identical call.
    Approved,
    Denied,
    /// Nobody decided within `SWITCHBOARD_APPROVAL_TIMEOUT`.
    Expired,
    /// A gateway grant that the identical call has used.
    Used,
}

impl ApprovalState {
    pub const ALL: [Self; 5] = [Self::Pending, Self::Approved, Self::Denied, Self::Expired, Self::Used];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Used => "used",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// Which path made the call that waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `POST /api/agent/invocations`: its run waits.
    Invocation,
    /// An agent turn: the call's run waits and the turn is parked on it.
    Agent,
    /// The MCP gateway (`/mcp`): approving grants the next identical call.
    Gateway,
    /// A connector's proxy (`/mcp/connectors/{id}`): as the gateway.
    Proxy,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invocation => "invocation",
            Self::Agent => "agent",
            Self::Gateway => "gateway",
            Self::Proxy => "proxy",
        }
    }
}

/// What the owner decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ApprovalDecision)]
pub enum Decision {
    Approve,
    Deny,
    /// Approve, and from now on allow the tool without asking.
    Always,
}

/// An `approvals` row. `sealed_arguments` is a vault ciphertext bound to
/// (`approvals.sealed_arguments`, owner, id), dropped once decided.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApprovalRecord {
    pub id: Uuid,
    pub owner: String,
    /// The invocation run that waits (none for gateway and proxy approvals).
    pub run_id: Option<Uuid>,
    /// The agent turn parked on it.
    pub turn_id: Option<Uuid>,
    pub origin: String,
    /// `connector` or `system`.
    pub source_kind: String,
    pub connector_id: Option<Uuid>,
    pub system_tool: Option<String>,
    /// The tool's own name.
    pub tool_name: String,
    /// The name agents call it by.
    pub catalog_name: String,
    pub display_name: String,
    /// Digest of the tool and its arguments: what a gateway grant matches.
    pub request_hash: String,
    pub sealed_arguments: Option<Vec<u8>>,
    pub state: String,
    /// Put to an MCP client as an `input_required` question: only then may
    /// that client answer it.
    pub asked_client: bool,
    /// `api`, `ui`, `elicitation`, `always` or `timeout`.
    pub how: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl ApprovalRecord {
    /// The connector's id or the system tool's, as [`super::call_hash`] takes it.
    pub fn source_id(&self) -> String {
        self.connector_id
            .map(|c| c.to_string())
            .or_else(|| self.system_tool.clone())
            .unwrap_or_default()
    }

    pub fn state(&self) -> ApprovalState {
        ApprovalState::parse(&self.state).unwrap_or(ApprovalState::Expired)
    }
}
