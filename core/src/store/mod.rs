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

mod approvals;
mod audit;
mod connectors;
mod data;
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

use crate::approvals::{ApprovalRecord, ApprovalState, DefaultPolicy, Policies, Policy};
use crate::domain::{ToolPins, UserId};
use crate::runs::{RunRecord, RunStatus, Step};
pub use approvals::{Park, Parked, Settle, Settled};
pub use data::ALL as DATA_MIGRATIONS;
pub use health::DEGRADED_AFTER;
pub use records::{
    AuditRecord, ConnectorRecord, ConnectorState, InvocationRecord, OAuthFlowRecord, OAuthGrantRecord, UserToolRecord,
    now,
};
pub use sealed::{SealedColumn, SealedRow};
pub use sql::SqlStore;
pub use sqlx::types::Json;
pub use switches::PolicyOwner;

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
    /// No database connection came free in time (the pool is exhausted), or
    /// the database cannot be reached right now.
    #[error("the database is busy or unreachable")]
    Busy,
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
    /// Saves reviewed pins (and the tools they serve) unless pins were
    /// written since `rev`; `None` then, or when there is no such connector.
    async fn put_tool_pins(
        &self,
        owner: &UserId,
        id: Uuid,
        rev: i32,
        pins: &ToolPins,
    ) -> StoreResult<Option<ConnectorRecord>>;
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

/// What admission did with a new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Inserted `queued`: enqueue its job.
    Queued,
    /// Inserted `waiting`: its owner is at the cap; it is enqueued when a slot frees.
    Waiting,
    /// Not inserted: its owner's backlog is full.
    Refused,
}

/// Who may end a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishGuard<'a> {
    /// The worker holding this lease.
    Lease(&'a str),
    /// The reconciler: a run no worker holds (lease expired, or never started).
    Abandoned,
    /// Anyone, while it is unfinished (the API failing a run it could not enqueue).
    Unfinished,
}

#[async_trait]
pub trait RunStore: Send + Sync {
    /// Inserts a run as it is (one that ends at once, or one the caller enqueues).
    async fn insert_run(&self, record: &RunRecord) -> StoreResult<()>;
    /// Inserts `record` `queued` while its owner has fewer than `cap` runs of its
    /// kind queued or running (`0`: no cap), else `waiting` while fewer than
    /// `backlog` wait, else refuses. Atomic per owner.
    async fn admit_run(&self, record: &RunRecord, cap: u32, backlog: u32) -> StoreResult<Admission>;
    /// The owner's oldest `waiting` run of `kind` becomes `queued`, if the owner
    /// is under `cap`; the caller enqueues it.
    async fn promote_waiting(
        &self,
        owner: &str,
        kind: &str,
        cap: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>>;
    /// `(owner, kind)` pairs with waiting runs.
    async fn owners_waiting(&self, limit: u32) -> StoreResult<Vec<(String, String)>>;
    /// A run of `owner` (404 for anyone else's).
    async fn run(&self, owner: &UserId, id: Uuid) -> StoreResult<RunRecord>;
    /// Any run, for the worker that executes it.
    async fn run_by_id(&self, id: Uuid) -> StoreResult<RunRecord>;
    /// The run a user created with this idempotency key.
    async fn run_by_idempotency_key(&self, owner: &UserId, key: &str) -> StoreResult<RunRecord>;
    /// Takes the run's lease for `lease` until `until`: a queued run, or a
    /// running one whose lease expired; counts the attempt. `None`: finished,
    /// or someone else holds it.
    async fn start_run(
        &self,
        id: Uuid,
        lease: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>>;
    /// Extends `lease` to `until`; false when the run is no longer held by it.
    async fn renew_lease(&self, id: Uuid, lease: &str, until: DateTime<Utc>) -> StoreResult<bool>;
    /// Records that a `tools/call` is about to be sent, only while `lease`
    /// holds the run and has not expired; false: do not send it.
    async fn mark_dispatched(&self, id: Uuid, lease: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Ends a run (as `guard` allows) and drops its sealed input; `None` when
    /// the guard did not hold (already ended, or taken over).
    #[allow(clippy::too_many_arguments)]
    async fn finish_run(
        &self,
        id: Uuid,
        guard: FinishGuard<'_>,
        status: RunStatus,
        steps: &[Step],
        result: Option<&Value>,
        error: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>>;
    /// Puts a run back to `queued` for a new job: a running run whose lease
    /// expired, or a queued one enqueued before `queued_before`.
    async fn requeue_run(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        queued_before: DateTime<Utc>,
    ) -> StoreResult<Option<RunRecord>>;
    /// Runs the reconciler must look at: running with an expired lease, queued
    /// since before `queued_before`.
    async fn stale_runs(
        &self,
        now: DateTime<Utc>,
        queued_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<RunRecord>>;
    /// The ended ones among `ids` (one query per 500).
    async fn ended_runs(&self, ids: &[Uuid]) -> StoreResult<Vec<Uuid>>;
    /// Deletes finished runs created before `before`.
    async fn prune_runs(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// `owner`'s runs matching `filter`, newest first, older than `before` when given.
    async fn list_runs(
        &self,
        owner: &UserId,
        filter: &RunFilter,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<RunRecord>>;
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub kind: Option<String>,
    pub connector_id: Option<Uuid>,
    pub status: Option<RunStatus>,
}

/// Periodic work done once per interval across all processes.
#[async_trait]
pub trait MaintenanceStore: Send + Sync {
    /// Whether this caller has the named job until `next` (due at `now`).
    async fn claim_maintenance(&self, name: &str, now: DateTime<Utc>, next: DateTime<Utc>) -> StoreResult<bool>;
}

/// Connector health, written by discovery and the scheduler.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// A passed check: the pins as the discovery left them (and the tools they
    /// serve; `None`: unchanged), failures reset, `degraded` restored to
    /// `active`; `None` when pins were written since `rev` (read again and
    /// retry) or the connector is gone.
    async fn record_check_ok(
        &self,
        id: Uuid,
        rev: i32,
        pins: Option<&ToolPins>,
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

/// Allow, ask or block: the policies users gave tools, and the defaults of
/// connectors and connected system tools.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    async fn policies(&self, owner: &UserId) -> StoreResult<Policies>;
    /// One tool's own policy, if it has one.
    async fn own_policy(&self, owner: &UserId, of: PolicyOwner<'_>, tool: &str) -> StoreResult<Option<Policy>>;
    /// A connector tool's own policy (kept by the server's tool name, across re-discovery).
    async fn set_tool_policy(&self, owner: &UserId, connector_id: Uuid, tool: &str, policy: Policy) -> StoreResult<()>;
    async fn set_function_policy(
        &self,
        owner: &UserId,
        tool_id: &str,
        function: &str,
        policy: Policy,
    ) -> StoreResult<()>;
    /// The default of a connector or a connected system tool; `NotFound` when there is none.
    async fn set_default_policy(&self, owner: &UserId, of: PolicyOwner<'_>, policy: DefaultPolicy) -> StoreResult<()>;
}

/// Approvals, the runs that wait on them and the agent turns parked on a call.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// Inserts a pending approval with the run that waits on it (`awaiting_approval`),
    /// unless `owner` already has `max_pending` pending (`LimitReached`).
    async fn insert_approval(
        &self,
        approval: &ApprovalRecord,
        run: Option<&RunRecord>,
        max_pending: u32,
    ) -> StoreResult<()>;
    async fn approval(&self, owner: &UserId, id: Uuid) -> StoreResult<ApprovalRecord>;
    /// `owner`'s approvals, newest first, older than `before` when given.
    async fn approvals(
        &self,
        owner: &UserId,
        state: Option<ApprovalState>,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<ApprovalRecord>>;
    /// Decides or expires a pending approval and moves what waits on it, in
    /// one transaction; `None` when it is not pending (or, to decide, past its expiry).
    async fn settle_approval(&self, settle: &Settle<'_>) -> StoreResult<Option<Settled>>;
    /// `(owner, id)` of pending approvals past their expiry.
    async fn due_approvals(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(String, Uuid)>>;
    /// Gateway grants past their expiry become `expired`.
    async fn expire_grants(&self, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Uses one unexpired gateway grant of `owner` for this request, if any: its id.
    async fn use_grant(&self, owner: &str, request_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Uuid>>;
    /// Parks a running agent turn on a call waiting for approval (see [`Parked`]).
    async fn park_run(&self, park: &Park<'_>) -> StoreResult<Parked>;
    /// Records that the approval was put to an MCP client as a question.
    async fn mark_asked(&self, owner: &str, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// The newest unexpired pending approval of `owner` for this exact call through `origin`.
    async fn pending_like(
        &self,
        owner: &str,
        request_hash: &str,
        origin: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ApprovalRecord>>;
    /// Deletes settled approvals created before `before`.
    async fn prune_approvals(&self, before: DateTime<Utc>) -> StoreResult<u64>;
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

/// The audit log: appended to, read by its owner, pruned by age.
#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_audit(&self, record: &AuditRecord) -> StoreResult<()>;
    /// `owner`'s events, newest first, older than the event `before` when given.
    async fn audit_events(&self, owner: &UserId, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<AuditRecord>>;
    async fn prune_audit(&self, before: DateTime<Utc>) -> StoreResult<u64>;
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
    ConnectorStore
    + UserToolStore
    + SealedStore
    + RunStore
    + MaintenanceStore
    + HealthStore
    + PolicyStore
    + ApprovalStore
    + InvocationStore
    + OAuthStore
    + AuditStore
{
    /// `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
    /// Cheap liveness query for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the pool; later calls fail.
    async fn close(&self);
}
