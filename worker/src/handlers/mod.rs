//! Job handlers. One entry point, [`handle`], for every queue: it takes the
//! run's lease (or, when the run has ended or another worker holds it, does
//! nothing), keeps the lease renewed while the kind's handler works, records
//! the outcome with a compare-and-set on the lease, and always acknowledges
//! the task: the `runs` table is the truth, the queue only transport.
//!
//! Error policy: what goes wrong *in* the job (a server that fails,
//! credentials that no longer decrypt) ends the run as `failed`. An
//! infrastructure fault (the database unreachable) leaves the run to the
//! reconciler, which takes it back once its lease expires; a panic fails the
//! run. Either way the task is acknowledged, so the queue never holds a job
//! nobody works on.

mod agent;
mod discover;
pub mod invoke;
mod lease;
mod test;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use anyhow::Context as _;
use apalis::prelude::{BoxDynError, Data, TaskId, WorkerContext};
use futures::FutureExt as _;
use serde_json::Value;
use switchboard_core::jobs::{RunJob, RunKind};
use switchboard_core::mcp::{ProbeReport, StepStatus};
use switchboard_core::runs::launch::{promote_next, sealed_input_aad};
use switchboard_core::runs::{AgentInput, RunEvent, RunRecord, RunStatus, Step, TestResult, apply_step};
use switchboard_core::services::Services;
use switchboard_core::store::{FinishGuard, Park, Parked, now};
use uuid::Uuid;

pub use lease::Lease;

use crate::metrics;
use crate::progress::Progress;
use crate::sessions::Sessions;

/// What every job handler gets (apalis `Data`).
#[derive(Debug, Clone)]
pub struct JobContext {
    pub services: Services,
    /// Open MCP sessions of this process, reused by tool calls.
    pub sessions: Sessions,
    /// The queue this worker serves.
    pub kind: RunKind,
}

/// How a run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    pub steps: Vec<Step>,
    /// The run's result: a test's [`TestResult`], or a tool call's result.
    pub result: Option<Value>,
    /// `(code, message)` when the run failed.
    pub error: Option<(String, String)>,
    /// Step events still being published: flushed once the outcome is recorded.
    pub progress: Option<Progress>,
    /// A tool call to write to the invocation log once the outcome is recorded.
    pub invocation: Option<invoke::Logged>,
    /// An agent turn that waits for an approval: parked instead of finished.
    pub park: Option<Parking>,
}

/// Where a parked agent turn resumes from, and what it waits on.
#[derive(Debug)]
pub struct Parking {
    /// Sealed into the run's input.
    pub input: AgentInput,
    /// The call waiting for approval.
    pub waiting_on: Uuid,
    pub approval_id: Uuid,
}

impl Outcome {
    /// A failure before any step ran (e.g. the input could not be read).
    pub fn failed(run: &RunRecord, code: &str, message: &str) -> Self {
        Self {
            steps: run.steps.0.clone(),
            error: Some((code.to_owned(), message.to_owned())),
            ..Self::default()
        }
    }

    /// From a connection test's report.
    pub fn from_report(report: ProbeReport, steps: Vec<Step>) -> Self {
        let error = report
            .failure
            .as_ref()
            .map(|f| (f.code.as_str().to_owned(), f.message.clone()));
        let shown = report.failure.as_ref().or(report.warning.as_ref());
        let result = TestResult {
            success: report.failure.is_none(),
            error_code: shown.map(|f| f.code.as_str().to_owned()),
            error_message: shown.map(|f| f.message.clone()),
            tools: report.tools,
            server: report.server,
            authorize_url: None,
        };
        Self {
            steps,
            result: serde_json::to_value(result).ok(),
            error,
            ..Self::default()
        }
    }

    /// The code for metrics: the error, the warning, or `OK`.
    fn code(&self) -> String {
        self.error
            .as_ref()
            .map(|e| e.0.clone())
            .or_else(|| {
                self.result
                    .as_ref()
                    .and_then(|r| r.get("error_code"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "OK".to_owned())
    }
}

/// Every step of an ended run has ended: one still running was cut off, one
/// still pending never ran.
pub fn end_steps(steps: &mut [Step]) {
    for step in steps {
        match step.status {
            StepStatus::Running => {
                step.status = StepStatus::Failed;
                step.message.get_or_insert_with(|| "interrupted".into());
            }
            StepStatus::Pending => step.status = StepStatus::Skipped,
            StepStatus::Ok | StepStatus::Failed | StepStatus::Skipped => {}
        }
    }
}

/// The apalis handler of every queue.
pub async fn handle(
    job: RunJob,
    context: Data<JobContext>,
    task: TaskId,
    worker: WorkerContext,
) -> Result<(), BoxDynError> {
    let JobContext {
        services,
        sessions,
        kind,
    } = context.0;
    let task_id = task.to_string();
    let lease = Lease::new(&services, job.run_id, format!("{}/{task_id}", worker.name()));
    match AssertUnwindSafe(run(&services, &sessions, &lease)).catch_unwind().await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(run_id = %job.run_id, error = format!("{e:#}"),
                "job stopped on an infrastructure fault; the reconciler takes the run back when its lease expires");
            metrics::job_finished(kind, "error", std::time::Duration::ZERO);
        }
        Err(_) => {
            tracing::error!(run_id = %job.run_id, "job panicked; failing its run");
            if let Ok(run) = services.store.run_by_id(job.run_id).await {
                let outcome = Outcome::failed(
                    &run,
                    "INTERNAL_ERROR",
                    "an internal error stopped this run; please retry",
                );
                let _ = finish(&services, &run, kind, outcome, Instant::now(), &lease).await;
            }
        }
    }
    lease.stop();
    if let Err(e) = services.queue.ack(kind, &task_id, worker.name()).await {
        // The janitor removes it once the run has ended.
        tracing::warn!(run_id = %job.run_id, error = format!("{e:#}"), "failed to acknowledge a task");
    }
    Ok(())
}

async fn run(services: &Services, sessions: &Sessions, lease: &Lease) -> anyhow::Result<()> {
    let started = Instant::now();
    let Some(mut run) = lease.take().await? else {
        tracing::debug!(run_id = %lease.run_id(), "run ended or held by another worker; task dropped");
        return Ok(());
    };
    let kind = RunKind::parse(&run.kind).with_context(|| format!("run {} has unknown kind {}", run.id, run.kind))?;
    if run.attempts == 1 {
        let waited = run.started_at.unwrap_or(run.created_at) - run.enqueued_at.unwrap_or(run.created_at);
        metrics::job_waited(kind, waited.to_std().unwrap_or_default());
    } else {
        run.steps.0 = recovered_steps(services, &run).await;
    }
    publish(services, run.id, RunEvent::Started { attempt: run.attempts }).await;
    let mut outcome = match kind {
        RunKind::ConnectionTest => test::run(services, &run).await?,
        RunKind::DiscoverTools => discover::run(services, &run).await?,
        RunKind::InvokeTool => invoke::run(services, sessions, &run, lease).await?,
        RunKind::AgentTurn => agent::run(services, &run).await?,
    };
    if let Some(parking) = outcome.park.take() {
        return park(services, &run, kind, outcome.steps, parking, started, lease).await;
    }
    finish(services, &run, kind, outcome, started, lease).await
}

/// Parks an agent turn on a call that waits for approval: no worker, no
/// job; the decision enqueues it again (at once, if it came first).
async fn park(
    services: &Services,
    run: &RunRecord,
    kind: RunKind,
    steps: Vec<Step>,
    parking: Parking,
    started: Instant,
    lease: &Lease,
) -> anyhow::Result<()> {
    let sealed = services
        .vault
        .seal_json(sealed_input_aad(&run.owner, &run.id.to_string()), &parking.input);
    let request = Park {
        owner: &run.owner,
        turn: run.id,
        lease: lease.owner(),
        sealed_input: &sealed,
        steps: &steps,
        waiting_on: parking.waiting_on,
        now: now(),
    };
    match services.store.park_run(&request).await? {
        Parked::Parked(_) => {
            let event = RunEvent::AwaitingApproval {
                approval_id: parking.approval_id,
            };
            publish(services, run.id, event).await;
            metrics::job_finished(kind, "parked", started.elapsed());
            // Its slot is free: the owner's next waiting turn may go.
            if let Err(e) = promote_next(services, &run.owner, kind).await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "could not enqueue a waiting run; the reconciler will"
                );
            }
        }
        Parked::Requeued(turn) => {
            services.queue.as_queue().enqueue(kind, turn.id).await?;
            metrics::job_finished(kind, "requeued", started.elapsed());
        }
        Parked::Lost => {
            tracing::warn!(run_id = %run.id, "the turn was taken over before this worker parked it");
            metrics::job_finished(kind, "lease_lost", started.elapsed());
        }
    }
    Ok(())
}

/// The steps of a run taken over from a worker that stopped: as its events
/// left them, with the step it was running marked interrupted.
pub(crate) async fn recovered_steps(services: &Services, run: &RunRecord) -> Vec<Step> {
    let mut steps = run.steps.0.clone();
    for (_, event) in services.events.since(run.id, 0).await.unwrap_or_default() {
        if let RunEvent::Step { step } = event {
            apply_step(&mut steps, step);
        }
    }
    for step in &mut steps {
        if step.status == StepStatus::Running {
            step.status = StepStatus::Failed;
            step.message = Some("interrupted: the worker running it stopped; another took the run over".into());
        }
    }
    steps
}

/// Publishes a run event. The `runs` row is the truth: when the bus is down
/// (a stalled Redis) waiters find the change by their safety-net read, so a
/// failed publish is logged, not retried.
async fn publish(services: &Services, run_id: Uuid, event: RunEvent) {
    if let Err(e) = services.events.append(run_id, event).await {
        tracing::warn!(%run_id, error = format!("{e:#}"), "failed to publish a run event");
    }
}

/// Records the outcome first (a compare-and-set on the lease), then flushes
/// the step events, writes the invocation log and publishes the terminal
/// event (so a client that reacts to it reads the final row and the log), and
/// enqueues the owner's next waiting run.
async fn finish(
    services: &Services,
    run: &RunRecord,
    kind: RunKind,
    mut outcome: Outcome,
    started: Instant,
    lease: &Lease,
) -> anyhow::Result<()> {
    let status = if outcome.error.is_none() {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    end_steps(&mut outcome.steps);
    let error = outcome.error.as_ref().map(|(c, m)| (c.as_str(), m.as_str()));
    // The outcome is what must not be lost: a database that blinks (a
    // restart, an exhausted pool) is given until half the lease to come back.
    let patience = tokio::time::Instant::now() + services.settings.limits.lease / 2;
    let mut pause = std::time::Duration::from_millis(50);
    let finished = loop {
        let recorded = services
            .store
            .finish_run(
                run.id,
                FinishGuard::Lease(lease.owner()),
                status,
                &outcome.steps,
                outcome.result.as_ref(),
                error,
                now(),
            )
            .await;
        match recorded {
            Ok(finished) => break finished,
            Err(e) if tokio::time::Instant::now() + pause < patience => {
                tracing::warn!(run_id = %run.id, error = %e, "could not record an outcome yet; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(1));
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(progress) = outcome.progress.take() {
        progress.finish().await;
    }
    let Some(finished) = finished else {
        tracing::warn!(run_id = %run.id, "the run was taken over before this worker finished it; its outcome is dropped");
        metrics::job_finished(kind, "lease_lost", started.elapsed());
        return Ok(());
    };
    // The invocation log before the terminal event: whoever reacts to it finds the log written.
    if let Some(invocation) = outcome.invocation.take() {
        invoke::log(services, &finished, &outcome, invocation).await;
    }
    let error = outcome.error.as_ref().map(|(c, m)| (c.as_str(), m.as_str()));
    let event = RunEvent::Finished {
        status,
        error_code: error.map(|e| e.0.to_owned()),
        error_message: error.map(|e| e.1.to_owned()),
    };
    publish(services, run.id, event).await;
    metrics::test_outcome(kind, &outcome.code());
    metrics::job_finished(kind, status.as_str(), started.elapsed());
    tracing::info!(
        target: "switchboard::jobs",
        run_id = %run.id,
        kind = kind.as_str(),
        user_id = %run.owner,
        attempt = run.attempts,
        outcome = status.as_str(),
        code = %outcome.code(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "run finished"
    );
    if let Err(e) = promote_next(services, &run.owner, kind).await {
        tracing::warn!(
            error = format!("{e:#}"),
            "could not enqueue a waiting run; the reconciler will"
        );
    }
    Ok(())
}
