//! [`ToolSwitchStore`] for [`SqlStore`]: tools a user switched off.

use async_trait::async_trait;
use uuid::Uuid;

use super::records::now;
use super::sql::{SqlResultExt as _, on_db};
use super::{SqlStore, StoreResult, ToolSwitchStore};
use crate::domain::UserId;

const OFF: &str = "select connector_id, tool_name from tool_switches where owner = $1 and not enabled";
const PUT: &str = "insert into tool_switches (connector_id, owner, tool_name, enabled, created_at, updated_at) \
    values ($1, $2, $3, $4, $5, $5) on conflict (connector_id, tool_name) do update set \
    enabled = excluded.enabled, updated_at = excluded.updated_at";

#[async_trait]
impl ToolSwitchStore for SqlStore {
    async fn switched_off(&self, owner: &UserId) -> StoreResult<Vec<(Uuid, String)>> {
        on_db!(self, pool => sqlx::query_as(OFF).bind(owner.as_str()).fetch_all(pool).await)
            .or_store("Failed to list switched-off tools")
    }

    async fn set_tool_enabled(&self, owner: &UserId, connector_id: Uuid, tool: &str, enabled: bool) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(PUT)
            .bind(connector_id)
            .bind(owner.as_str())
            .bind(tool)
            .bind(enabled)
            .bind(now())
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to switch a tool")
    }
}
