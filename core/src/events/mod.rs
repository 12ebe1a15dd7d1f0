//! Run events: each run has an ordered log of [`RunEvent`]s (sequence numbers
//! from 1, the SSE `id:`), readable from any point (`since`) so a client that
//! reconnects with `Last-Event-ID` misses nothing, and published live to
//! watchers in every API process.
//!
//! - [`MemoryBus`]: embedded mode; the log lives in this process.
//! - [`RedisBus`]: distributed mode; the log is a Redis list per run (with a
//!   TTL) and events are published on one pub/sub channel per deployment.

mod memory;
mod redis;
mod watchers;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::runs::RunEvent;
pub use memory::MemoryBus;
pub use redis::RedisBus;
pub use watchers::{UserSignals, Watch};

/// One event of one run, as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub run_id: Uuid,
    pub seq: u64,
    pub event: RunEvent,
}

#[async_trait]
pub trait EventBus: Send + Sync + std::fmt::Debug {
    /// Appends `event` to the run's log and publishes it; returns its sequence number.
    async fn append(&self, run_id: Uuid, event: RunEvent) -> anyhow::Result<u64> {
        self.append_all(run_id, vec![event]).await
    }
    /// Appends several events in order, in one round trip; returns the last sequence number.
    async fn append_all(&self, run_id: Uuid, events: Vec<RunEvent>) -> anyhow::Result<u64>;
    /// The run's events after `after`, in order (empty once the log expired).
    async fn since(&self, run_id: Uuid, after: u64) -> anyhow::Result<Vec<(u64, RunEvent)>>;
    /// Live events of one run, from now on. Subscribe *before* reading `since`.
    fn watch(&self, run_id: Uuid) -> Watch;
    /// Tells every process that `user`'s catalog may have changed (a
    /// connector, a tool, a switch). Best effort: listeners also re-read on a
    /// slow timer.
    async fn catalog_changed(&self, user: &str);
    /// `user`'s catalog changes from now on.
    fn watch_catalog(&self, user: &str) -> broadcast::Receiver<()>;
}

pub type DynEventBus = Arc<dyn EventBus>;
