//! The apalis workers: one per queue, each with its own concurrency limit,
//! woken on push (Redis pub/sub, or in-process for SQLite) with a fallback
//! poll ([`crate::poll::Armed`]), and a name unique to this process and to
//! each restart, so a crashed process's tasks are recovered by the others'
//! heartbeats and a restarted worker never mistakes its own registration for
//! a live twin. On a graceful stop each worker hands back the tasks it fetched
//! but did not run, and removes its registration.

use std::future::Future;
use std::sync::{Arc, Mutex};

use apalis::prelude::{Monitor, ParallelizeExt as _, PollWith, Strategy, WorkerBuilder, WorkerBuilderExt as _};
use switchboard_core::jobs::RunKind;
use switchboard_core::queue::{QueueBackend, housekeeping};
use switchboard_core::services::Services;

use crate::handlers;
use crate::poll::Armed;
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
    let sessions = Sessions::default();
    // Every name a worker of this process had, to release them all on stop.
    let names: Arc<Mutex<Vec<(RunKind, String)>>> = Arc::default();
    // One worker per queue. The two backends' types differ but are used the
    // same way (`storage(kind)`, `wake(kind)`), hence a macro rather than a function.
    macro_rules! register_queues {
        ($queue:expr) => {
            for kind in RunKind::ALL {
                let (queue, name, names) = ($queue.clone(), name.clone(), names.clone());
                let context = handlers::JobContext {
                    services: services.clone(),
                    sessions: sessions.clone(),
                    kind,
                };
                // Agent turns wait on tool calls: their own pool, so they never starve them.
                let concurrency = if kind == RunKind::AgentTurn {
                    agent_concurrency
                } else {
                    concurrency
                };
                monitor = monitor.register(move |restarts| {
                    let worker_name = format!("{name}-{}-r{restarts}", kind.as_str());
                    names
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((kind, worker_name.clone()));
                    let strategy = Strategy::new().apply(Armed::new(queue.wake(kind), poll));
                    WorkerBuilder::new(worker_name)
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
    let stopped = monitor
        .run_with_signal(async move {
            shutdown.await;
            tracing::info!("stopping queue workers; in-flight jobs may finish");
            Ok(())
        })
        .await;
    if let QueueBackend::Redis(queue) = &services.queue {
        let names = names.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for (kind, worker) in names {
            if let Err(e) = housekeeping::release(queue, kind, &worker).await {
                tracing::warn!(worker = %worker, error = format!("{e:#}"), "could not release a stopping worker's tasks");
            }
        }
    }
    stopped?;
    Ok(())
}
