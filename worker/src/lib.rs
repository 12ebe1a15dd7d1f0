//! # switchboard-worker
//!
//! Job handlers and the `switchboard-worker` binary (distributed mode: any
//! number of processes). The API links this crate to run the same workers
//! in-process in embedded mode.
//!
//! # Layout
//! - [`runtime`]: the apalis workers, one per queue; [`poll`]: when an idle one fetches.
//! - [`handlers`]: what a job does (a test, a discovery, a tool call, an agent
//!   turn), under a lease on its run.
//! - [`progress`]: step updates → run events.
//! - [`sessions`]: open MCP sessions reused by tool calls.
//! - [`scheduler`]: due health checks, the [`reconciler`], the Redis janitor,
//!   run pruning, gauges and heartbeats.
//! - [`http`]: the worker's own `/metrics` and `/healthz`.
//! - [`metrics`]: metric names.
#![forbid(unsafe_code)]

pub mod handlers;
pub mod http;
pub mod metrics;
pub mod poll;
pub mod progress;
pub mod reconciler;
pub mod runtime;
pub mod scheduler;
pub mod sessions;

use std::future::Future;

use anyhow::Context as _;
use switchboard_core::config::Settings;
use switchboard_core::services::{Overrides, Services};
use switchboard_core::telemetry;

/// Runs the queue workers and the scheduler until `shutdown` resolves.
pub async fn run(services: Services, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let scheduler = tokio::spawn(scheduler::run(services.clone()));
    let result = runtime::run_workers(services, shutdown).await;
    scheduler.abort();
    result
}

/// A worker process: builds the services, serves `/metrics` and `/healthz` on
/// `SWITCHBOARD_WORKER_LISTEN`, and runs until `shutdown` (SIGTERM).
pub async fn run_process(
    settings: Settings,
    overrides: Overrides,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !settings.is_embedded(),
        "switchboard-worker serves distributed mode (DATABASE_URL=postgres://…, REDIS_URL); \
         in embedded mode `switchboard serve` runs the workers itself"
    );
    let listen = settings.jobs.worker_listen;
    let metrics_token = settings.metrics_token.clone();
    let services = Services::build(settings, overrides).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("Failed to bind SWITCHBOARD_WORKER_LISTEN={listen}"))?;
    tracing::info!(%listen, "worker metrics on http://{listen}/metrics");
    tokio::spawn(http::serve(listener, telemetry::metrics_handle(), metrics_token));
    run(services, shutdown).await
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutdown signal received; letting in-flight jobs finish");
}
