//! [`RunStore`] for [`SqlStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::sql::{SqlResultExt as _, on_db};
use super::{RunStore, SqlStore, StoreError, StoreResult};
use crate::domain::UserId;
use crate::runs::{RunRecord, RunStatus, Step};

const INSERT: &str = "insert into runs (id, owner, kind, status, connector_id, input, sealed_input, steps, result, \
    error_code, error_message, attempts, created_at, started_at, finished_at, updated_at, idempotency_key, \
    request_hash) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
const BY_KEY: &str = "select * from runs where owner = $1 and idempotency_key = $2";
const DISPATCH: &str = "update runs set dispatched_at = $2, updated_at = $2 where id = $1";
const GET: &str = "select * from runs where id = $1";
const START: &str = "update runs set status = 'running', attempts = attempts + 1, \
    started_at = coalesce(started_at, $2), updated_at = $2 \
    where id = $1 and status in ('queued', 'running') returning *";
const FINISH: &str = "update runs set status = $2, steps = $3, result = $4, error_code = $5, error_message = $6, \
    finished_at = $7, updated_at = $7, sealed_input = null where id = $1 and status in ('queued', 'running') \
    returning *";
const PRUNE: &str = "delete from runs where created_at < $1 and status in ('succeeded', 'failed')";

#[async_trait]
impl RunStore for SqlStore {
    async fn insert_run(&self, r: &RunRecord) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(INSERT)
            .bind(r.id)
            .bind(&r.owner)
            .bind(&r.kind)
            .bind(&r.status)
            .bind(r.connector_id)
            .bind(&r.input)
            .bind(&r.sealed_input)
            .bind(&r.steps)
            .bind(&r.result)
            .bind(&r.error_code)
            .bind(&r.error_message)
            .bind(r.attempts)
            .bind(r.created_at)
            .bind(r.started_at)
            .bind(r.finished_at)
            .bind(r.updated_at)
            .bind(&r.idempotency_key)
            .bind(&r.request_hash)
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to insert run")
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

    async fn mark_dispatched(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(DISPATCH).bind(id).bind(now).execute(pool).await.map(drop))
            .or_store("Failed to mark run dispatched")
    }

    async fn run_by_id(&self, id: Uuid) -> StoreResult<RunRecord> {
        on_db!(self, pool => sqlx::query_as(GET).bind(id).fetch_one(pool).await).or_store("Failed to load run")
    }

    async fn start_run(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<RunRecord>> {
        on_db!(self, pool => sqlx::query_as(START).bind(id).bind(now).fetch_optional(pool).await)
            .or_store("Failed to start run")
    }

    async fn finish_run(
        &self,
        id: Uuid,
        status: RunStatus,
        steps: &[Step],
        result: Option<&Value>,
        error: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>> {
        on_db!(self, pool => sqlx::query_as(FINISH)
            .bind(id)
            .bind(status.as_str())
            .bind(Json(steps))
            .bind(result.map(Json))
            .bind(error.map(|e| e.0))
            .bind(error.map(|e| e.1))
            .bind(now)
            .fetch_optional(pool)
            .await)
        .or_store("Failed to finish run")
    }

    async fn prune_runs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        on_db!(self, pool => sqlx::query(PRUNE).bind(before).execute(pool).await.map(|d| d.rows_affected()))
            .or_store("Failed to prune runs")
    }
}
