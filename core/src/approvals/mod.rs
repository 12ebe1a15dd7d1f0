//! Allow, ask or block per tool, and the approvals a person gives.
//!
//! - [`policy`]: [`Policy`] per tool and [`DefaultPolicy`] per connector or
//!   connected system tool; [`Policies`] resolves a tool's policy.
//! - [`record`]: the `approvals` row.
//! - [`decide`], [`expire_due`]: settling an approval, by its owner or by
//!   the clock, and what follows: the waiting run released or failed
//!   (`APPROVAL_DENIED`, `APPROVAL_TIMEOUT`), a parked agent turn resumed.
//!
//! An `ask` call never sends anything before its approval is decided: its run
//! waits in `awaiting_approval` with no job and no worker (and does not count
//! against the user's caps); approving it puts it through admission like a
//! new run. Through the MCP gateway, where nobody polls a run, an approval is
//! a single-use grant the next identical call (same tool, same arguments)
//! uses within the timeout.

pub mod policy;
mod record;
mod settle;

use std::collections::HashMap;

use chrono::Utc;
use serde_json::{Map, Value};
use uuid::Uuid;

pub use policy::{DefaultPolicy, Policy};
pub use record::{ApprovalRecord, ApprovalState, Decision, Origin};
pub use settle::{DecideError, decide, expire_due};

use crate::domain::{ToolInfo, UserId};
use crate::runs::ToolTarget;
use crate::services::Services;
use crate::store::{ConnectorRecord, SealedColumn, now};
use crate::vault::Aad;

/// The policies a user gave tools themselves (those without one follow the default).
#[derive(Debug, Clone, Default)]
pub struct Policies {
    tools: HashMap<(Uuid, String), Policy>,
    functions: HashMap<(String, String), Policy>,
}

impl Policies {
    /// From stored rows; a value this build does not know reads as `ask`.
    pub fn from_rows(tools: Vec<(Uuid, String, String)>, functions: Vec<(String, String, String)>) -> Self {
        let parse = |p: &str| Policy::parse(p).unwrap_or(Policy::Ask);
        Self {
            tools: tools.into_iter().map(|(c, t, p)| ((c, t), parse(&p))).collect(),
            functions: functions.into_iter().map(|(s, f, p)| ((s, f), parse(&p))).collect(),
        }
    }

    /// The policy the user gave a connector's tool, if any.
    pub fn own_of_tool(&self, connector: Uuid, tool: &str) -> Option<Policy> {
        self.tools.get(&(connector, tool.to_owned())).copied()
    }

    /// A connector tool's policy: its own, else the connector's default.
    pub fn of_tool(&self, connector: &ConnectorRecord, tool: &ToolInfo) -> Policy {
        self.own_of_tool(connector.id, &tool.name)
            .unwrap_or_else(|| DefaultPolicy::parse(&connector.tool_policy).for_tool(tool.read_only()))
    }

    /// The policy the user gave a system tool's function, if any.
    pub fn own_of_function(&self, tool_id: &str, function: &str) -> Option<Policy> {
        self.functions.get(&(tool_id.to_owned(), function.to_owned())).copied()
    }

    /// A system tool function's policy: its own, else the connection's default.
    pub fn of_function(&self, tool_id: &str, default: DefaultPolicy, function: &str, read_only: bool) -> Policy {
        self.own_of_function(tool_id, function)
            .unwrap_or_else(|| default.for_tool(read_only))
    }

    /// `(connector, tool)` of every connector tool the user blocked themselves.
    pub fn blocked_tools(&self) -> impl Iterator<Item = (Uuid, &str)> {
        self.tools
            .iter()
            .filter(|(_, p)| **p == Policy::Block)
            .map(|((c, t), _)| (*c, t.as_str()))
    }
}

/// What a new approval is for.
#[derive(Debug)]
pub struct NewApproval<'a> {
    pub owner: &'a UserId,
    pub origin: Origin,
    /// The invocation run that will wait on it.
    pub run_id: Option<Uuid>,
    /// The agent turn that makes the call.
    pub turn_id: Option<Uuid>,
    pub target: &'a ToolTarget,
    pub display_name: &'a str,
    pub request_hash: &'a str,
    pub arguments: &'a Map<String, Value>,
}

pub fn arguments_aad<'a>(owner: &'a str, row: &'a str) -> Aad<'a> {
    Aad {
        field: SealedColumn::ApprovalArguments.field(),
        owner,
        row,
    }
}

/// A pending approval (its arguments sealed), expiring after `SWITCHBOARD_APPROVAL_TIMEOUT`.
pub fn pending(services: &Services, new: NewApproval<'_>) -> ApprovalRecord {
    let id = Uuid::now_v7();
    let at = now();
    let timeout =
        chrono::Duration::from_std(services.settings.limits.approval_timeout).unwrap_or(chrono::Duration::minutes(10));
    let owner = new.owner.as_str();
    let sealed = services.vault.seal_json(
        arguments_aad(owner, &id.to_string()),
        &Value::Object(new.arguments.clone()),
    );
    ApprovalRecord {
        id,
        owner: owner.to_owned(),
        run_id: new.run_id,
        turn_id: new.turn_id,
        origin: new.origin.as_str().to_owned(),
        source_kind: new.target.source_kind.clone(),
        connector_id: new.target.connector_id,
        system_tool: new.target.system_tool.clone(),
        tool_name: new.target.tool_name.clone(),
        catalog_name: new.target.catalog_name.clone(),
        display_name: new.display_name.to_owned(),
        request_hash: new.request_hash.to_owned(),
        sealed_arguments: Some(sealed),
        state: ApprovalState::Pending.as_str().to_owned(),
        asked_client: false,
        how: None,
        decided_by: None,
        created_at: at,
        expires_at: at + timeout,
        decided_at: None,
        updated_at: at,
    }
}

/// The arguments of an undecided approval (`None` once decided, or unreadable).
pub fn arguments(services: &Services, approval: &ApprovalRecord) -> Option<Map<String, Value>> {
    let blob = approval.sealed_arguments.as_ref()?;
    let row = approval.id.to_string();
    match services
        .vault
        .open_json::<Value>(arguments_aad(&approval.owner, &row), blob)
    {
        Ok(Value::Object(map)) => Some(map),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(approval_id = %approval.id, error = %e, "cannot open an approval's arguments");
            None
        }
    }
}

/// Uses one of the owner's grants for this exact call, if there is one: its id.
pub async fn use_grant(
    services: &Services,
    owner: &UserId,
    request_hash: &str,
) -> crate::store::StoreResult<Option<Uuid>> {
    services.store.use_grant(owner.as_str(), request_hash, now()).await
}

/// What an approval is for, and a grant matches: the tool — its connector or
/// system tool (`source_id`) and its own name — and the arguments.
pub fn call_hash(source_id: &str, tool_name: &str, arguments: &Map<String, Value>) -> String {
    use base64::Engine as _;
    let canonical = serde_json::json!([source_id, tool_name, arguments]).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()))
}

/// Seconds from creation to decision, for the metric.
fn seconds_to_decide(approval: &ApprovalRecord) -> f64 {
    let decided = approval.decided_at.unwrap_or_else(Utc::now);
    (decided - approval.created_at).num_milliseconds().max(0) as f64 / 1000.0
}
