//! [`InvocationStore`] for [`SqlStore`]: the log of tool calls.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::sql::{SqlResultExt as _, on_db};
use super::{InvocationRecord, InvocationStore, SqlStore, StoreResult};
use crate::domain::UserId;

const INSERT: &str = "insert into invocations (id, owner, run_id, source_kind, connector_id, system_tool, tool_name, \
    catalog_name, outcome, error_code, attempts, duration_ms, created_at, updated_at) \
    values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)";
const SINCE: &str = "select * from invocations where owner = $1 and created_at >= $2 order by created_at limit $3";
const PRUNE: &str = "delete from invocations where created_at < $1";

#[async_trait]
impl InvocationStore for SqlStore {
    async fn record_invocation(&self, r: &InvocationRecord) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(INSERT)
            .bind(r.id)
            .bind(&r.owner)
            .bind(r.run_id)
            .bind(&r.source_kind)
            .bind(r.connector_id)
            .bind(&r.system_tool)
            .bind(&r.tool_name)
            .bind(&r.catalog_name)
            .bind(&r.outcome)
            .bind(&r.error_code)
            .bind(r.attempts)
            .bind(r.duration_ms)
            .bind(r.created_at)
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to record an invocation")
    }

    async fn invocations(
        &self,
        owner: &UserId,
        since: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<InvocationRecord>> {
        on_db!(self, pool => sqlx::query_as(SINCE).bind(owner.as_str()).bind(since).bind(i64::from(limit)).fetch_all(pool).await)
            .or_store("Failed to list invocations")
    }

    async fn prune_invocations(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        on_db!(self, pool => sqlx::query(PRUNE).bind(before).execute(pool).await.map(|d| d.rows_affected()))
            .or_store("Failed to prune invocations")
    }
}
