//! Keeping the Redis queues bounded. apalis-redis 1.0 never acknowledges a
//! task when results are not persisted (its data, its meta hash and its id in
//! the worker's in-flight set stay for ever), never removes a stopped worker's
//! registration, and a dead worker's in-flight set is its whole history. So:
//!
//! - [`ack`]: a worker removes every trace of a task it is done with.
//! - [`release`]: a stopping worker hands the tasks it fetched but did not run
//!   back to the queue and removes its registration.
//! - [`sweep`]: the janitor (one process per interval, and once at start-up for
//!   keys left by earlier versions) removes tasks whose run has ended, in-flight
//!   sets and registrations of workers that are gone, and promotes an overfull
//!   scheduled set in chunks (apalis's own promotion fails past ~8,000 ids).
//!
//! Every script removes an id from the lists and sets before its data (a
//! worker that fetches an id without data fails its whole batch), and works
//! in chunks (Lua's `unpack` fails past ~8,000 values).

use std::collections::HashSet;
use std::sync::LazyLock;

use anyhow::Context as _;
use redis::AsyncCommands as _;
use uuid::Uuid;

use super::RedisQueue;
use crate::jobs::{RunJob, RunKind};
use crate::store::Store;

/// KEYS: data, meta:{id}, inflight:{worker}, active, scheduled. ARGV: the task id.
static ACK: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local id = ARGV[1]
redis.call('SREM', KEYS[3], id)
redis.call('LREM', KEYS[4], 0, id)
redis.call('ZREM', KEYS[5], id)
redis.call('HDEL', KEYS[1], id)
redis.call('DEL', KEYS[2])
return 1
",
    )
});

/// KEYS: inflight:{worker}, data, active, workers, workers:metadata:{worker}.
/// ARGV: the worker name. Requeues at most 1,000 ids per call; returns how many
/// remain (call again until 0).
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local ids = redis.call('SRANDMEMBER', KEYS[1], 1000)
for _, id in ipairs(ids) do
    redis.call('SREM', KEYS[1], id)
    if redis.call('HEXISTS', KEYS[2], id) == 1 then
        redis.call('RPUSH', KEYS[3], id)
    end
end
local left = redis.call('SCARD', KEYS[1])
if left == 0 then
    redis.call('ZREM', KEYS[4], ARGV[1])
    redis.call('DEL', KEYS[5])
end
return left
",
    )
});

/// KEYS: scheduled, active. ARGV: now (unix seconds). Promotes due ids, 1,000 at a time.
static PROMOTE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], 0, ARGV[1], 'LIMIT', 0, 1000)
for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('RPUSH', KEYS[2], id)
end
return #ids
",
    )
});

/// Past this many due ids in a scheduled set the janitor promotes them itself.
const OVERFULL: u64 = 4000;
const SCAN_COUNT: usize = 500;

/// Removes every trace of task `task_id` of `kind`'s queue taken by `worker`.
pub async fn ack(queue: &RedisQueue, kind: RunKind, task_id: &str, worker: &str) -> anyhow::Result<()> {
    let config = queue.config(kind);
    let mut conn = queue.connection();
    ACK.key(config.job_data_hash())
        .key(format!("{}:{task_id}", config.job_meta_hash()))
        .key(format!("{}:{worker}", config.inflight_jobs_set()))
        .key(config.active_jobs_list())
        .key(config.scheduled_jobs_set())
        .arg(task_id)
        .invoke_async::<i64>(&mut conn)
        .await
        .context("Failed to acknowledge a task in Redis")?;
    Ok(())
}

/// A stopping worker: the tasks it fetched and did not finish go back to the
/// queue, and its registration goes.
pub async fn release(queue: &RedisQueue, kind: RunKind, worker: &str) -> anyhow::Result<()> {
    let config = queue.config(kind);
    let mut conn = queue.connection();
    loop {
        let left: i64 = RELEASE
            .key(format!("{}:{worker}", config.inflight_jobs_set()))
            .key(config.job_data_hash())
            .key(config.active_jobs_list())
            .key(config.workers_set())
            .key(format!(
                "{}:workers:metadata:{worker}",
                queue.settings().queue_name(kind)
            ))
            .arg(worker)
            .invoke_async(&mut conn)
            .await
            .context("Failed to release a stopping worker's tasks")?;
        if left == 0 {
            return Ok(());
        }
    }
}

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Tasks whose run had ended (or no longer exists).
    pub tasks: u64,
    /// In-flight sets and registrations of workers that are gone.
    pub workers: u64,
    /// Due ids promoted by the janitor.
    pub promoted: u64,
}

/// The janitor's pass over every queue (see the module doc).
pub async fn sweep(queue: &RedisQueue, store: &dyn Store) -> anyhow::Result<Swept> {
    let mut swept = Swept::default();
    for kind in RunKind::ALL {
        swept.workers += sweep_workers(queue, kind).await?;
        swept.tasks += sweep_tasks(queue, kind, store).await?;
        swept.promoted += promote_overfull(queue, kind).await?;
    }
    Ok(swept)
}

async fn scan(conn: &mut redis::aio::ConnectionManager, pattern: &str) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(conn)
            .await
            .context("Failed to scan Redis keys")?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// In-flight sets and metadata of workers no longer registered.
async fn sweep_workers(queue: &RedisQueue, kind: RunKind) -> anyhow::Result<u64> {
    let config = queue.config(kind);
    let mut conn = queue.connection();
    let live: HashSet<String> = conn
        .zrange::<_, Vec<String>>(config.workers_set(), 0, -1)
        .await
        .context("Failed to read the workers")?
        .into_iter()
        .collect();
    let inflight_prefix = format!("{}:", config.inflight_jobs_set());
    let metadata_prefix = format!("{}:workers:metadata:", queue.settings().queue_name(kind));
    let mut removed = 0;
    for key in scan(&mut conn, &format!("{inflight_prefix}*")).await? {
        let worker = key.trim_start_matches(&inflight_prefix);
        if !live.contains(worker) {
            release(queue, kind, worker).await?;
            removed += 1;
        }
    }
    for key in scan(&mut conn, &format!("{metadata_prefix}*")).await? {
        if !live.contains(key.trim_start_matches(&metadata_prefix)) {
            let _: i64 = conn.del(&key).await.context("Failed to delete worker metadata")?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Tasks of runs that have ended: a duplicate delivery nobody will take, or
/// what an earlier version never acknowledged.
async fn sweep_tasks(queue: &RedisQueue, kind: RunKind, store: &dyn Store) -> anyhow::Result<u64> {
    let config = queue.config(kind);
    let mut conn = queue.connection();
    let inflight_sets = scan(&mut conn, &format!("{}:*", config.inflight_jobs_set())).await?;
    let mut removed = 0;
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<(String, Vec<u8>)>) = redis::cmd("HSCAN")
            .arg(config.job_data_hash())
            .arg(cursor)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(&mut conn)
            .await
            .context("Failed to scan queued tasks")?;
        for (task_id, payload) in batch {
            let run_id = serde_json::from_slice::<RunJob>(&payload).ok().map(|j| j.run_id);
            if !ended(store, run_id).await? {
                continue;
            }
            let mut pipe = redis::pipe();
            pipe.atomic()
                .lrem(config.active_jobs_list(), 0, &task_id)
                .zrem(config.scheduled_jobs_set(), &task_id);
            for set in &inflight_sets {
                pipe.srem(set, &task_id);
            }
            pipe.hdel(config.job_data_hash(), &task_id)
                .del(format!("{}:{task_id}", config.job_meta_hash()));
            pipe.query_async::<()>(&mut conn)
                .await
                .context("Failed to remove a finished task")?;
            removed += 1;
        }
        if next == 0 {
            return Ok(removed);
        }
        cursor = next;
    }
}

/// Whether a task's run has ended (or is gone, or the payload names none).
async fn ended(store: &dyn Store, run_id: Option<Uuid>) -> anyhow::Result<bool> {
    let Some(id) = run_id else { return Ok(true) };
    match store.run_by_id(id).await {
        Ok(run) => Ok(run.status().is_terminal()),
        Err(crate::store::StoreError::NotFound) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

async fn promote_overfull(queue: &RedisQueue, kind: RunKind) -> anyhow::Result<u64> {
    let config = queue.config(kind);
    let mut conn = queue.connection();
    let now = chrono::Utc::now().timestamp();
    let due: u64 = conn
        .zcount(config.scheduled_jobs_set(), 0, now)
        .await
        .context("Failed to count scheduled tasks")?;
    if due <= OVERFULL {
        return Ok(0);
    }
    let mut promoted = 0;
    loop {
        let moved: u64 = PROMOTE
            .key(config.scheduled_jobs_set())
            .key(config.active_jobs_list())
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .context("Failed to promote scheduled tasks")?;
        promoted += moved;
        if moved < 1000 {
            return Ok(promoted);
        }
    }
}
