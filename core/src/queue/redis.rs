//! The Redis queue (apalis-redis), on two connections: the *command*
//! connection (enqueue, queue depth, rate limits, run events) answers within
//! a response timeout, so a stalled Redis is an error for the API, not a
//! hang; the *consumer* connection that apalis's workers fetch on has none
//! (a slow fetch must not stop a busy worker).

use std::time::Duration;

use anyhow::Context as _;
use apalis_core::backend::TaskSink as _;
use apalis_core::task::builder::TaskBuilder;
use apalis_redis::{Config, ConnectionManager, RedisStorage};
use async_trait::async_trait;
use redis::aio::ConnectionManagerConfig;
use uuid::Uuid;

use super::wake::{self, Wake, Wakes};
use super::{JobQueue, QueueSettings, new_task_id};
use crate::jobs::{RunJob, RunKind};
use crate::secret::Secret;

/// Producer handle on the Redis queues; cheap to clone.
#[derive(Clone)]
pub struct RedisQueue {
    /// Commands that must answer quickly (with a response timeout).
    conn: ConnectionManager,
    /// apalis's fetches (no response timeout).
    consumer: ConnectionManager,
    client: redis::Client,
    settings: QueueSettings,
    /// Signalled by [`Self::listen_for_pushes`] when a job is pushed, by any process.
    wakes: Wakes,
}

impl std::fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("prefix", &self.settings.prefix)
            .finish()
    }
}

impl RedisQueue {
    /// Connects both connections; commands time out after `response_timeout`.
    pub async fn connect(url: &Secret, settings: QueueSettings, response_timeout: Duration) -> anyhow::Result<Self> {
        let client = redis::Client::open(url.expose()).context("REDIS_URL is not a valid Redis URL")?;
        let config = |timeout| {
            ConnectionManagerConfig::new()
                .set_response_timeout(timeout)
                .set_connection_timeout(Some(Duration::from_secs(5)))
        };
        let conn = client
            .get_connection_manager_with_config(config(Some(response_timeout)))
            .await
            .context("Failed to connect to Redis (REDIS_URL)")?;
        // apalis's default 500 ms response timeout can stop a busy worker: none here.
        let consumer = client
            .get_connection_manager_with_config(config(None))
            .await
            .context("Failed to connect to Redis (REDIS_URL)")?;
        Ok(Self {
            conn,
            consumer,
            client,
            settings,
            wakes: wake::wakes(),
        })
    }

    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// The command connection (with a response timeout).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The apalis configuration of `kind`'s queue. Results are not persisted,
    /// tasks not locked and no events emitted: the worker acknowledges each
    /// task itself ([`super::housekeeping::ack`]) and the run's lease in the
    /// database is the lock. apalis-redis keeps worker heartbeats in whole
    /// seconds; a worker silent for `missed_heartbeats` of them has its tasks
    /// moved to the others (the database leases keep that from running a call twice).
    pub fn config(&self, kind: RunKind) -> Config {
        Config::default()
            .queue(self.settings.queue_name(kind))
            .heartbeat_interval(self.settings.heartbeat)
            .missed_heartbeats(self.settings.missed_heartbeats)
            .batch_size(self.settings.batch_size)
            .persist_results(false)
            .lock_tasks(false)
            .emit_events(false)
    }

    /// The pub/sub channel announcing pushes to `kind`'s queue. (apalis-redis
    /// 1.0 pushes every task onto its scheduled set, whose promotion publishes
    /// nothing, so workers would only learn of it at their next poll.)
    fn pushed_channel(&self, kind: RunKind) -> String {
        format!("{}:pushed:{}", self.settings.prefix, kind.as_str())
    }

    /// Starts this process's wake-up listener for every queue.
    pub async fn listen_for_pushes(&self) -> anyhow::Result<()> {
        let channels = RunKind::ALL
            .into_iter()
            .map(|kind| (self.pushed_channel(kind), kind))
            .collect();
        wake::listen_redis(self.client.clone(), channels, self.wakes.clone()).await
    }

    /// The wake-up signal of `kind`'s workers (live once [`Self::listen_for_pushes`] ran).
    pub fn wake(&self, kind: RunKind) -> Wake {
        self.wakes[&kind].clone()
    }

    /// The queue as apalis's workers consume it (no response timeout).
    pub fn storage(&self, kind: RunKind) -> RedisStorage<RunJob, ConnectionManager> {
        RedisStorage::new(self.consumer.clone()).with_config(self.config(kind))
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    async fn enqueue(&self, kind: RunKind, run_id: Uuid) -> anyhow::Result<()> {
        let task = TaskBuilder::new(RunJob { run_id }).task_id(new_task_id()).build();
        RedisStorage::<RunJob, _>::new(self.conn.clone())
            .with_config(self.config(kind))
            .push_task(task)
            .await
            .context("Failed to enqueue job in Redis")?;
        let mut conn = self.conn.clone();
        let woken: Result<i64, _> = redis::cmd("PUBLISH")
            .arg(self.pushed_channel(kind))
            .arg(1)
            .query_async(&mut conn)
            .await;
        if let Err(e) = woken {
            // The job is queued; idle workers find it at their next poll.
            tracing::warn!(error = %e, "failed to announce a pushed job");
        }
        Ok(())
    }

    /// Tasks waiting: pushed ones sit in the scheduled set until a worker's
    /// fetch promotes them to the active list.
    async fn depth(&self, kind: RunKind) -> anyhow::Result<u64> {
        let mut conn = self.conn.clone();
        let config = self.config(kind);
        let (active, scheduled): (u64, u64) = redis::pipe()
            .cmd("LLEN")
            .arg(config.active_jobs_list())
            .cmd("ZCARD")
            .arg(config.scheduled_jobs_set())
            .query_async(&mut conn)
            .await?;
        Ok(active + scheduled)
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}
