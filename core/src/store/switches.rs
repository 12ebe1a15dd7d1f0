//! [`PolicyStore`] for [`SqlStore`]: the policies users gave tools (connector
//! tools keyed by the server's tool name, so they survive re-discovery;
//! system tool functions by name) and the defaults of connectors and
//! connected system tools.

use async_trait::async_trait;
use uuid::Uuid;

use super::records::now;
use super::sql::{SqlResultExt as _, on_db};
use super::{PolicyStore, SqlStore, StoreError, StoreResult};
use crate::approvals::{DefaultPolicy, Policies, Policy};
use crate::domain::UserId;

const TOOLS: &str = "select connector_id, tool_name, policy from tool_switches where owner = $1";
const FUNCTIONS: &str = "select tool_id, function_name, policy from function_policies where owner = $1";
const PUT_TOOL: &str = "insert into tool_switches (connector_id, owner, tool_name, enabled, policy, created_at, \
    updated_at) values ($1, $2, $3, $4, $5, $6, $6) on conflict (connector_id, tool_name) do update set \
    enabled = excluded.enabled, policy = excluded.policy, updated_at = excluded.updated_at";
const PUT_FUNCTION: &str = "insert into function_policies (owner, tool_id, function_name, policy, created_at, \
    updated_at) values ($1, $2, $3, $4, $5, $5) on conflict (owner, tool_id, function_name) do update set \
    policy = excluded.policy, updated_at = excluded.updated_at";
const OWN_TOOL: &str = "select policy from tool_switches where owner = $1 and connector_id = $2 and tool_name = $3";
const OWN_FUNCTION: &str =
    "select policy from function_policies where owner = $1 and tool_id = $2 and function_name = $3";
const CONNECTOR_DEFAULT: &str = "update connectors set tool_policy = $3, updated_at = $4 where owner = $1 and id = $2";
const SYSTEM_DEFAULT: &str =
    "update user_tools set tool_policy = $3, updated_at = $4 where owner = $1 and tool_id = $2";

#[async_trait]
impl PolicyStore for SqlStore {
    async fn policies(&self, owner: &UserId) -> StoreResult<Policies> {
        let (tools, functions): (Vec<(Uuid, String, String)>, Vec<(String, String, String)>) = on_db!(self, pool => {
            let tools = sqlx::query_as(TOOLS).bind(owner.as_str()).fetch_all(pool).await;
            let functions = sqlx::query_as(FUNCTIONS).bind(owner.as_str()).fetch_all(pool).await;
            tools.and_then(|t| functions.map(|f| (t, f)))
        })
        .or_store("Failed to read tool policies")?;
        Ok(Policies::from_rows(tools, functions))
    }

    async fn own_policy(&self, owner: &UserId, of: PolicyOwner<'_>, tool: &str) -> StoreResult<Option<Policy>> {
        let row: Option<(String,)> = match of {
            PolicyOwner::Connector(id) => on_db!(self, pool => sqlx::query_as(OWN_TOOL)
                .bind(owner.as_str()).bind(id).bind(tool).fetch_optional(pool).await),
            PolicyOwner::SystemTool(tool_id) => on_db!(self, pool => sqlx::query_as(OWN_FUNCTION)
                .bind(owner.as_str()).bind(tool_id).bind(tool).fetch_optional(pool).await),
        }
        .or_store("Failed to read a tool's policy")?;
        Ok(row.map(|(p,)| Policy::parse(&p).unwrap_or(Policy::Ask)))
    }

    async fn set_tool_policy(&self, owner: &UserId, connector_id: Uuid, tool: &str, policy: Policy) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(PUT_TOOL)
            .bind(connector_id)
            .bind(owner.as_str())
            .bind(tool)
            .bind(policy != Policy::Block)
            .bind(policy.as_str())
            .bind(now())
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to set a tool's policy")
    }

    async fn set_function_policy(
        &self,
        owner: &UserId,
        tool_id: &str,
        function: &str,
        policy: Policy,
    ) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(PUT_FUNCTION)
            .bind(owner.as_str())
            .bind(tool_id)
            .bind(function)
            .bind(policy.as_str())
            .bind(now())
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to set a function's policy")
    }

    async fn set_default_policy(&self, owner: &UserId, of: PolicyOwner<'_>, policy: DefaultPolicy) -> StoreResult<()> {
        let done = match of {
            PolicyOwner::Connector(id) => on_db!(self, pool => sqlx::query(CONNECTOR_DEFAULT)
                .bind(owner.as_str()).bind(id).bind(policy.as_str()).bind(now()).execute(pool).await
                .map(|d| d.rows_affected())),
            PolicyOwner::SystemTool(tool) => on_db!(self, pool => sqlx::query(SYSTEM_DEFAULT)
                .bind(owner.as_str()).bind(tool).bind(policy.as_str()).bind(now()).execute(pool).await
                .map(|d| d.rows_affected())),
        }
        .or_store("Failed to set a default tool policy")?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

/// Whose default policy.
#[derive(Debug, Clone, Copy)]
pub enum PolicyOwner<'a> {
    Connector(Uuid),
    /// A system tool the user connected (by id).
    SystemTool(&'a str),
}
