//! [`ApprovalStore`] for [`SqlStore`]: approvals, the runs that wait on them,
//! and agent turns parked on a call. Settling an approval and parking a turn
//! both take the owner's lock, so a decision can never slip between a turn's
//! check ("is my call still waiting?") and its parking.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::sql::{OwnerLock as _, SqlResultExt as _, on_db};
use super::{ApprovalStore, SqlStore, StoreError, StoreResult};
use crate::approvals::{ApprovalRecord, ApprovalState};
use crate::domain::UserId;
use crate::jobs::RunKind;
use crate::runs::{RunRecord, RunStatus, Step};

const INSERT: &str = "insert into approvals (id, owner, run_id, turn_id, origin, source_kind, connector_id, \
    system_tool, tool_name, catalog_name, display_name, request_hash, sealed_arguments, state, how, decided_by, \
    created_at, expires_at, decided_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
    $14, $15, $16, $17, $18, $19, $20)";
const INSERT_RUN: &str = "insert into runs (id, owner, kind, status, connector_id, input, sealed_input, steps, \
    attempts, created_at, updated_at, idempotency_key, request_hash) values ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, \
    $9, $10, $11)";
const COUNT_PENDING: &str = "select count(*) from approvals where owner = $1 and state = 'pending'";
const GET: &str = "select * from approvals where owner = $1 and id = $2";
const LIST: &str = "select * from approvals where owner = $1 and ($2 is null or state = $2) \
    and ($3 is null or id < $3) order by id desc limit $4";
/// `$7`: true to decide (before expiry), false to expire (after it).
const SETTLE: &str = "update approvals set state = $3, how = $4, decided_by = $5, decided_at = $6, updated_at = $6, \
    sealed_arguments = null where owner = $1 and id = $2 and state = 'pending' and (expires_at > $6) = $7 returning *";
const COUNT_ACTIVE: &str =
    "select count(*) from runs where owner = $1 and kind = $2 and status in ('queued', 'running')";
const RELEASE: &str = "update runs set status = $2, enqueued_at = $3, updated_at = $4 \
    where id = $1 and status = 'awaiting_approval' returning *";
/// A call that will not run keeps its idempotency key: a replay answers this run.
const REFUSE: &str = "update runs set status = 'failed', error_code = $2, error_message = $3, finished_at = $4, \
    updated_at = $4, sealed_input = null where id = $1 and status = 'awaiting_approval' returning *";
const DUE: &str = "select owner, id from approvals where state = 'pending' and expires_at <= $1 \
    order by expires_at limit $2";
const EXPIRE_GRANTS: &str = "update approvals set state = 'expired', updated_at = $1 \
    where state = 'approved' and run_id is null and expires_at <= $1";
const USE_GRANT: &str = "update approvals set state = 'used', updated_at = $3 where id = \
    (select id from approvals where owner = $1 and request_hash = $2 and state = 'approved' and run_id is null \
    and expires_at > $3 order by created_at limit 1) and state = 'approved' returning id";
const STATUS: &str = "select status from runs where id = $1";
const PARK: &str = "update runs set status = $3, sealed_input = $4, steps = $5, lease_owner = null, \
    lease_until = null, enqueued_at = $6, updated_at = $7 where id = $1 and lease_owner = $2 and status = 'running' \
    returning *";
const PRUNE: &str = "delete from approvals where created_at < $1 and state <> 'pending'";
const MARK_ASKED: &str = "update approvals set asked_client = true, updated_at = $3 \
    where owner = $1 and id = $2 and state = 'pending'";
const PENDING_LIKE: &str = "select * from approvals where owner = $1 and request_hash = $2 and origin = $3 \
    and state = 'pending' and expires_at > $4 order by created_at desc limit 1";

/// Settling one approval.
#[derive(Debug, Clone, Copy)]
pub struct Settle<'a> {
    pub owner: &'a str,
    pub id: Uuid,
    /// `approved`, `denied` or `expired`.
    pub to: ApprovalState,
    /// `api`, `ui`, `elicitation`, `always` or `timeout`.
    pub how: &'a str,
    pub by: Option<&'a str>,
    pub now: DateTime<Utc>,
    /// The owner's caps on running calls and turns (`0`: none), for the released runs.
    pub call_cap: u32,
    pub turn_cap: u32,
}

/// A settled approval and the runs it moved (as they are now).
#[derive(Debug)]
pub struct Settled {
    pub approval: ApprovalRecord,
    /// The waiting call: `queued`/`waiting` when approved, `failed` otherwise.
    pub run: Option<RunRecord>,
    /// The agent turn parked on it, back to `queued` or `waiting`.
    pub turn: Option<RunRecord>,
}

/// Parking an agent turn on a call that waits for approval.
#[derive(Debug)]
pub struct Park<'a> {
    pub owner: &'a str,
    pub turn: Uuid,
    pub lease: &'a str,
    /// The turn's state to resume from (sealed `runs.sealed_input`).
    pub sealed_input: &'a [u8],
    pub steps: &'a [Step],
    /// The call it waits on.
    pub waiting_on: Uuid,
    pub now: DateTime<Utc>,
}

/// What parking did.
#[derive(Debug)]
pub enum Parked {
    /// The turn waits (`awaiting_approval`, no lease, no job).
    Parked(RunRecord),
    /// The call was decided already: the turn is `queued` again; enqueue it.
    Requeued(RunRecord),
    /// This worker no longer holds the turn.
    Lost,
}

fn error_of(to: ApprovalState) -> (&'static str, &'static str) {
    match to {
        ApprovalState::Expired => (
            "APPROVAL_TIMEOUT",
            "nobody approved this call in time, so it was not sent",
        ),
        _ => (
            "APPROVAL_DENIED",
            "the user did not approve this call, so it was not sent",
        ),
    }
}

/// Within the owner's lock: the run back through admission (`queued` under
/// the cap, else `waiting`).
macro_rules! release {
    ($tx:expr, $owner:expr, $id:expr, $kind:expr, $cap:expr, $now:expr) => {{
        let queued = if $cap == 0 {
            true
        } else {
            let (active,): (i64,) = sqlx::query_as(COUNT_ACTIVE)
                .bind($owner)
                .bind($kind.as_str())
                .fetch_one(&mut *$tx)
                .await
                .or_store("Failed to count running jobs")?;
            active < i64::from($cap)
        };
        let status = if queued { RunStatus::Queued } else { RunStatus::Waiting };
        let run: Option<RunRecord> = sqlx::query_as(RELEASE)
            .bind($id)
            .bind(status.as_str())
            .bind(queued.then_some($now))
            .bind($now)
            .fetch_optional(&mut *$tx)
            .await
            .or_store("Failed to release a run")?;
        run
    }};
}

#[async_trait]
impl ApprovalStore for SqlStore {
    async fn insert_approval(&self, a: &ApprovalRecord, run: Option<&RunRecord>, max_pending: u32) -> StoreResult<()> {
        on_db!(self, pool => {
            let mut tx = pool.begin_for_owner(&a.owner).await.or_store("Failed to begin an approval")?;
            let (pending,): (i64,) = sqlx::query_as(COUNT_PENDING)
                .bind(&a.owner)
                .fetch_one(&mut *tx)
                .await
                .or_store("Failed to count pending approvals")?;
            if pending >= i64::from(max_pending) {
                return Err(StoreError::LimitReached(max_pending));
            }
            if let Some(r) = run {
                sqlx::query(INSERT_RUN)
                    .bind(r.id)
                    .bind(&r.owner)
                    .bind(&r.kind)
                    .bind(RunStatus::AwaitingApproval.as_str())
                    .bind(r.connector_id)
                    .bind(&r.input)
                    .bind(&r.sealed_input)
                    .bind(&r.steps)
                    .bind(r.created_at)
                    .bind(&r.idempotency_key)
                    .bind(&r.request_hash)
                    .execute(&mut *tx)
                    .await
                    .or_store("Failed to insert a waiting run")?;
            }
            sqlx::query(INSERT)
                .bind(a.id)
                .bind(&a.owner)
                .bind(a.run_id)
                .bind(a.turn_id)
                .bind(&a.origin)
                .bind(&a.source_kind)
                .bind(a.connector_id)
                .bind(&a.system_tool)
                .bind(&a.tool_name)
                .bind(&a.catalog_name)
                .bind(&a.display_name)
                .bind(&a.request_hash)
                .bind(&a.sealed_arguments)
                .bind(&a.state)
                .bind(&a.how)
                .bind(&a.decided_by)
                .bind(a.created_at)
                .bind(a.expires_at)
                .bind(a.decided_at)
                .bind(a.updated_at)
                .execute(&mut *tx)
                .await
                .or_store("Failed to insert an approval")?;
            tx.commit().await.or_store("Failed to commit an approval")
        })
    }

    async fn approval(&self, owner: &UserId, id: Uuid) -> StoreResult<ApprovalRecord> {
        on_db!(self, pool => sqlx::query_as(GET).bind(owner.as_str()).bind(id).fetch_one(pool).await)
            .or_store("Failed to load an approval")
    }

    async fn approvals(
        &self,
        owner: &UserId,
        state: Option<ApprovalState>,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<ApprovalRecord>> {
        on_db!(self, pool => sqlx::query_as(LIST)
            .bind(owner.as_str())
            .bind(state.map(ApprovalState::as_str))
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)
        .or_store("Failed to list approvals")
    }

    async fn settle_approval(&self, s: &Settle<'_>) -> StoreResult<Option<Settled>> {
        on_db!(self, pool => {
            let mut tx = pool.begin_for_owner(s.owner).await.or_store("Failed to begin a decision")?;
            let approval: Option<ApprovalRecord> = sqlx::query_as(SETTLE)
                .bind(s.owner)
                .bind(s.id)
                .bind(s.to.as_str())
                .bind(s.how)
                .bind(s.by)
                .bind(s.now)
                .bind(s.to != ApprovalState::Expired)
                .fetch_optional(&mut *tx)
                .await
                .or_store("Failed to settle an approval")?;
            let Some(approval) = approval else { return Ok(None) };
            let run = match approval.run_id {
                Some(id) if s.to == ApprovalState::Approved => {
                    release!(tx, s.owner, id, RunKind::InvokeTool, s.call_cap, s.now)
                }
                Some(id) => {
                    let (code, message) = error_of(s.to);
                    sqlx::query_as(REFUSE)
                        .bind(id)
                        .bind(code)
                        .bind(message)
                        .bind(s.now)
                        .fetch_optional(&mut *tx)
                        .await
                        .or_store("Failed to fail a refused run")?
                }
                None => None,
            };
            let turn = match approval.turn_id {
                Some(id) => release!(tx, s.owner, id, RunKind::AgentTurn, s.turn_cap, s.now),
                None => None,
            };
            tx.commit().await.or_store("Failed to commit a decision")?;
            Ok(Some(Settled { approval, run, turn }))
        })
    }

    async fn due_approvals(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<(String, Uuid)>> {
        on_db!(self, pool => sqlx::query_as(DUE).bind(now).bind(i64::from(limit)).fetch_all(pool).await)
            .or_store("Failed to list due approvals")
    }

    async fn expire_grants(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        on_db!(self, pool => sqlx::query(EXPIRE_GRANTS).bind(now).execute(pool).await.map(|d| d.rows_affected()))
            .or_store("Failed to expire grants")
    }

    async fn use_grant(&self, owner: &str, request_hash: &str, now: DateTime<Utc>) -> StoreResult<Option<Uuid>> {
        let used: Option<(Uuid,)> = on_db!(self, pool => sqlx::query_as(USE_GRANT)
            .bind(owner)
            .bind(request_hash)
            .bind(now)
            .fetch_optional(pool)
            .await)
        .or_store("Failed to use a grant")?;
        Ok(used.map(|(id,)| id))
    }

    async fn park_run(&self, p: &Park<'_>) -> StoreResult<Parked> {
        on_db!(self, pool => {
            let mut tx = pool.begin_for_owner(p.owner).await.or_store("Failed to begin parking")?;
            let (call,): (String,) = sqlx::query_as(STATUS)
                .bind(p.waiting_on)
                .fetch_one(&mut *tx)
                .await
                .or_store("Failed to read a waiting call")?;
            let waits = call == RunStatus::AwaitingApproval.as_str();
            let (status, enqueued) = if waits {
                (RunStatus::AwaitingApproval, None)
            } else {
                (RunStatus::Queued, Some(p.now))
            };
            let run: Option<RunRecord> = sqlx::query_as(PARK)
                .bind(p.turn)
                .bind(p.lease)
                .bind(status.as_str())
                .bind(p.sealed_input)
                .bind(Json(p.steps))
                .bind(enqueued)
                .bind(p.now)
                .fetch_optional(&mut *tx)
                .await
                .or_store("Failed to park a run")?;
            tx.commit().await.or_store("Failed to commit parking")?;
            Ok(match run {
                None => Parked::Lost,
                Some(run) if waits => Parked::Parked(run),
                Some(run) => Parked::Requeued(run),
            })
        })
    }

    async fn mark_asked(&self, owner: &str, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(MARK_ASKED).bind(owner).bind(id).bind(now).execute(pool).await.map(drop))
            .or_store("Failed to mark an approval asked")
    }

    async fn pending_like(
        &self,
        owner: &str,
        request_hash: &str,
        origin: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ApprovalRecord>> {
        on_db!(self, pool => sqlx::query_as(PENDING_LIKE)
            .bind(owner)
            .bind(request_hash)
            .bind(origin)
            .bind(now)
            .fetch_optional(pool)
            .await)
        .or_store("Failed to look for a pending approval")
    }

    async fn prune_approvals(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        on_db!(self, pool => sqlx::query(PRUNE).bind(before).execute(pool).await.map(|d| d.rows_affected()))
            .or_store("Failed to prune approvals")
    }
}
