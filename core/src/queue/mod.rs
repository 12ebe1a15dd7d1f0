//! The job queues (apalis): Redis in distributed mode, a second SQLite file in
//! embedded mode (apalis cannot share the app's database file). This module is
//! the producer side used by the API; `switchboard-worker` consumes the same
//! queues through [`QueueBackend`].
//!
//! The queue is transport, the `runs` table is the truth: every push gets a
//! task id of its own (a run enqueued again really is queued again), a worker
//! acknowledges each task it took once it is done with it (whatever became of
//! the run), and the reconciler re-enqueues runs whose job was lost. So the
//! queue holds only what is waiting or in flight.
//!
//! - [`housekeeping`]: Redis acks, a stopping worker's release, and the janitor
//!   that removes what dead workers and earlier versions left behind.

pub mod housekeeping;
mod redis;
mod sqlite;
pub mod wake;

use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::jobs::RunKind;
pub use redis::RedisQueue;
pub use sqlite::SqliteQueue;

/// Queue tuning shared by producers and workers.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Prefix of every queue name (and, with Redis, of every key and channel).
    pub prefix: String,
    /// How often a worker proves it is alive.
    pub heartbeat: Duration,
    /// Heartbeats a worker may miss before its jobs go to another worker.
    pub missed_heartbeats: usize,
    /// Fallback poll of an idle worker (wake-ups on push make it rarely needed).
    pub poll_interval: Duration,
    /// Jobs fetched per poll.
    pub batch_size: usize,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            prefix: "switchboard".into(),
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 3,
            poll_interval: Duration::from_millis(20),
            batch_size: 4,
        }
    }
}

impl QueueSettings {
    /// The apalis queue name of `kind` (no `:`; apalis-redis uses it in key names).
    pub fn queue_name(&self, kind: RunKind) -> String {
        format!("{}.{}", self.prefix, kind.as_str())
    }
}

/// Where jobs go.
#[async_trait]
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    /// Pushes a job for run `run_id` onto `kind`'s queue, with a new task id.
    async fn enqueue(&self, kind: RunKind, run_id: Uuid) -> anyhow::Result<()>;
    /// Jobs waiting on `kind`'s queue (not yet picked up).
    async fn depth(&self, kind: RunKind) -> anyhow::Result<u64>;
    /// Whether the backend answers (for `/readyz`).
    async fn ping(&self) -> anyhow::Result<()>;
}

/// The concrete backend, for the workers that consume it.
#[derive(Debug, Clone)]
pub enum QueueBackend {
    Redis(RedisQueue),
    Sqlite(SqliteQueue),
}

impl QueueBackend {
    pub fn as_queue(&self) -> &dyn JobQueue {
        match self {
            Self::Redis(q) => q,
            Self::Sqlite(q) => q,
        }
    }

    /// Acknowledges task `task_id` of `kind`'s queue, taken by `worker`: its
    /// keys (rows) go. Idempotent.
    pub async fn ack(&self, kind: RunKind, task_id: &str, worker: &str) -> anyhow::Result<()> {
        match self {
            Self::Redis(q) => housekeeping::ack(q, kind, task_id, worker).await,
            Self::Sqlite(q) => q.ack(task_id).await,
        }
    }
}

/// A new apalis task id: one per push.
pub fn new_task_id() -> apalis_core::task::task_id::TaskId {
    apalis_core::task::task_id::TaskId::from_ulid(ulid::Ulid::generate())
}
