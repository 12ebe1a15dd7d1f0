//! Rows as the store reads and writes them.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{ToolInfo, ToolPins};

/// A `connectors` row. `credentials` and `headers` are vault ciphertexts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectorRecord {
    pub id: Uuid,
    pub owner: String,
    pub name: String,
    /// Lowercased name; unique per owner.
    pub name_key: String,
    pub description: String,
    pub server_url: String,
    pub auth_type: String,
    pub auth_configured: bool,
    pub auth_hint: Option<String>,
    /// Sealed; `None` in list results, which never read the sealed columns.
    #[sqlx(default)]
    pub credentials: Option<Vec<u8>>,
    /// Sealed; `None` in list results.
    #[sqlx(default)]
    pub headers: Option<Vec<u8>>,
    pub header_names: Json<Vec<String>>,
    pub enabled: bool,
    /// The policy of its tools that have none of their own: `auto`, `allow`,
    /// `ask` or `block` (see [`crate::approvals::DefaultPolicy`]).
    pub tool_policy: String,
    /// Health as last observed: see [`ConnectorState`].
    pub state: String,
    /// The tools agents are served: the approved definitions, minus what a
    /// changed server holds out (see [`crate::domain::pins`]).
    pub tools: Json<Vec<ToolInfo>>,
    /// The approved copy and any change held for review; `None` until first
    /// pinned, and in list results (which never read it).
    #[sqlx(default)]
    pub tool_pins: Option<Json<ToolPins>>,
    /// Bumped by every write of `tool_pins` (compare-and-set guard).
    #[sqlx(default)]
    pub pins_rev: i32,
    /// How many tool changes wait for the user's review.
    pub changes_pending: i32,
    pub tools_discovered_at: Option<DateTime<Utc>>,
    pub last_test_status: Option<String>,
    pub last_error_code: Option<String>,
    pub consecutive_failures: i32,
    /// When the scheduler re-checks it next.
    pub next_check_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the last checks said about a connector (independent of `enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorState {
    Active,
    /// Three or more consecutive failed checks.
    Degraded,
    /// OAuth tokens are missing or were revoked.
    NeedsAuthorization,
}

impl ConnectorState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Degraded => "degraded",
            Self::NeedsAuthorization => "needs_authorization",
        }
    }
}

/// A `user_tools` row: a system tool a user connected.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserToolRecord {
    pub owner: String,
    pub tool_id: String,
    pub connected: bool,
    /// Sealed `user_tools.credentials`.
    pub credentials: Option<Vec<u8>>,
    pub connected_at: Option<DateTime<Utc>>,
    /// The policy of its functions that have none of their own (see
    /// [`crate::approvals::DefaultPolicy`]); set when the row is first created.
    pub tool_policy: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One tool call, in the invocation log (kept apart from runs, with its own retention).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvocationRecord {
    pub id: Uuid,
    pub owner: String,
    pub run_id: Uuid,
    /// `connector` or `system`.
    pub source_kind: String,
    pub connector_id: Option<Uuid>,
    pub system_tool: Option<String>,
    /// The tool's own name (the server's, or the system tool's function).
    pub tool_name: String,
    /// The name the agent used.
    pub catalog_name: String,
    /// `ok`, `tool_error` (the tool answered `isError`) or `failed`.
    pub outcome: String,
    pub error_code: Option<String>,
    pub attempts: i32,
    pub duration_ms: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An `oauth_flows` row: an authorization waiting for its callback.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthFlowRecord {
    /// SHA-256 (hex) of the `state` parameter.
    pub state_hash: String,
    pub owner: String,
    pub target: String,
    /// SHA-256 (hex) of the browser-binding cookie.
    pub browser_hash: String,
    /// Sealed `oauth_flows.pending`.
    pub pending: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// An `oauth_grants` row: tokens issued for one (user, target).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthGrantRecord {
    pub owner: String,
    pub target: String,
    pub issuer: String,
    /// Sealed `oauth_grants.grant_data`.
    pub grant_data: Vec<u8>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Now, truncated to microseconds so values round-trip through both databases unchanged.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(now)
}

/// An `audit_events` row: one security-relevant event, never a secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRecord {
    /// UUID v7: time-ordered, the paging cursor.
    pub id: Uuid,
    /// The user the event concerns; `None` for an operator's event.
    pub owner: Option<String>,
    /// Who did it: the user, `switchboard` (its own checks) or `operator`.
    pub actor: String,
    pub kind: String,
    /// What it concerns, e.g. `connector:<id>`.
    pub object: String,
    pub summary: Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}
