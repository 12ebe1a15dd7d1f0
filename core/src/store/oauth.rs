//! [`OAuthStore`] for [`SqlStore`]: authorizations in progress and issued grants.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::records::{OAuthFlowRecord, OAuthGrantRecord};
use super::sql::{SqlResultExt as _, on_db};
use super::{OAuthStore, SqlStore, StoreResult};

const INSERT_FLOW: &str = "insert into oauth_flows (state_hash, owner, target, browser_hash, pending, expires_at, \
    created_at) values ($1, $2, $3, $4, $5, $6, $7)";
const TAKE_FLOW: &str = "delete from oauth_flows where state_hash = $1 returning *";
const PRUNE_FLOWS: &str = "delete from oauth_flows where expires_at < $1";
const PUT_GRANT: &str = "insert into oauth_grants (owner, target, issuer, grant_data, lease_until, created_at, \
    updated_at) values ($1, $2, $3, $4, null, $5, $5) on conflict (owner, target) do update set \
    issuer = excluded.issuer, grant_data = excluded.grant_data, updated_at = excluded.updated_at";
const GRANT: &str = "select * from oauth_grants where owner = $1 and target = $2";
const DELETE_GRANT: &str = "delete from oauth_grants where owner = $1 and target = $2 returning *";
const LEASE: &str = "update oauth_grants set lease_until = $3 where owner = $1 and target = $2 \
    and (lease_until is null or lease_until < $4)";
const RELEASE: &str = "update oauth_grants set lease_until = null where owner = $1 and target = $2";

#[async_trait]
impl OAuthStore for SqlStore {
    async fn insert_oauth_flow(&self, r: &OAuthFlowRecord) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(INSERT_FLOW)
            .bind(&r.state_hash)
            .bind(&r.owner)
            .bind(&r.target)
            .bind(&r.browser_hash)
            .bind(&r.pending)
            .bind(r.expires_at)
            .bind(r.created_at)
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to save an OAuth flow")
    }

    async fn take_oauth_flow(&self, state_hash: &str) -> StoreResult<Option<OAuthFlowRecord>> {
        on_db!(self, pool => sqlx::query_as(TAKE_FLOW).bind(state_hash).fetch_optional(pool).await)
            .or_store("Failed to take an OAuth flow")
    }

    async fn prune_oauth_flows(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        on_db!(self, pool => sqlx::query(PRUNE_FLOWS).bind(now).execute(pool).await.map(|d| d.rows_affected()))
            .or_store("Failed to prune OAuth flows")
    }

    async fn put_oauth_grant(&self, r: &OAuthGrantRecord) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(PUT_GRANT)
            .bind(&r.owner)
            .bind(&r.target)
            .bind(&r.issuer)
            .bind(&r.grant_data)
            .bind(r.updated_at)
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to save an OAuth grant")
    }

    async fn oauth_grant(&self, owner: &str, target: &str) -> StoreResult<Option<OAuthGrantRecord>> {
        on_db!(self, pool => sqlx::query_as(GRANT).bind(owner).bind(target).fetch_optional(pool).await)
            .or_store("Failed to read an OAuth grant")
    }

    async fn delete_oauth_grant(&self, owner: &str, target: &str) -> StoreResult<Option<OAuthGrantRecord>> {
        on_db!(self, pool => sqlx::query_as(DELETE_GRANT).bind(owner).bind(target).fetch_optional(pool).await)
            .or_store("Failed to delete an OAuth grant")
    }

    async fn lease_oauth_grant(
        &self,
        owner: &str,
        target: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let taken = on_db!(self, pool => sqlx::query(LEASE)
            .bind(owner)
            .bind(target)
            .bind(until)
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected()))
        .or_store("Failed to lease an OAuth grant")?;
        Ok(taken == 1)
    }

    async fn release_oauth_grant(&self, owner: &str, target: &str) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(RELEASE).bind(owner).bind(target).execute(pool).await.map(drop))
            .or_store("Failed to release an OAuth grant")
    }
}
