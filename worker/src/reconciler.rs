//! The reconciler: every run ends, whatever happened to the queue or to the
//! worker that had it. It reads only the `runs` table, once per interval
//! across all processes (a claim in the database, like health checks):
//!
//! - a `running` run whose lease expired (its worker stopped or stalled) goes
//!   back to the queue with a new task id — unless it is a tool call already
//!   dispatched to a tool that is not safe to repeat: that fails with
//!   `OUTCOME_UNKNOWN`, never sent twice;
//! - a `queued` run whose job has not started within
//!   `SWITCHBOARD_REQUEUE_AFTER` (its job was lost, e.g. with Redis's data) is
//!   enqueued again with a new task id;
//! - after `SWITCHBOARD_MAX_REQUEUES` of either, the run fails (`WORKER_LOST`,
//!   `QUEUE_LOST`) with a message that says so;
//! - runs that wait by design are left alone, except that a user's `waiting`
//!   runs are enqueued when the user is under the cap (the worker that freed
//!   the slot normally does it; this catches one that stopped first);
//! - approvals nobody decided in time expire: their calls fail
//!   `APPROVAL_TIMEOUT` and agent turns parked on them resume.

use std::time::Duration;

use chrono::Utc;
use switchboard_core::jobs::RunKind;
use switchboard_core::runs::launch::promote_next;
use switchboard_core::runs::{RunEvent, RunRecord, RunStatus};
use switchboard_core::services::Services;
use switchboard_core::store::{FinishGuard, now};

use crate::handlers::{end_steps, invoke, recovered_steps};

/// Runs looked at per pass.
const BATCH: u32 = 500;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub requeued: u64,
    pub failed: u64,
    pub promoted: u64,
    /// Approvals that expired.
    pub expired: u64,
}

fn after(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(60))
}

/// One pass, if this process claims it for this interval.
pub async fn reconcile(services: &Services) -> anyhow::Result<Option<Reconciled>> {
    let limits = &services.settings.limits;
    let at = now();
    if !services
        .store
        .claim_maintenance("reconciler", at, at + after(limits.reconcile_interval))
        .await?
    {
        return Ok(None);
    }
    reconcile_now(services).await.map(Some)
}

/// One pass, unconditionally (tests and the claim holder).
pub async fn reconcile_now(services: &Services) -> anyhow::Result<Reconciled> {
    let limits = &services.settings.limits;
    let at = now();
    let queued_before = at - after(limits.requeue_after);
    let mut done = Reconciled::default();
    for run in services.store.stale_runs(at, queued_before, BATCH).await? {
        let Some(kind) = RunKind::parse(&run.kind) else {
            continue;
        };
        let running = run.status() == RunStatus::Running;
        let unsafe_dispatched = kind == RunKind::InvokeTool
            && run.dispatched_at.is_some()
            && !run.input.tool.as_ref().is_some_and(|t| t.safe_to_repeat());
        let verdict = if running && unsafe_dispatched {
            Some((
                "OUTCOME_UNKNOWN",
                "the worker running this call stopped after sending it, so it may or may not have taken effect; \
                 it was not sent again because the tool is not marked read-only or idempotent. Check the result \
                 in the tool itself."
                    .to_owned(),
            ))
        } else if u32::try_from(run.requeues).unwrap_or(u32::MAX) >= limits.max_requeues {
            Some(if running {
                (
                    "WORKER_LOST",
                    format!(
                        "the workers that took this run stopped {} times; it was given up",
                        run.requeues + 1
                    ),
                )
            } else {
                (
                    "QUEUE_LOST",
                    format!(
                        "this run's job was lost from the queue {} times; it was given up: please retry",
                        run.requeues + 1
                    ),
                )
            })
        } else {
            None
        };
        match verdict {
            Some((code, message)) => {
                if fail(services, &run, kind, code, &message).await? {
                    done.failed += 1;
                }
            }
            None => {
                if let Some(requeued) = services.store.requeue_run(run.id, at, queued_before).await? {
                    let reason = if running { "lease_expired" } else { "not_started" };
                    services.queue.as_queue().enqueue(kind, requeued.id).await?;
                    metrics::counter!("switchboard_runs_requeued_total", "kind" => kind.as_str(), "reason" => reason)
                        .increment(1);
                    tracing::warn!(run_id = %run.id, kind = kind.as_str(), reason, requeues = requeued.requeues,
                        event = "run_requeued", "a run went back to the queue");
                    done.requeued += 1;
                }
            }
        }
    }
    done.expired = switchboard_core::approvals::expire_due(services, BATCH).await?;
    for (owner, kind) in services.store.owners_waiting(BATCH).await? {
        let Some(kind) = RunKind::parse(&kind) else { continue };
        while promote_next(services, &owner, kind).await? {
            done.promoted += 1;
        }
    }
    Ok(done)
}

/// Fails an abandoned run (its steps ended as its events left them).
async fn fail(services: &Services, run: &RunRecord, kind: RunKind, code: &str, message: &str) -> anyhow::Result<bool> {
    let mut steps = recovered_steps(services, run).await;
    end_steps(&mut steps);
    let Some(finished) = services
        .store
        .finish_run(
            run.id,
            FinishGuard::Abandoned,
            RunStatus::Failed,
            &steps,
            None,
            Some((code, message)),
            Utc::now(),
        )
        .await?
    else {
        return Ok(false);
    };
    metrics::counter!("switchboard_runs_reaped_total", "kind" => kind.as_str(), "code" => code.to_owned()).increment(1);
    tracing::warn!(run_id = %run.id, kind = kind.as_str(), code, event = "run_reaped", "an abandoned run was failed");
    let event = RunEvent::Finished {
        status: RunStatus::Failed,
        error_code: Some(code.to_owned()),
        error_message: Some(message.to_owned()),
    };
    if let Err(e) = services.events.append(run.id, event).await {
        tracing::warn!(run_id = %run.id, error = %e, "failed to publish a run event");
    }
    if let Some(target) = run.input.tool.clone() {
        let outcome = crate::handlers::Outcome {
            error: Some((code.to_owned(), message.to_owned())),
            ..Default::default()
        };
        let logged = invoke::Logged {
            target,
            attempts: run.attempts,
            took: Duration::ZERO,
        };
        invoke::log(services, &finished, &outcome, logged).await;
    }
    promote_next(services, &run.owner, kind).await?;
    Ok(true)
}
