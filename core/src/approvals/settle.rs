//! Settling an approval — by its owner ([`decide`]) or by the clock
//! ([`expire_due`]) — and what follows, in one transaction per approval
//! (see `ApprovalStore::settle_approval`): the waiting run released
//! (through admission, like a new run) or failed, and an agent turn parked
//! on it resumed. Jobs are enqueued after the commit; one that cannot be
//! stays `queued` for the reconciler.

use serde_json::json;
use uuid::Uuid;

use super::{ApprovalRecord, ApprovalState, Decision, Policy, seconds_to_decide};
use crate::audit::{self, AuditKind};
use crate::domain::UserId;
use crate::jobs::RunKind;
use crate::runs::{RunEvent, RunRecord, RunStatus};
use crate::services::Services;
use crate::store::{Settle, Settled, StoreError, now};

/// Why a decision was not taken.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No such approval for this user.
    #[error("not found")]
    NotFound,
    /// It was already decided, used or expired.
    #[error("this approval is already {}", .0.as_str())]
    Settled(ApprovalState),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The owner's decision on a pending approval.
pub async fn decide(
    services: &Services,
    owner: &UserId,
    id: Uuid,
    decision: Decision,
    how: &str,
) -> Result<ApprovalRecord, DecideError> {
    let to = match decision {
        Decision::Deny => ApprovalState::Denied,
        Decision::Approve | Decision::Always => ApprovalState::Approved,
    };
    let how = if decision == Decision::Always { "always" } else { how };
    let settle = settle(services, owner.as_str(), id, to, how, Some(owner.as_str()));
    let Some(settled) = services.store.settle_approval(&settle).await? else {
        return Err(match services.store.approval(owner, id).await {
            Ok(a) if a.state() == ApprovalState::Pending => DecideError::Settled(ApprovalState::Expired),
            Ok(a) => DecideError::Settled(a.state()),
            Err(StoreError::NotFound) => DecideError::NotFound,
            Err(e) => DecideError::Store(e),
        });
    };
    let approval = follow(services, settled).await;
    if decision == Decision::Always {
        allow_from_now_on(services, owner, &approval).await?;
    }
    Ok(approval)
}

/// Expires up to `limit` approvals nobody decided in time (their runs fail
/// `APPROVAL_TIMEOUT`) and the gateway grants nobody used.
pub async fn expire_due(services: &Services, limit: u32) -> Result<u64, StoreError> {
    let at = now();
    let mut expired = 0;
    for (owner, id) in services.store.due_approvals(at, limit).await? {
        let settle = settle(services, &owner, id, ApprovalState::Expired, "timeout", None);
        if let Some(settled) = services.store.settle_approval(&settle).await? {
            follow(services, settled).await;
            expired += 1;
        }
    }
    services.store.expire_grants(at).await?;
    Ok(expired)
}

fn settle<'a>(
    services: &Services,
    owner: &'a str,
    id: Uuid,
    to: ApprovalState,
    how: &'a str,
    by: Option<&'a str>,
) -> Settle<'a> {
    let limits = &services.settings.limits;
    Settle {
        owner,
        id,
        to,
        how,
        by,
        now: now(),
        call_cap: limits.running(RunKind::InvokeTool),
        turn_cap: limits.running(RunKind::AgentTurn),
    }
}

/// `always`: the tool's own policy becomes `allow`.
async fn allow_from_now_on(services: &Services, owner: &UserId, approval: &ApprovalRecord) -> Result<(), StoreError> {
    let store = &services.store;
    match (approval.connector_id, &approval.system_tool) {
        (Some(connector), _) => {
            store
                .set_tool_policy(owner, connector, &approval.tool_name, Policy::Allow)
                .await?
        }
        (None, Some(tool)) => {
            store
                .set_function_policy(owner, tool, &approval.tool_name, Policy::Allow)
                .await?
        }
        (None, None) => return Ok(()),
    }
    let object = match (approval.connector_id, &approval.system_tool) {
        (Some(connector), _) => audit::connector(connector),
        (None, tool) => audit::system_tool(tool.as_deref().unwrap_or_default()),
    };
    let summary = json!({"tool": approval.tool_name, "policy": Policy::Allow, "via": "approval"});
    let actor = audit::Actor::User(owner.as_str());
    audit::record(
        &*services.store,
        Some(owner.as_str()),
        actor,
        AuditKind::ToolSwitched,
        object,
        summary,
    )
    .await;
    services.events.catalog_changed(owner.as_str()).await;
    Ok(())
}

/// After the commit: metrics, the log line, jobs for what was released and
/// the terminal event of a call that will not run.
async fn follow(services: &Services, settled: Settled) -> ApprovalRecord {
    let approval = settled.approval;
    let outcome = approval.state.clone();
    metrics::counter!("switchboard_approvals_total", "outcome" => outcome.clone(), "origin" => approval.origin.clone())
        .increment(1);
    metrics::histogram!("switchboard_approval_decision_seconds", "outcome" => outcome.clone())
        .record(seconds_to_decide(&approval));
    tracing::info!(
        target: "switchboard::approvals",
        approval_id = %approval.id,
        user_id = %approval.owner,
        tool = %approval.catalog_name,
        origin = %approval.origin,
        outcome = %outcome,
        how = ?approval.how,
        run_id = ?approval.run_id,
        "approval settled"
    );
    if let Some(run) = settled.run {
        released(services, &run, RunKind::InvokeTool).await;
    }
    if let Some(turn) = settled.turn {
        released(services, &turn, RunKind::AgentTurn).await;
    }
    approval
}

/// A run the settlement moved: its job (when queued) or its terminal event.
async fn released(services: &Services, run: &RunRecord, kind: RunKind) {
    match run.status() {
        RunStatus::Queued => match services.queue.as_queue().enqueue(kind, run.id).await {
            Ok(()) => metrics::counter!("switchboard_jobs_enqueued_total", "kind" => kind.as_str()).increment(1),
            Err(e) => tracing::warn!(run_id = %run.id, error = format!("{e:#}"),
                "could not enqueue an approved run; the reconciler will"),
        },
        RunStatus::Failed => {
            let event = RunEvent::Finished {
                status: RunStatus::Failed,
                error_code: run.error_code.clone(),
                error_message: run.error_message.clone(),
            };
            if let Err(e) = services.events.append(run.id, event).await {
                tracing::warn!(run_id = %run.id, error = %e, "failed to publish a run event");
            }
        }
        _ => {}
    }
}
