//! The audit log: who changed what of a user's connectors, authorizations and
//! tools. Each event is one row in `audit_events` (append-only, pruned by age)
//! and one structured log line (`switchboard::audit`). Summaries name objects
//! and what changed, never a secret: callers pass ids, names and flags only.

use serde_json::Value;
use uuid::Uuid;

use crate::store::{AuditRecord, AuditStore, Json, now};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    ConnectorCreated,
    ConnectorUpdated,
    ConnectorDeleted,
    ConnectorToggled,
    ConnectorAuthorized,
    GrantRevoked,
    GrantRefused,
    ToolChangesHeld,
    ToolChangesApproved,
    ToolChangesRejected,
    ToolSwitched,
    SystemToolConnected,
    SystemToolDisconnected,
    KeysRotated,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectorCreated => "connector.created",
            Self::ConnectorUpdated => "connector.updated",
            Self::ConnectorDeleted => "connector.deleted",
            Self::ConnectorToggled => "connector.toggled",
            Self::ConnectorAuthorized => "connector.authorized",
            Self::GrantRevoked => "grant.revoked",
            Self::GrantRefused => "grant.refused",
            Self::ToolChangesHeld => "tool_changes.held",
            Self::ToolChangesApproved => "tool_changes.approved",
            Self::ToolChangesRejected => "tool_changes.rejected",
            Self::ToolSwitched => "tool.switched",
            Self::SystemToolConnected => "system_tool.connected",
            Self::SystemToolDisconnected => "system_tool.disconnected",
            Self::KeysRotated => "keys.rotated",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// The signed-in user.
    User(&'a str),
    /// Switchboard itself (a health check, a refresh the server refused).
    Switchboard,
    /// An operator at the command line.
    Operator,
}

impl Actor<'_> {
    fn name(&self) -> &str {
        match self {
            Self::User(user) => user,
            Self::Switchboard => "switchboard",
            Self::Operator => "operator",
        }
    }
}

/// An object an event concerns.
pub fn connector(id: Uuid) -> String {
    format!("connector:{id}")
}

/// A system tool an event concerns.
pub fn system_tool(id: &str) -> String {
    format!("system_tool:{id}")
}

/// Records one event for `owner` (`None`: an operator's event, no user's).
/// The action it records has happened: a failure to write is logged and
/// counted, not returned.
pub async fn record(
    store: &dyn AuditStore,
    owner: Option<&str>,
    actor: Actor<'_>,
    kind: AuditKind,
    object: String,
    summary: Value,
) {
    let record = AuditRecord {
        id: Uuid::now_v7(),
        owner: owner.map(str::to_owned),
        actor: actor.name().to_owned(),
        kind: kind.as_str().to_owned(),
        object,
        summary: Json(summary),
        created_at: now(),
    };
    tracing::info!(
        target: "switchboard::audit",
        event = kind.as_str(),
        user_id = owner.unwrap_or(""),
        actor = %record.actor,
        object = %record.object,
        summary = %record.summary.0,
        "audit"
    );
    let outcome = match store.record_audit(&record).await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::error!(event = kind.as_str(), error = %e, "could not write an audit event");
            "failed"
        }
    };
    metrics::counter!("switchboard_audit_events_total", "kind" => kind.as_str(), "outcome" => outcome).increment(1);
}
