//! [`AuditStore`] for [`SqlStore`]: the append-only audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql::{SqlResultExt as _, on_db};
use super::{AuditRecord, AuditStore, SqlStore, StoreResult};
use crate::domain::UserId;

const INSERT: &str = "insert into audit_events (id, owner, actor, kind, object, summary, created_at) \
    values ($1, $2, $3, $4, $5, $6, $7)";
const NEWEST: &str = "select * from audit_events where owner = $1 order by id desc limit $2";
const OLDER: &str = "select * from audit_events where owner = $1 and id < $2 order by id desc limit $3";
const PRUNE: &str = "delete from audit_events where created_at < $1";

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_audit(&self, r: &AuditRecord) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(INSERT)
            .bind(r.id)
            .bind(&r.owner)
            .bind(&r.actor)
            .bind(&r.kind)
            .bind(&r.object)
            .bind(&r.summary)
            .bind(r.created_at)
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to record an audit event")
    }

    async fn audit_events(&self, owner: &UserId, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        let limit = i64::from(limit);
        on_db!(self, pool => match before {
            None => sqlx::query_as(NEWEST).bind(owner.as_str()).bind(limit).fetch_all(pool).await,
            Some(before) => sqlx::query_as(OLDER).bind(owner.as_str()).bind(before).bind(limit).fetch_all(pool).await,
        })
        .or_store("Failed to list audit events")
    }

    async fn prune_audit(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        on_db!(self, pool => sqlx::query(PRUNE).bind(before).execute(pool).await.map(|d| d.rows_affected()))
            .or_store("Failed to prune the audit log")
    }
}
