//! [`HealthStore`] for [`SqlStore`]: recording check outcomes and claiming
//! due checks so each connector is checked once per interval across processes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::sql::{Db, OwnerLock as _, SqlResultExt as _, on_db};
use super::{ConnectorRecord, HealthStore, SqlStore, StoreResult};
use crate::domain::ToolPins;

/// Consecutive failed checks after which an active connector is `degraded`.
pub const DEGRADED_AFTER: i32 = 3;

const CHECK_OK: &str = "update connectors set tools = $2, tools_discovered_at = $3, consecutive_failures = 0, \
    state = 'active', last_test_status = 'ok', last_error_code = $4, updated_at = $3, \
    tool_pins = $5, changes_pending = $6, pins_rev = pins_rev + 1 where id = $1 and pins_rev = $7 returning *";
/// A passed check that found the tools as last time: health only.
const CHECK_OK_SAME_TOOLS: &str = "update connectors set tools_discovered_at = $2, consecutive_failures = 0, \
    state = 'active', last_test_status = 'ok', last_error_code = $3, updated_at = $2 \
    where id = $1 and pins_rev = $4 returning *";
const CHECK_FAILED: &str = "update connectors set consecutive_failures = consecutive_failures + 1, \
    state = case when $3 = 'AUTH_REQUIRED' then 'needs_authorization' \
    when state = 'active' and consecutive_failures + 1 >= $2 then 'degraded' else state end, \
    last_test_status = 'failed', last_error_code = $3, updated_at = $4 where id = $1 returning *";
const CLAIM_PG: &str = "update connectors set next_check_at = $2 where id in (select id from connectors \
    where enabled and next_check_at <= $1 order by next_check_at limit $3 for update skip locked) \
    returning id, owner";
const CLAIM_SQLITE: &str = "update connectors set next_check_at = $2 where id in (select id from connectors \
    where enabled and next_check_at <= $1 order by next_check_at limit $3) returning id, owner";
const DEGRADED: &str = "select count(*) from connectors where enabled and state = 'degraded'";

#[async_trait]
impl HealthStore for SqlStore {
    async fn record_check_ok(
        &self,
        id: Uuid,
        rev: i32,
        pins: Option<&ToolPins>,
        warning: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ConnectorRecord>> {
        let Some(pins) = pins else {
            return on_db!(self, pool => sqlx::query_as(CHECK_OK_SAME_TOOLS)
                .bind(id)
                .bind(now)
                .bind(warning)
                .bind(rev)
                .fetch_optional(pool)
                .await)
            .or_store("Failed to record a passed check");
        };
        on_db!(self, pool => sqlx::query_as(CHECK_OK)
            .bind(id)
            .bind(Json(pins.served()))
            .bind(now)
            .bind(warning)
            .bind(Json(pins))
            .bind(super::connectors::pending(pins))
            .bind(rev)
            .fetch_optional(pool)
            .await)
        .or_store("Failed to record a passed check")
    }

    async fn record_check_failed(
        &self,
        id: Uuid,
        code: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ConnectorRecord>> {
        on_db!(self, pool => sqlx::query_as(CHECK_FAILED)
            .bind(id)
            .bind(DEGRADED_AFTER)
            .bind(code)
            .bind(now)
            .fetch_optional(pool)
            .await)
        .or_store("Failed to record a failed check")
    }

    async fn claim_due_checks(
        &self,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, String)>> {
        let limit = i64::from(limit);
        let sql = match &self.db {
            Db::Postgres(_) => CLAIM_PG,
            Db::Sqlite(_) => CLAIM_SQLITE,
        };
        on_db!(self, pool => {
            // SQLite has one writer: an immediate transaction makes the claim atomic.
            let mut tx = pool.begin_for_owner("").await.or_store("Failed to begin claim")?;
            let claimed = sqlx::query_as(sql)
                .bind(now)
                .bind(next)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await
                .or_store("Failed to claim due checks")?;
            tx.commit().await.or_store("Failed to commit claim")?;
            Ok(claimed)
        })
    }

    async fn degraded_count(&self) -> StoreResult<i64> {
        let (n,): (i64,) = on_db!(self, pool => sqlx::query_as(DEGRADED).fetch_one(pool).await)
            .or_store("Failed to count degraded connectors")?;
        Ok(n)
    }
}
