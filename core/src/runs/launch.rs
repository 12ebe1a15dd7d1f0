//! Creating a run and queueing its job. Secrets a test needs are sealed into
//! the run row first (the job payload is the run id only).
//!
//! Admission is fair between users: a run over its user's cap of queued and
//! running jobs of its kind waits (`waiting`, no job in the queue) and is
//! enqueued when one of them ends ([`promote_next`], or the reconciler);
//! past the user's backlog it is refused ([`LaunchError::Busy`]).

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use super::{RunInput, RunRecord, RunStatus, Step, TestResult};
use crate::domain::{Credentials, CustomHeaders, UserId};
use crate::jobs::RunKind;
use crate::mcp::{Failure, StepStatus};
use crate::services::Services;
use crate::store::{Admission, ConnectorRecord, FinishGuard, SealedColumn, now};
use crate::vault::Aad;

/// What a connection test connects with, sealed in `runs.sealed_input`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedRunInput {
    pub credentials: Credentials,
    pub headers: CustomHeaders,
}

/// A run about to be created.
#[derive(Debug)]
pub struct NewRun {
    pub owner: UserId,
    pub kind: RunKind,
    pub connector_id: Option<Uuid>,
    pub input: RunInput,
    /// What the job needs but nobody else may read (credentials, tool
    /// arguments), sealed into `runs.sealed_input` and dropped when the run ends.
    pub sealed: Option<serde_json::Value>,
    /// Invocations: `(key, request digest)`.
    pub idempotency: Option<(String, String)>,
}

impl NewRun {
    /// A `DiscoverTools` run for a stored connector.
    pub fn discovery(owner: &UserId, record: ConnectorRecord) -> Self {
        Self {
            owner: owner.clone(),
            kind: RunKind::DiscoverTools,
            connector_id: Some(record.id),
            input: RunInput {
                server_url: record.server_url,
                auth_type: record.auth_type,
                header_names: record.header_names.0,
                fingerprint: None,
                tool: None,
                approval_id: None,
            },
            sealed: None,
            idempotency: None,
        }
    }
}

pub fn sealed_input_aad<'a>(owner: &'a str, row: &'a str) -> Aad<'a> {
    Aad {
        field: SealedColumn::RunInput.field(),
        owner,
        row,
    }
}

/// The run `new` describes, `queued`, its secrets sealed; not stored yet.
pub fn prepare(services: &Services, new: NewRun) -> RunRecord {
    let id = Uuid::now_v7();
    let now = now();
    let sealed_input = new.sealed.map(|s| {
        services
            .vault
            .seal_json(sealed_input_aad(new.owner.as_str(), &id.to_string()), &s)
    });
    let (idempotency_key, request_hash) = new.idempotency.unzip();
    RunRecord {
        id,
        owner: new.owner.as_str().to_owned(),
        kind: new.kind.as_str().to_owned(),
        status: RunStatus::Queued.as_str().to_owned(),
        connector_id: new.connector_id,
        input: Json(new.input),
        sealed_input,
        steps: Json(new.kind.initial_steps().iter().map(|s| Step::pending(s)).collect()),
        result: None,
        error_code: None,
        error_message: None,
        attempts: 0,
        created_at: now,
        started_at: None,
        finished_at: None,
        updated_at: now,
        idempotency_key,
        request_hash,
        dispatched_at: None,
        lease_owner: None,
        lease_until: None,
        enqueued_at: None,
        requeues: 0,
    }
}

/// Why a run could not be launched.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The user's backlog of waiting runs of this kind is full: try again later.
    #[error("too many runs of this kind are waiting for this user")]
    Busy { retry_after: u64 },
    /// The run was recorded as failed: the queue refused its job.
    #[error("the job queue is unavailable")]
    QueueUnavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Creates the run and, unless its user is at the cap for its kind, queues
/// its job. If the queue refuses the job, the run is recorded failed
/// (`QUEUE_UNAVAILABLE`, so it never runs behind the caller's back).
pub async fn launch(services: &Services, new: NewRun) -> Result<RunRecord, LaunchError> {
    let kind = new.kind;
    let mut run = prepare(services, new);
    let limits = &services.settings.limits;
    match services
        .store
        .admit_run(&run, limits.running(kind), limits.backlog)
        .await?
    {
        Admission::Refused => return Err(LaunchError::Busy { retry_after: 5 }),
        Admission::Waiting => {
            run.status = RunStatus::Waiting.as_str().to_owned();
            metrics::counter!("switchboard_runs_waiting_total", "kind" => kind.as_str()).increment(1);
            return Ok(run);
        }
        Admission::Queued => run.enqueued_at = Some(run.created_at),
    }
    if let Err(e) = services.queue.as_queue().enqueue(kind, run.id).await {
        let message = "the job queue is unavailable; please retry shortly";
        services
            .store
            .finish_run(
                run.id,
                FinishGuard::Unfinished,
                RunStatus::Failed,
                &run.steps,
                None,
                Some(("QUEUE_UNAVAILABLE", message)),
                now(),
            )
            .await?;
        return Err(LaunchError::QueueUnavailable(e.context("Failed to queue the run")));
    }
    metrics::counter!("switchboard_jobs_enqueued_total", "kind" => kind.as_str()).increment(1);
    Ok(run)
}

/// After a run of `owner`'s ended: enqueues their oldest waiting run of
/// `kind`, if any and if they are under the cap. A failure leaves the run
/// queued for the reconciler.
pub async fn promote_next(services: &Services, owner: &str, kind: RunKind) -> anyhow::Result<bool> {
    let cap = services.settings.limits.running(kind);
    let Some(run) = services.store.promote_waiting(owner, kind.as_str(), cap, now()).await? else {
        return Ok(false);
    };
    services.queue.as_queue().enqueue(kind, run.id).await?;
    metrics::counter!("switchboard_jobs_enqueued_total", "kind" => kind.as_str()).increment(1);
    Ok(true)
}

/// Records a connection test that failed before it needed a worker (a malformed URL).
pub async fn failed_at_once(services: &Services, new: NewRun, failure: Failure) -> anyhow::Result<RunRecord> {
    let mut run = prepare(services, NewRun { sealed: None, ..new });
    run.sealed_input = None;
    for step in run.steps.iter_mut() {
        step.status = if step.name == "parse_url" {
            StepStatus::Failed
        } else {
            StepStatus::Skipped
        };
        if step.name == "parse_url" {
            step.message = Some(failure.message.clone());
            step.duration_ms = Some(0.0);
        }
    }
    let result = TestResult {
        success: false,
        error_code: Some(failure.code.as_str().to_owned()),
        error_message: Some(failure.message.clone()),
        tools: Vec::new(),
        server: None,
        authorize_url: None,
    };
    run.status = RunStatus::Failed.as_str().to_owned();
    run.result = Some(Json(serde_json::to_value(result)?));
    run.error_code = Some(failure.code.as_str().to_owned());
    run.error_message = Some(failure.message);
    run.started_at = Some(run.created_at);
    run.finished_at = Some(run.created_at);
    services.store.insert_run(&run).await?;
    metrics::counter!("switchboard_connection_tests_total", "code" => failure.code.as_str()).increment(1);
    Ok(run)
}
