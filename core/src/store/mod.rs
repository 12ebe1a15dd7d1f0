//! Storage behind narrow traits, one per aggregate, all implemented by
//! [`SqlStore`] for PostgreSQL and SQLite.
//!
//! Queries are runtime `query_as` calls with `FromRow` records (no compile-time
//! macros). Most SQL is portable and written once in [`sql`]'s `on_db!`, which
//! compiles the same body against each driver; what differs per database lives
//! in [`postgres`] and [`sqlite`] (connecting, migrations, and the lock that
//! makes the per-user connector limit atomic). Every lookup is keyed by owner:
//! another user's id is indistinguishable from a missing one.
//!
//! Secrets arrive here already sealed by the vault; the store never sees plaintext.

mod connectors;
mod health;
mod invocations;
mod oauth;
mod postgres;
mod records;
mod runs;
mod sealed;
mod sql;
mod sqlite;
mod switches;
mod user_tools;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::{ToolInfo, UserId};
use crate::runs::{RunRecord, RunStatus, Step};
pub use health::DEGRADED_AFTER;
pub use records::{
    ConnectorRecord, ConnectorState, InvocationRecord, OAuthFlowRecord, OAuthGrantRecord, UserToolRecord, now,
};
pub use sealed::{SealedColumn, SealedRow};
pub use sql::SqlStore;
pub use sqlx::types::Json;

/// Why a store call failed, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row for this owner.
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated (e.g. a connector name already in use).
    #[error("duplicate: {0}")]
    Duplicate(&'static str),
    /// The owner already has the maximum number of connectors.
    #[error("connector limit of {0} reached")]
    LimitReached(u32),
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait ConnectorStore: Send + Sync {
    /// Inserts unless the owner already has `limit` connectors; atomic under concurrency.
    async fn insert_connector(&self, record: &ConnectorRecord, limit: u32) -> StoreResult<()>;
    async fn connectors(&self, owner: &UserId) -> StoreResult<Vec<ConnectorRecord>>;
    async fn connector(&self, owner: &UserId, id: Uuid) -> StoreResult<ConnectorRecord>;
    /// Writes the user-editable fields (name, description, URL, auth, headers, enabled);
    /// with `verified`, also the tool snapshot and health from a fresh passed test.
    async fn update_connector(&self, record: &ConnectorRecord, verified: bool) -> StoreResult<()>;
    /// Sets `enabled`, or flips it when `None`.
    async fn set_connector_enabled(
        &self,
        owner: &UserId,
        id: Uuid,
        enabled: Option<bool>,
    ) -> StoreResult<ConnectorRecord>;
    async fn delete_connector(&self, owner: &UserId, id: Uuid) -> StoreResult<()>;
}

#[async_trait]
pub trait UserToolStore: Send + Sync {
    async fn user_tools(&self, owner: &UserId) -> StoreResult<Vec<UserToolRecord>>;
    /// Inserts or replaces the (owner, tool) row.
    async fn put_user_tool(&self, record: &UserToolRecord) -> StoreResult<()>;
}

/// Access to every sealed column, for key rotation.
#[async_trait]
pub trait SealedStore: Send + Sync {
    /// Up to `limit` non-null values of `column`, in key order, after the row `after`.
    async fn sealed_page(
        &self,
        column: SealedColumn,
        after: Option<&SealedRow>,
        limit: u32,
    ) -> StoreResult<Vec<SealedRow>>;
    /// Replaces `row`'s value only if it still holds `row.blob` (compare-and-swap).
    async fn replace_sealed(&self, row: &SealedRow, blob: &[u8]) -> StoreResult<bool>;
}

#[async_trait]
pub trait RunStore: Send + Sync {
    async fn insert_run(&self, record: &RunRecord) -> StoreResult<()>;
    /// A run of `owner` (404 for anyone else's).
    async fn run(&self, owner: &UserId, id: Uuid) -> StoreResult<RunRecord>;
    /// Any run, for the worker that executes it.
    async fn run_by_id(&self, id: Uuid) -> StoreResult<RunRecord>;
    /// The run a user created with this idempotency key.
    async fn run_by_idempotency_key(&self, owner: &UserId, key: &str) -> StoreResult<RunRecord>;
    /// Records that a `tools/call` is about to be sent for this run.
    async fn mark_dispatched(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Marks a queued (or, after a crash, running) run as running and counts the
    /// attempt; `None` when it already finished (the job was delivered twice).
    async fn start_run(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<RunRecord>>;
    /// Ends a run and drops its sealed input; `None` when it had already ended.
    async fn finish_run(
        &self,
        id: Uuid,
        status: RunStatus,
        steps: &[Step],
        result: Option<&Value>,
        error: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>>;
    /// Deletes finished runs created before `before`.
    async fn prune_runs(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// Connector health, written by discovery and the scheduler.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// A passed check: new snapshot, failures reset, `degraded` restored to `active`.
    async fn record_check_ok(
        &self,
        id: Uuid,
        tools: &[ToolInfo],
        warning: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ConnectorRecord>>;
    /// A failed check: one more consecutive failure; `degraded` from [`DEGRADED_AFTER`].
    async fn record_check_failed(
        &self,
        id: Uuid,
        code: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ConnectorRecord>>;
    /// Claims up to `limit` enabled connectors due at `now`, moving their next
    /// check to `next`; concurrent callers never claim the same row.
    async fn claim_due_checks(
        &self,
        now: DateTime<Utc>,
        next: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(Uuid, String)>>;
    /// Enabled connectors currently degraded (a gauge).
    async fn degraded_count(&self) -> StoreResult<i64>;
}

/// Tools a user switched off; the switches survive re-discovery.
#[async_trait]
pub trait ToolSwitchStore: Send + Sync {
    /// `(connector, tool name)` of every switched-off tool of `owner`.
    async fn switched_off(&self, owner: &UserId) -> StoreResult<Vec<(Uuid, String)>>;
    async fn set_tool_enabled(&self, owner: &UserId, connector_id: Uuid, tool: &str, enabled: bool) -> StoreResult<()>;
}

/// The invocation log.
#[async_trait]
pub trait InvocationStore: Send + Sync {
    async fn record_invocation(&self, record: &InvocationRecord) -> StoreResult<()>;
    /// `owner`'s invocations since `since`, oldest first, at most `limit`.
    async fn invocations(&self, owner: &UserId, since: DateTime<Utc>, limit: u32)
    -> StoreResult<Vec<InvocationRecord>>;
    async fn prune_invocations(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// OAuth: authorizations waiting for their callback, and issued grants.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    async fn insert_oauth_flow(&self, record: &OAuthFlowRecord) -> StoreResult<()>;
    /// Deletes and returns the flow with this state hash: a state works once.
    async fn take_oauth_flow(&self, state_hash: &str) -> StoreResult<Option<OAuthFlowRecord>>;
    async fn prune_oauth_flows(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Inserts or replaces the (owner, target) grant, keeping any lease.
    async fn put_oauth_grant(&self, record: &OAuthGrantRecord) -> StoreResult<()>;
    async fn oauth_grant(&self, owner: &str, target: &str) -> StoreResult<Option<OAuthGrantRecord>>;
    async fn delete_oauth_grant(&self, owner: &str, target: &str) -> StoreResult<Option<OAuthGrantRecord>>;
    /// Takes the grant's refresh lease until `until`, unless someone holds a
    /// lease that has not expired at `now`. Atomic across processes.
    async fn lease_oauth_grant(
        &self,
        owner: &str,
        target: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn release_oauth_grant(&self, owner: &str, target: &str) -> StoreResult<()>;
}

/// Everything the service needs from storage.
#[async_trait]
pub trait Store:
    ConnectorStore + UserToolStore + SealedStore + RunStore + HealthStore + ToolSwitchStore + InvocationStore + OAuthStore
{
    /// `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
    /// Cheap liveness query for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the pool; later calls fail.
    async fn close(&self);
}
