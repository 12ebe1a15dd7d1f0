//! Job handlers. One entry point, [`handle`], for every queue: it marks the
//! run running (or skips a run that already finished: jobs can be delivered
//! twice after a crash), runs the kind's handler, and ends the run.
//!
//! Error policy (apalis-redis retries any `Err` without limit): what goes wrong
//! *in* the job (a server that fails, credentials that no longer decrypt) ends
//! the run as `failed` and returns `Ok`; only infrastructure faults (the
//! database or the event bus unreachable) return `Err` so the job is retried.
//! A panic fails the run instead of leaving it `running`.

mod agent;
mod discover;
pub mod invoke;
mod test;

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use anyhow::Context as _;
use apalis::prelude::{BoxDynError, Data};
use futures::FutureExt as _;
use serde_json::Value;
use switchboard_core::jobs::{RunJob, RunKind};
use switchboard_core::mcp::ProbeReport;
use switchboard_core::runs::{RunEvent, RunRecord, RunStatus, Step, TestResult};
use switchboard_core::services::Services;
use switchboard_core::store::now;

use crate::metrics;
use crate::sessions::Sessions;

/// What every job handler gets (apalis `Data`).
#[derive(Debug, Clone)]
pub struct JobContext {
    pub services: Services,
    /// Open MCP sessions of this process, reused by tool calls.
    pub sessions: Sessions,
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    pub steps: Vec<Step>,
    /// The run's result: a test's [`TestResult`], or a tool call's result.
    pub result: Option<Value>,
    /// `(code, message)` when the run failed.
    pub error: Option<(String, String)>,
}

impl Outcome {
    /// A failure before any step ran (e.g. the input could not be read).
    pub fn failed(run: &RunRecord, code: &str, message: &str) -> Self {
        Self {
            steps: run.steps.0.clone(),
            result: None,
            error: Some((code.to_owned(), message.to_owned())),
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

/// The apalis handler of every queue.
pub async fn handle(job: RunJob, context: Data<JobContext>) -> Result<(), BoxDynError> {
    let JobContext { services, sessions } = context.0;
    match AssertUnwindSafe(run(&services, &sessions, job)).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::error!(run_id = %job.run_id, error = format!("{e:#}"), "job failed on an infrastructure fault; it will be retried");
            Err(e.into())
        }
        Err(_) => {
            tracing::error!(run_id = %job.run_id, "job panicked; failing its run");
            if let Ok(run) = services.store.run_by_id(job.run_id).await {
                let outcome = Outcome::failed(
                    &run,
                    "INTERNAL_ERROR",
                    "an internal error stopped this run; please retry",
                );
                let kind = RunKind::parse(&run.kind).unwrap_or(RunKind::ConnectionTest);
                let _ = finish(&services, &run, kind, outcome, Instant::now()).await;
            }
            Ok(())
        }
    }
}

async fn run(services: &Services, sessions: &Sessions, job: RunJob) -> anyhow::Result<()> {
    let started = Instant::now();
    let Some(run) = services.store.start_run(job.run_id, now()).await? else {
        tracing::debug!(run_id = %job.run_id, "run already finished; duplicate delivery ignored");
        return Ok(());
    };
    let kind = RunKind::parse(&run.kind).with_context(|| format!("run {} has unknown kind {}", run.id, run.kind))?;
    if run.attempts == 1 {
        let waited = run.started_at.unwrap_or(run.created_at) - run.created_at;
        metrics::job_waited(kind, waited.to_std().unwrap_or_default());
    }
    publish(services, run.id, RunEvent::Started { attempt: run.attempts }).await;
    let outcome = match kind {
        RunKind::ConnectionTest => test::run(services, &run).await?,
        RunKind::DiscoverTools => discover::run(services, &run).await?,
        RunKind::InvokeTool => invoke::run(services, sessions, &run).await?,
        RunKind::AgentTurn => agent::run(services, &run).await?,
    };
    finish(services, &run, kind, outcome, started).await
}

/// Publishes a run event. The `runs` row is the truth: when the bus is down
/// (a stalled Redis) waiters find the change by their safety-net read, so a
/// failed publish is logged, not retried.
async fn publish(services: &Services, run_id: uuid::Uuid, event: RunEvent) {
    if let Err(e) = services.events.append(run_id, event).await {
        tracing::warn!(%run_id, error = format!("{e:#}"), "failed to publish a run event");
    }
}

/// Writes the outcome to the run, then publishes the terminal event (so a
/// client that reacts to the event reads the final row).
async fn finish(
    services: &Services,
    run: &RunRecord,
    kind: RunKind,
    outcome: Outcome,
    started: Instant,
) -> anyhow::Result<()> {
    let status = if outcome.error.is_none() {
        RunStatus::Succeeded
    } else {
        RunStatus::Failed
    };
    let error = outcome.error.as_ref().map(|(c, m)| (c.as_str(), m.as_str()));
    let finished = services
        .store
        .finish_run(run.id, status, &outcome.steps, outcome.result.as_ref(), error, now())
        .await?;
    if finished.is_none() {
        metrics::job_finished(kind, "duplicate", started.elapsed());
        return Ok(());
    }
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
    Ok(())
}
