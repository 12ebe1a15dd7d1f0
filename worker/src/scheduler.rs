//! Periodic work of every worker process: re-checking connectors whose check
//! is due (claimed atomically, so each is checked once per interval however
//! many processes run), the reconciler (likewise claimed), the Redis janitor
//! (claimed per minute; its first pass also removes what earlier versions
//! left), pruning old runs, and the gauges and heartbeat metrics.

use std::time::Duration;

use chrono::Utc;
use switchboard_core::domain::UserId;
use switchboard_core::jobs::RunKind;
use switchboard_core::queue::{QueueBackend, housekeeping};
use switchboard_core::runs::RunInput;
use switchboard_core::runs::launch::{NewRun, launch};
use switchboard_core::services::Services;
use switchboard_core::store::{StoreResult, now};

use crate::metrics;

/// Connectors claimed per tick.
const CLAIM_BATCH: u32 = 100;
/// How often one process sweeps the Redis queues.
const JANITOR_EVERY: Duration = Duration::from_secs(60);

pub async fn run(services: Services) {
    let jobs = &services.settings.jobs;
    let tick = jobs.health_interval.map_or(Duration::from_secs(1), |i| {
        (i / 4).clamp(Duration::from_millis(20), Duration::from_secs(5))
    });
    let maintenance_every = jobs.heartbeat;
    let mut last_maintenance = tokio::time::Instant::now() - maintenance_every;
    let tick = tick.min(services.settings.limits.reconcile_interval);
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match crate::reconciler::reconcile(&services).await {
            Ok(Some(done)) if done != crate::reconciler::Reconciled::default() => {
                tracing::info!(
                    requeued = done.requeued,
                    failed = done.failed,
                    promoted = done.promoted,
                    "runs reconciled"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "failed to reconcile runs"),
        }
        janitor(&services).await;
        if let Some(interval) = jobs.health_interval
            && let Err(e) = schedule_checks(&services, interval).await
        {
            tracing::warn!(error = format!("{e:#}"), "failed to schedule connector checks");
        }
        if last_maintenance.elapsed() >= maintenance_every {
            last_maintenance = tokio::time::Instant::now();
            maintain(&services).await;
        }
    }
}

async fn schedule_checks(services: &Services, interval: Duration) -> anyhow::Result<()> {
    let now = Utc::now();
    let next = now + chrono::Duration::from_std(interval)?;
    for (connector_id, owner) in services.store.claim_due_checks(now, next, CLAIM_BATCH).await? {
        let new = NewRun {
            owner: UserId::parse(&owner).map_err(anyhow::Error::msg)?,
            kind: RunKind::DiscoverTools,
            connector_id: Some(connector_id),
            input: RunInput::default(),
            sealed: None,
            idempotency: None,
        };
        if let Err(e) = launch(services, new).await {
            tracing::warn!(%connector_id, error = format!("{e:#}"), "failed to queue a connector check");
        }
    }
    Ok(())
}

/// The Redis janitor, when this process claims it.
async fn janitor(services: &Services) {
    let QueueBackend::Redis(queue) = &services.queue else {
        return;
    };
    let at = now();
    let next = at + chrono::Duration::from_std(JANITOR_EVERY).unwrap_or(chrono::Duration::minutes(1));
    match services.store.claim_maintenance("redis-janitor", at, next).await {
        Ok(true) => match housekeeping::sweep(queue, &*services.store).await {
            Ok(swept) if swept != housekeeping::Swept::default() => tracing::info!(
                tasks = swept.tasks,
                workers = swept.workers,
                promoted = swept.promoted,
                "the Redis janitor removed what was left behind"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "the Redis janitor failed"),
        },
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "could not claim the Redis janitor"),
    }
}

/// Logs what one pruning pass removed, or why it failed.
fn pruned(what: &str, outcome: StoreResult<u64>) {
    match outcome {
        Ok(0) => {}
        Ok(n) => tracing::info!(pruned = n, "pruned {what}"),
        Err(e) => tracing::warn!(error = %e, "failed to prune {what}"),
    }
}

async fn maintain(services: &Services) {
    metrics::heartbeat();
    let cutoff = |keep: Duration| Utc::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(7));
    let store = &services.store;
    pruned(
        "old runs",
        store.prune_runs(cutoff(services.settings.jobs.run_retention)).await,
    );
    pruned(
        "settled approvals",
        store
            .prune_approvals(cutoff(services.settings.jobs.run_retention))
            .await,
    );
    // The invocation log has its own, longer retention (analytics read it).
    let invocations = cutoff(services.settings.agent.invocation_retention);
    pruned("old invocation log entries", store.prune_invocations(invocations).await);
    pruned(
        "old audit events",
        store.prune_audit(cutoff(services.settings.jobs.audit_retention)).await,
    );
    // Sign-ins nobody finished: their sealed PKCE verifiers go.
    pruned("expired OAuth flows", store.prune_oauth_flows(Utc::now()).await);
    for kind in RunKind::ALL {
        if let Ok(depth) = services.queue.as_queue().depth(kind).await {
            metrics::queue_depth(kind, depth);
        }
    }
    if let Ok(count) = services.store.degraded_count().await {
        metrics::degraded_connectors(count);
    }
}
