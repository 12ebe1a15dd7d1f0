//! [`ConnectorStore`] for [`SqlStore`].

use async_trait::async_trait;
use uuid::Uuid;

use super::Json;
use super::records::now;
use super::sql::{OwnerLock as _, SqlResultExt as _, on_db};
use super::{ConnectorRecord, ConnectorStore, SqlStore, StoreError, StoreResult};
use crate::domain::ToolPins;
use crate::domain::UserId;

const INSERT: &str = "insert into connectors (id, owner, name, name_key, description, server_url, auth_type, \
    auth_configured, auth_hint, credentials, headers, header_names, enabled, state, tools, tools_discovered_at, \
    last_test_status, last_error_code, consecutive_failures, next_check_at, created_at, updated_at, tool_pins, \
    tool_policy) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
    $21, $22, $23, $24)";
const COUNT_FOR_OWNER: &str = "select count(*) from connectors where owner = $1";
/// Lists leave out the sealed columns: nothing that lists needs them.
const LIST: &str = "select id, owner, name, name_key, description, server_url, auth_type, auth_configured, \
    auth_hint, header_names, enabled, tool_policy, state, tools, changes_pending, tools_discovered_at, last_test_status, last_error_code, \
    consecutive_failures, next_check_at, created_at, updated_at from connectors where owner = $1 \
    order by created_at, id";
const GET: &str = "select * from connectors where owner = $1 and id = $2";
const UPDATE: &str = "update connectors set name = $3, name_key = $4, description = $5, server_url = $6, \
    auth_type = $7, auth_configured = $8, auth_hint = $9, credentials = $10, headers = $11, header_names = $12, \
    enabled = $13, updated_at = $14 where owner = $1 and id = $2";
/// Update after a fresh successful test: the edited fields plus the new tool snapshot and health.
const UPDATE_VERIFIED: &str = "update connectors set name = $3, name_key = $4, description = $5, server_url = $6, \
    auth_type = $7, auth_configured = $8, auth_hint = $9, credentials = $10, headers = $11, header_names = $12, \
    enabled = $13, updated_at = $14, tools = $15, tools_discovered_at = $16, state = $17, consecutive_failures = $18, \
    last_test_status = $19, last_error_code = $20, next_check_at = $21, tool_pins = $22, changes_pending = 0, \
    pins_rev = pins_rev + 1 where owner = $1 and id = $2";
/// Writes reviewed pins and the tools they serve, if no one wrote pins since `rev`.
const PUT_PINS: &str = "update connectors set tools = $3, tool_pins = $4, changes_pending = $5, \
    pins_rev = pins_rev + 1, updated_at = $6 where owner = $1 and id = $2 and pins_rev = $7 returning *";
const SET_ENABLED: &str = "update connectors set enabled = coalesce($3, not enabled), updated_at = $4 where owner = $1 and id = $2 returning *";
const DELETE: &str = "delete from connectors where owner = $1 and id = $2";

#[async_trait]
impl ConnectorStore for SqlStore {
    async fn insert_connector(&self, r: &ConnectorRecord, limit: u32) -> StoreResult<()> {
        on_db!(self, pool => {
            let mut tx = pool.begin_for_owner(&r.owner).await.or_store("Failed to begin connector insert")?;
            let (count,): (i64,) = sqlx::query_as(COUNT_FOR_OWNER)
                .bind(&r.owner)
                .fetch_one(&mut *tx)
                .await
                .or_store("Failed to count connectors")?;
            if count >= i64::from(limit) {
                return Err(StoreError::LimitReached(limit));
            }
            sqlx::query(INSERT)
                .bind(r.id)
                .bind(&r.owner)
                .bind(&r.name)
                .bind(&r.name_key)
                .bind(&r.description)
                .bind(&r.server_url)
                .bind(&r.auth_type)
                .bind(r.auth_configured)
                .bind(&r.auth_hint)
                .bind(&r.credentials)
                .bind(&r.headers)
                .bind(&r.header_names)
                .bind(r.enabled)
                .bind(&r.state)
                .bind(&r.tools)
                .bind(r.tools_discovered_at)
                .bind(&r.last_test_status)
                .bind(&r.last_error_code)
                .bind(r.consecutive_failures)
                .bind(r.next_check_at)
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(&r.tool_pins)
                .bind(&r.tool_policy)
                .execute(&mut *tx)
                .await
                .or_store("Failed to insert connector")?;
            tx.commit().await.or_store("Failed to commit connector insert")
        })
    }

    async fn connectors(&self, owner: &UserId) -> StoreResult<Vec<ConnectorRecord>> {
        on_db!(self, pool => sqlx::query_as(LIST).bind(owner.as_str()).fetch_all(pool).await)
            .or_store("Failed to list connectors")
    }

    async fn connector(&self, owner: &UserId, id: Uuid) -> StoreResult<ConnectorRecord> {
        on_db!(self, pool => sqlx::query_as(GET).bind(owner.as_str()).bind(id).fetch_one(pool).await)
            .or_store("Failed to load connector")
    }

    async fn update_connector(&self, r: &ConnectorRecord, verified: bool) -> StoreResult<()> {
        let done = on_db!(self, pool => {
            let query = sqlx::query(if verified { UPDATE_VERIFIED } else { UPDATE })
                .bind(&r.owner)
                .bind(r.id)
                .bind(&r.name)
                .bind(&r.name_key)
                .bind(&r.description)
                .bind(&r.server_url)
                .bind(&r.auth_type)
                .bind(r.auth_configured)
                .bind(&r.auth_hint)
                .bind(&r.credentials)
                .bind(&r.headers)
                .bind(&r.header_names)
                .bind(r.enabled)
                .bind(r.updated_at);
            let query = if verified {
                query
                    .bind(&r.tools)
                    .bind(r.tools_discovered_at)
                    .bind(&r.state)
                    .bind(r.consecutive_failures)
                    .bind(&r.last_test_status)
                    .bind(&r.last_error_code)
                    .bind(r.next_check_at)
                    .bind(&r.tool_pins)
            } else {
                query
            };
            query.execute(pool).await.map(|done| done.rows_affected())
        })
        .or_store("Failed to update connector")?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn set_connector_enabled(
        &self,
        owner: &UserId,
        id: Uuid,
        enabled: Option<bool>,
    ) -> StoreResult<ConnectorRecord> {
        on_db!(self, pool => sqlx::query_as(SET_ENABLED)
            .bind(owner.as_str())
            .bind(id)
            .bind(enabled)
            .bind(now())
            .fetch_one(pool)
            .await)
        .or_store("Failed to toggle connector")
    }

    async fn put_tool_pins(
        &self,
        owner: &UserId,
        id: Uuid,
        rev: i32,
        pins: &ToolPins,
    ) -> StoreResult<Option<ConnectorRecord>> {
        on_db!(self, pool => sqlx::query_as(PUT_PINS)
            .bind(owner.as_str())
            .bind(id)
            .bind(Json(pins.served()))
            .bind(Json(pins))
            .bind(pending(pins))
            .bind(now())
            .bind(rev)
            .fetch_optional(pool)
            .await)
        .or_store("Failed to save tool pins")
    }

    async fn delete_connector(&self, owner: &UserId, id: Uuid) -> StoreResult<()> {
        let done = on_db!(self, pool => sqlx::query(DELETE)
            .bind(owner.as_str())
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .or_store("Failed to delete connector")?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

/// `changes_pending` for these pins.
pub(super) fn pending(pins: &ToolPins) -> i32 {
    i32::try_from(pins.changes().len()).unwrap_or(i32::MAX)
}
