//! The apalis workers: one per queue, each with its own concurrency limit,
//! woken on push (Redis pub/sub, or in-process for SQLite) with a short
//! fallback poll, and a unique name per process so a crashed process's jobs
//! are recovered by the others' heartbeats.

use std::future::Future;
use std::time::Duration;

use apalis::prelude::{Monitor, ParallelizeExt as _, PollWith, Strategy, WorkerBuilder, WorkerBuilderExt as _};
use switchboard_core::jobs::RunKind;
use switchboard_core::queue::QueueBackend;
use switchboard_core::services::Services;

use crate::handlers;
use crate::sessions::Sessions;

/// A name unique to this process: host, pid and a random suffix.
pub fn process_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}-{}", std::process::id(), ulid::Ulid::generate())
}

/// Runs the queue workers until `shutdown`; in-flight jobs get the grace period to finish.
pub async fn run_workers(
    services: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let name = process_name();
    let jobs = services.settings.jobs.clone();
    tracing::info!(worker = %name, concurrency = jobs.concurrency, "starting queue workers");
    let mut monitor = Monitor::new().shutdown_timeout(jobs.shutdown_grace).should_restart(|worker, error| {
        tracing::error!(worker = %worker.name(), error = %error, restarts = worker.restarts(), "queue worker stopped; restarting");
        true
    });
    let (poll, concurrency) = (jobs.poll_interval, jobs.concurrency);
    let agent_concurrency = services.settings.agent.agent_concurrency;
    let context = handlers::JobContext {
        services: services.clone(),
        sessions: Sessions::default(),
    };
    // One worker per queue. The two backends' types differ but are used the
    // same way (`storage(kind)`, `wake(kind)`), hence a macro rather than a function.
    macro_rules! register_queues {
        ($queue:expr) => {
            for kind in RunKind::ALL {
                let (queue, context, name) = ($queue.clone(), context.clone(), name.clone());
                // Agent turns wait on tool calls: their own pool, so they never starve them.
                let concurrency = if kind == RunKind::AgentTurn {
                    agent_concurrency
                } else {
                    concurrency
                };
                monitor = monitor.register(move |restarts| {
                    pause_before_restart(restarts);
                    let strategy = Strategy::new().stream(queue.wake(kind)).interval(poll);
                    WorkerBuilder::new(format!("{name}-{}", kind.as_str()))
                        .backend(PollWith::new(queue.storage(kind), strategy))
                        .data(context.clone())
                        .concurrency(concurrency)
                        .parallelize(tokio::spawn)
                        .build(handlers::handle)
                });
            }
        };
    }
    match &services.queue {
        QueueBackend::Redis(queue) => {
            queue.listen_for_pushes().await?;
            register_queues!(queue);
        }
        QueueBackend::Sqlite(queue) => register_queues!(queue),
    }
    monitor
        .run_with_signal(async move {
            shutdown.await;
            tracing::info!("stopping queue workers; in-flight jobs may finish");
            Ok(())
        })
        .await?;
    Ok(())
}

/// A worker restarts after an error (e.g. Redis unreachable); the factory is
/// synchronous, so a short pause keeps an outage from becoming a busy loop.
fn pause_before_restart(restarts: usize) {
    if restarts > 0 {
        std::thread::sleep(Duration::from_millis(200));
    }
}
