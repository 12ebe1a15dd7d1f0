//! The embedded queue (apalis-sqlite), in its own SQLite file beside the app's.

use std::path::Path;

use anyhow::Context as _;
use apalis_core::backend::TaskSink as _;
use apalis_core::task::builder::TaskBuilder;
use apalis_sqlite::{Config, SqlitePool, SqliteStorage};
use async_trait::async_trait;
use uuid::Uuid;

use super::wake::{self, Wake, Wakes};
use super::{JobQueue, QueueSettings, new_task_id};
use crate::jobs::{RunJob, RunKind};

/// Producer handle on the SQLite queues; cheap to clone.
#[derive(Clone)]
pub struct SqliteQueue {
    pool: SqlitePool,
    settings: QueueSettings,
    /// Signalled on push: producers and workers share this process in embedded mode.
    wakes: Wakes,
}

impl std::fmt::Debug for SqliteQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQueue")
            .field("prefix", &self.settings.prefix)
            .finish()
    }
}

impl SqliteQueue {
    /// Opens (creating) the queue file and applies apalis's migrations.
    pub async fn open(path: &Path, settings: QueueSettings) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
        }
        let options = apalis_sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = apalis_sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(|| format!("Failed to open the SQLite queue {}", path.display()))?;
        SqliteStorage::setup(&pool)
            .await
            .context("Failed to set up the SQLite queue")?;
        // Nothing runs before this process's workers start: tasks that are not
        // pending were taken by an earlier process and are done with (runs
        // interrupted with them go back to the queue through the reconciler).
        sqlx::query("delete from Jobs where status <> 'Pending'")
            .execute(&pool)
            .await
            .context("Failed to clean the SQLite queue")?;
        Ok(Self {
            pool,
            settings,
            wakes: wake::wakes(),
        })
    }

    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The wake-up signal of `kind`'s workers.
    pub fn wake(&self, kind: RunKind) -> Wake {
        self.wakes[&kind].clone()
    }

    pub fn config(&self, kind: RunKind) -> Config {
        Config::default()
            .queue(self.settings.queue_name(kind))
            .heartbeat_interval(self.settings.heartbeat)
            .missed_heartbeats(self.settings.missed_heartbeats)
            .batch_size(self.settings.batch_size)
            .persist_results(false)
    }

    /// Deletes a task the worker is done with (apalis-sqlite keeps every one).
    pub async fn ack(&self, task_id: &str) -> anyhow::Result<()> {
        sqlx::query("delete from Jobs where id = $1")
            .bind(task_id)
            .execute(&self.pool)
            .await
            .context("Failed to acknowledge a task")?;
        Ok(())
    }

    pub fn storage(&self, kind: RunKind) -> SqliteStorage<RunJob> {
        SqliteStorage::new(&self.pool).with_config(self.config(kind))
    }
}

#[async_trait]
impl JobQueue for SqliteQueue {
    async fn enqueue(&self, kind: RunKind, run_id: Uuid) -> anyhow::Result<()> {
        let task = TaskBuilder::new(RunJob { run_id }).task_id(new_task_id()).build();
        self.storage(kind)
            .push_task(task)
            .await
            .context("Failed to enqueue job in SQLite")?;
        self.wakes[&kind].signal();
        Ok(())
    }

    async fn depth(&self, kind: RunKind) -> anyhow::Result<u64> {
        let (n,): (i64,) = sqlx::query_as("select count(*) from Jobs where job_type = $1 and status = 'Pending'")
            .bind(self.settings.queue_name(kind))
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }
}
