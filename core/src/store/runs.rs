//! [`RunStore`] for [`SqlStore`]: runs, their leases and the per-user caps.
//!
//! A worker takes a run with a lease (`start_run`: a queued run, or a running
//! one whose lease expired); dispatching a call and finishing are
//! compare-and-sets on that lease, so a worker whose lease was taken over can
//! neither send nor record. Admission counts the owner's queued and running
//! runs of the kind under the owner's lock, so the cap holds under concurrency.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::sql::{OwnerLock as _, SqlResultExt as _, on_db};
use super::{Admission, FinishGuard, MaintenanceStore, RunFilter, RunStore, SqlStore, StoreError, StoreResult};
use crate::domain::UserId;
use crate::runs::{RunRecord, RunStatus, Step};

const INSERT: &str = "insert into runs (id, owner, kind, status, connector_id, input, sealed_input, steps, result, \
    error_code, error_message, attempts, created_at, started_at, finished_at, updated_at, idempotency_key, \
    request_hash, enqueued_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
    $18, $19)";
const COUNT_IN: &str = "select count(*) from runs where owner = $1 and kind = $2 and status = $3";
const COUNT_ACTIVE: &str =
    "select count(*) from runs where owner = $1 and kind = $2 and status in ('queued', 'running')";
const PROMOTE: &str = "update runs set status = 'queued', enqueued_at = $3, updated_at = $3 where id = \
    (select id from runs where owner = $1 and kind = $2 and status = 'waiting' order by created_at, id limit 1) \
    and status = 'waiting' returning *";
const BY_KEY: &str = "select * from runs where owner = $1 and idempotency_key = $2";
const GET: &str = "select * from runs where id = $1";
/// A queued run, or a running one whose holder stopped renewing.
const START: &str = "update runs set status = 'running', attempts = attempts + 1, \
    started_at = coalesce(started_at, $2), updated_at = $2, lease_owner = $3, lease_until = $4 \
    where id = $1 and (status = 'queued' or (status = 'running' and (lease_until is null or lease_until < $2))) \
    returning *";
const RENEW: &str = "update runs set lease_until = $3 where id = $1 and lease_owner = $2 and status = 'running'";
const DISPATCH: &str = "update runs set dispatched_at = $3, updated_at = $3 \
    where id = $1 and lease_owner = $2 and status = 'running' and lease_until > $3";
/// Ends a run. A failed run whose call was never dispatched gives its
/// idempotency key back, so a retry with the same key runs anew.
const FINISH_SET: &str = "update runs set status = $2, steps = $3, result = $4, error_code = $5, error_message = $6, \
    finished_at = $7, updated_at = $7, sealed_input = null, lease_owner = null, lease_until = null, \
    idempotency_key = case when $2 = 'failed' and dispatched_at is null then null else idempotency_key end \
    where id = $1";
const BY_LEASE: &str = " and status = 'running' and lease_owner = $8 returning *";
const IF_ABANDONED: &str = " and ((status = 'running' and (lease_until is null or lease_until < $8)) \
    or status in ('queued', 'waiting', 'awaiting_approval')) returning *";
const IF_UNFINISHED: &str = " and status in ('queued', 'waiting', 'running', 'awaiting_approval') returning *";
const REQUEUE: &str = "update runs set status = 'queued', lease_owner = null, lease_until = null, enqueued_at = $2, \
    requeues = requeues + 1, updated_at = $2 where id = $1 and \
    ((status = 'running' and (lease_until is null or lease_until < $2)) or (status = 'queued' and enqueued_at < $3)) \
    returning *";
const STALE: &str = "select * from runs where (status = 'running' and (lease_until is null or lease_until < $1)) \
    or (status = 'queued' and (enqueued_at is null or enqueued_at < $2)) order by updated_at limit $3";
const WAITING_OWNERS: &str = "select distinct owner, kind from runs where status = 'waiting' limit $1";
const LIST: &str = "select * from runs where owner = $1 and ($2 is null or kind = $2) \
    and ($3 is null or connector_id = $3) and ($4 is null or status = $4) and ($5 is null or id < $5) \
    order by id desc limit $6";
const PRUNE: &str = "delete from runs where created_at < $1 and status in ('succeeded', 'failed')";
const CLAIM: &str = "update maintenance_claims set next_at = $3, updated_at = $2 where name = $1 and next_at <= $2";
const CLAIM_FIRST: &str = "insert into maintenance_claims (name, next_at, created_at, updated_at) \
    values ($1, $3, $2, $2) on conflict (name) do nothing";

macro_rules! bind_insert {
    ($r:expr, $status:expr, $enqueued:expr) => {
        sqlx::query(INSERT)
            .bind($r.id)
            .bind(&$r.owner)
            .bind(&$r.kind)
            .bind($status)
            .bind($r.connector_id)
            .bind(&$r.input)
            .bind(&$r.sealed_input)
            .bind(&$r.steps)
            .bind(&$r.result)
            .bind(&$r.error_code)
            .bind(&$r.error_message)
            .bind($r.attempts)
            .bind($r.created_at)
            .bind($r.started_at)
            .bind($r.finished_at)
            .bind($r.updated_at)
            .bind(&$r.idempotency_key)
            .bind(&$r.request_hash)
            .bind($enqueued)
    };
}

#[async_trait]
impl RunStore for SqlStore {
    async fn insert_run(&self, r: &RunRecord) -> StoreResult<()> {
        on_db!(self, pool => bind_insert!(r, &r.status, r.enqueued_at).execute(pool).await.map(drop))
            .or_store("Failed to insert run")
    }

    async fn admit_run(&self, r: &RunRecord, cap: u32, backlog: u32) -> StoreResult<Admission> {
        on_db!(self, pool => {
            let mut tx = pool.begin_for_owner(&r.owner).await.or_store("Failed to begin admission")?;
            let status = if cap == 0 {
                RunStatus::Queued
            } else {
                let (active,): (i64,) = sqlx::query_as(COUNT_ACTIVE)
                    .bind(&r.owner)
                    .bind(&r.kind)
                    .fetch_one(&mut *tx)
                    .await
                    .or_store("Failed to count running jobs")?;
                if active < i64::from(cap) {
                    RunStatus::Queued
                } else {
                    let (waiting,): (i64,) = sqlx::query_as(COUNT_IN)
                        .bind(&r.owner)
                        .bind(&r.kind)
                        .bind(RunStatus::Waiting.as_str())
                        .fetch_one(&mut *tx)
                        .await
                        .or_store("Failed to count waiting runs")?;
                    if waiting >= i64::from(backlog) {
                        return Ok(Admission::Refused);
                    }
                    RunStatus::Waiting
                }
            };
            let enqueued = (status == RunStatus::Queued).then_some(r.created_at);
            bind_insert!(r, status.as_str(), enqueued)
                .execute(&mut *tx)
                .await
                .or_store("Failed to insert run")?;
            tx.commit().await.or_store("Failed to commit admission")?;
            Ok(match status {
                RunStatus::Queued => Admission::Queued,
                _ => Admission::Waiting,
            })
        })
    }

    async fn promote_waiting(
        &self,
        owner: &str,
        kind: &str,
        cap: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>> {
        on_db!(self, pool => {
            let mut tx = pool.begin_for_owner(owner).await.or_store("Failed to begin promotion")?;
            if cap > 0 {
                let (active,): (i64,) = sqlx::query_as(COUNT_ACTIVE)
                    .bind(owner)
                    .bind(kind)
                    .fetch_one(&mut *tx)
                    .await
                    .or_store("Failed to count running jobs")?;
                if active >= i64::from(cap) {
                    return Ok(None);
                }
            }
            let promoted = sqlx::query_as(PROMOTE)
                .bind(owner)
                .bind(kind)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .or_store("Failed to promote a waiting run")?;
            tx.commit().await.or_store("Failed to commit promotion")?;
            Ok(promoted)
        })
    }

    async fn owners_waiting(&self, limit: u32) -> StoreResult<Vec<(String, String)>> {
        on_db!(self, pool => sqlx::query_as(WAITING_OWNERS).bind(i64::from(limit)).fetch_all(pool).await)
            .or_store("Failed to list waiting runs")
    }

    async fn run(&self, owner: &UserId, id: Uuid) -> StoreResult<RunRecord> {
        // By primary key only, owner checked here: with `owner = $1 and id = $2`
        // PostgreSQL's cached generic plan was seen scanning `runs_owner_created`
        // (every run of the owner) instead of the key.
        let run = self.run_by_id(id).await?;
        if run.owner == owner.as_str() {
            Ok(run)
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn run_by_idempotency_key(&self, owner: &UserId, key: &str) -> StoreResult<RunRecord> {
        on_db!(self, pool => sqlx::query_as(BY_KEY).bind(owner.as_str()).bind(key).fetch_one(pool).await)
            .or_store("Failed to load run by idempotency key")
    }

    async fn run_by_id(&self, id: Uuid) -> StoreResult<RunRecord> {
        on_db!(self, pool => sqlx::query_as(GET).bind(id).fetch_one(pool).await).or_store("Failed to load run")
    }

    async fn start_run(
        &self,
        id: Uuid,
        lease: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>> {
        on_db!(self, pool => sqlx::query_as(START).bind(id).bind(now).bind(lease).bind(until).fetch_optional(pool).await)
            .or_store("Failed to start run")
    }

    async fn renew_lease(&self, id: Uuid, lease: &str, until: DateTime<Utc>) -> StoreResult<bool> {
        on_db!(self, pool => sqlx::query(RENEW).bind(id).bind(lease).bind(until).execute(pool).await.map(|d| d.rows_affected() == 1))
            .or_store("Failed to renew a run's lease")
    }

    async fn mark_dispatched(&self, id: Uuid, lease: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        on_db!(self, pool => sqlx::query(DISPATCH).bind(id).bind(lease).bind(now).execute(pool).await.map(|d| d.rows_affected() == 1))
            .or_store("Failed to mark run dispatched")
    }

    async fn finish_run(
        &self,
        id: Uuid,
        guard: FinishGuard<'_>,
        status: RunStatus,
        steps: &[Step],
        result: Option<&Value>,
        error: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>> {
        let condition = match guard {
            FinishGuard::Lease(_) => BY_LEASE,
            FinishGuard::Abandoned => IF_ABANDONED,
            FinishGuard::Unfinished => IF_UNFINISHED,
        };
        let sql = sqlx::AssertSqlSafe(format!("{FINISH_SET}{condition}"));
        on_db!(self, pool => {
            let query = sqlx::query_as(sql)
                .bind(id)
                .bind(status.as_str())
                .bind(Json(steps))
                .bind(result.map(Json))
                .bind(error.map(|e| e.0))
                .bind(error.map(|e| e.1))
                .bind(now);
            match guard {
                FinishGuard::Lease(lease) => query.bind(lease).fetch_optional(pool).await,
                FinishGuard::Abandoned => query.bind(now).fetch_optional(pool).await,
                FinishGuard::Unfinished => query.fetch_optional(pool).await,
            }
        })
        .or_store("Failed to finish run")
    }

    async fn requeue_run(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        queued_before: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>> {
        on_db!(self, pool => sqlx::query_as(REQUEUE).bind(id).bind(now).bind(queued_before).fetch_optional(pool).await)
            .or_store("Failed to requeue run")
    }

    async fn stale_runs(
        &self,
        now: DateTime<Utc>,
        queued_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<RunRecord>> {
        on_db!(self, pool => sqlx::query_as(STALE).bind(now).bind(queued_before).bind(i64::from(limit)).fetch_all(pool).await)
            .or_store("Failed to list stale runs")
    }

    async fn ended_runs(&self, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        let mut ended = Vec::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = sqlx::AssertSqlSafe(format!(
                "select id from runs where status in ('succeeded', 'failed') and id in ({})",
                marks.join(", ")
            ));
            let found: Vec<(Uuid,)> = on_db!(self, pool => {
                let mut query = sqlx::query_as(sql);
                for id in chunk {
                    query = query.bind(*id);
                }
                query.fetch_all(pool).await
            })
            .or_store("Failed to read run statuses")?;
            ended.extend(found.into_iter().map(|(id,)| id));
        }
        Ok(ended)
    }

    async fn prune_runs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        on_db!(self, pool => sqlx::query(PRUNE).bind(before).execute(pool).await.map(|d| d.rows_affected()))
            .or_store("Failed to prune runs")
    }

    async fn list_runs(
        &self,
        owner: &UserId,
        filter: &RunFilter,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<RunRecord>> {
        on_db!(self, pool => sqlx::query_as(LIST)
            .bind(owner.as_str())
            .bind(filter.kind.as_deref())
            .bind(filter.connector_id)
            .bind(filter.status.map(RunStatus::as_str))
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)
        .or_store("Failed to list runs")
    }
}

#[async_trait]
impl MaintenanceStore for SqlStore {
    async fn claim_maintenance(&self, name: &str, now: DateTime<Utc>, next: DateTime<Utc>) -> StoreResult<bool> {
        let created = on_db!(self, pool => sqlx::query(CLAIM_FIRST).bind(name).bind(now).bind(next).execute(pool).await.map(|d| d.rows_affected() == 1))
            .or_store("Failed to create a maintenance claim")?;
        if created {
            return Ok(true);
        }
        on_db!(self, pool => sqlx::query(CLAIM).bind(name).bind(now).bind(next).execute(pool).await.map(|d| d.rows_affected() == 1))
            .or_store("Failed to claim maintenance")
    }
}
