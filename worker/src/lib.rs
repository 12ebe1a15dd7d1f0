//! # switchboard-worker
//!
//! Job handlers and the `switchboard-worker` binary (distributed mode: any
//! number of processes). The API links this crate to run the same workers
//! in-process in embedded mode.
//!
//! # Layout
//! - [`runtime`]: the apalis workers, one per queue.
//! - [`handlers`]: what a job does (`ConnectionTest`, `DiscoverTools`).
//! - [`progress`]: step updates → run events.
//! - [`scheduler`]: due health checks, run pruning, gauges and heartbeats.
//! - [`http`]: the worker's own `/metrics` and `/healthz`.
//! - [`metrics`]: metric names.
#![forbid(unsafe_code)]

pub mod handlers;
pub mod http;
pub mod metrics;
pub mod progress;
pub mod runtime;
pub mod scheduler;

use std::future::Future;

use switchboard_core::services::Services;

/// Runs the queue workers and the scheduler until `shutdown` resolves.
pub async fn run(services: Services, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let scheduler = tokio::spawn(scheduler::run(services.clone()));
    let result = runtime::run_workers(services, shutdown).await;
    scheduler.abort();
    result
}
