//! The `runs` row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Fingerprint, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Its job is in the queue.
    Queued,
    /// Over its user's cap of running jobs: no job yet; enqueued when a slot frees.
    Waiting,
    /// A worker holds its lease.
    Running,
    /// Waiting for a person to approve (no worker, no job).
    AwaitingApproval,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::Waiting,
        Self::Running,
        Self::AwaitingApproval,
        Self::Succeeded,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// What a run works on, without secrets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInput {
    pub server_url: String,
    pub auth_type: String,
    #[serde(default)]
    pub header_names: Vec<String>,
    /// Salted digest of URL + credentials + headers: what "save" must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// Invocations: the tool called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolTarget>,
    /// Invocations that need a person's approval: the approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<Uuid>,
}

/// The tool an invocation calls, resolved from the catalog when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolTarget {
    /// The name the agent used.
    pub catalog_name: String,
    /// `connector` or `system`.
    pub source_kind: String,
    pub connector_id: Option<Uuid>,
    pub system_tool: Option<String>,
    /// The tool's own name.
    pub tool_name: String,
    /// `readOnlyHint` / `idempotentHint`: a failed call may be sent again.
    pub read_only: bool,
    pub idempotent: bool,
}

impl ToolTarget {
    /// Whether sending the call twice is harmless.
    pub fn safe_to_repeat(&self) -> bool {
        self.read_only || self.idempotent
    }
}

/// A `runs` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRecord {
    pub id: Uuid,
    pub owner: String,
    pub kind: String,
    pub status: String,
    pub connector_id: Option<Uuid>,
    pub input: Json<RunInput>,
    /// Sealed `runs.sealed_input` (the test's credentials and headers); cleared at the end.
    pub sealed_input: Option<Vec<u8>>,
    pub steps: Json<Vec<Step>>,
    pub result: Option<Json<Value>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Invocations: the client's key; the same key never runs twice for a user.
    pub idempotency_key: Option<String>,
    /// Invocations: digest of the request, to refuse a key reused for another request.
    pub request_hash: Option<String>,
    /// Invocations: when a `tools/call` was (about to be) sent; a recovered job
    /// that finds it set must not send an unsafe call again.
    pub dispatched_at: Option<DateTime<Utc>>,
    /// Who runs it (a worker's delivery), while `running`: only the holder may
    /// dispatch a call or finish the run.
    pub lease_owner: Option<String>,
    /// Until when the lease holds; the holder renews it while it works. A
    /// `running` run past it belongs to the reconciler.
    pub lease_until: Option<DateTime<Utc>>,
    /// When its job was last pushed onto the queue.
    pub enqueued_at: Option<DateTime<Utc>>,
    /// How often the reconciler pushed its job again.
    pub requeues: i32,
}

impl RunRecord {
    pub fn status(&self) -> RunStatus {
        RunStatus::parse(&self.status).unwrap_or(RunStatus::Failed)
    }
}
