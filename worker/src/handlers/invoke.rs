//! `InvokeTool`: call one catalog tool, with the retry policy (see
//! `switchboard_core::mcp::call`) and crash safety: the run records
//! `dispatched_at` before a `tools/call` is sent, and a job recovered after a
//! crash that finds an unsafe call already dispatched does not send it again
//! but fails with `OUTCOME_UNKNOWN`.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use switchboard_core::approvals::{DefaultPolicy, Policy};
use switchboard_core::domain::UserId;
use switchboard_core::mcp::StepStatus;
use switchboard_core::mcp::call::{self, CallFailure, FailureKind};
use switchboard_core::oauth::{OAuthTarget, TokenError};
use switchboard_core::runs::launch::sealed_input_aad;
use switchboard_core::runs::{InvocationInput, RunRecord, Step, ToolTarget};
use switchboard_core::services::Services;
use switchboard_core::store::{InvocationRecord, PolicyOwner, StoreError, now};
use switchboard_plugins::{ToolAuth, ToolContext};

use super::{Lease, Outcome};
use crate::progress::Progress;
use crate::sessions::Sessions;

pub async fn run(services: &Services, sessions: &Sessions, run: &RunRecord, lease: &Lease) -> anyhow::Result<Outcome> {
    let Some(target) = run.input.tool.clone() else {
        return Ok(Outcome::failed(run, "INTERNAL_ERROR", "this run names no tool"));
    };
    let owner = UserId::parse(&run.owner).map_err(anyhow::Error::msg)?;
    // Attempts of earlier deliveries (a worker that stopped) keep their steps.
    let earlier = run
        .steps
        .iter()
        .filter(|s| s.name.starts_with("attempt_") && s.status != StepStatus::Pending)
        .count();
    if run.attempts > 1 && run.dispatched_at.is_some() && !target.safe_to_repeat() {
        let mut outcome = Outcome::failed(
            run,
            "OUTCOME_UNKNOWN",
            "a worker stopped after this call was sent, so it may or may not have taken effect; it was not sent \
             again because the tool is not marked read-only or idempotent. Check the result in the tool itself.",
        );
        outcome.invocation = Some(Logged {
            target,
            attempts: i32::try_from(earlier).unwrap_or(i32::MAX),
            took: Duration::ZERO,
        });
        return Ok(outcome);
    }
    let arguments = match &run.sealed_input {
        Some(blob) => match services
            .vault
            .open_json::<InvocationInput>(sealed_input_aad(&run.owner, &run.id.to_string()), blob)
        {
            Ok(input) => input.arguments,
            Err(e) => {
                tracing::error!(run_id = %run.id, error = %e, "cannot open an invocation's arguments");
                return Ok(Outcome::failed(
                    run,
                    "INTERNAL_ERROR",
                    "the call's arguments could not be read; call again",
                ));
            }
        },
        None => Map::new(),
    };

    let started = Instant::now();
    let progress = Progress::start(services.events.clone(), run.id, run.steps.0.clone());
    let observer = progress.sender();
    // One retry per run, in its first delivery: a delivery after a stopped
    // worker sends a safe call once more, and nothing more.
    let retries = if earlier == 0 { 1 } else { 0 };
    let mut attempt = earlier;
    let result = loop {
        attempt += 1;
        let name = format!("attempt_{attempt}");
        observer.send(Step {
            name: name.clone(),
            status: StepStatus::Running,
            duration_ms: None,
            message: None,
        });
        let began = Instant::now();
        let result = call_once(services, sessions, run, lease, &owner, &target, arguments.clone()).await;
        let duration_ms = Some(switchboard_core::runs::round_ms(began.elapsed().as_secs_f64() * 1000.0));
        match result {
            Ok(value) => {
                observer.send(Step {
                    name,
                    status: StepStatus::Ok,
                    duration_ms,
                    message: None,
                });
                break Ok(value);
            }
            Err(failure) if attempt - earlier <= retries && failure.retryable(target.safe_to_repeat()) => {
                let delay = services.settings.agent.retry_delay;
                let message = format!(
                    "{} ({}); retrying in {} s",
                    failure.message,
                    failure.code,
                    delay.as_secs_f64()
                );
                observer.send(Step {
                    name,
                    status: StepStatus::Failed,
                    duration_ms,
                    message: Some(message),
                });
                metrics::counter!("switchboard_invocation_retries_total", "reason" => kind_label(failure.kind))
                    .increment(1);
                tokio::time::sleep(delay).await;
            }
            Err(failure) => {
                let message = format!("{} ({})", failure.message, failure.code);
                observer.send(Step {
                    name,
                    status: StepStatus::Failed,
                    duration_ms,
                    message: Some(message),
                });
                break Err(failure);
            }
        }
    };
    drop(observer);
    // The outcome is recorded as soon as the call returns: the step events
    // and the invocation log follow it (see `handlers::finish`).
    let (result, error) = match result {
        Ok(value) => (Some(value), None),
        Err(failure) => (None, Some((failure.code, failure.message))),
    };
    Ok(Outcome {
        steps: progress.snapshot(),
        result,
        error,
        progress: Some(progress),
        invocation: Some(Logged {
            target,
            attempts: i32::try_from(attempt).unwrap_or(i32::MAX),
            took: started.elapsed(),
        }),
        park: None,
    })
}

/// One attempt: a connector tool through its MCP session, or a system tool.
async fn call_once(
    services: &Services,
    sessions: &Sessions,
    run: &RunRecord,
    lease: &Lease,
    owner: &UserId,
    target: &ToolTarget,
    arguments: Map<String, Value>,
) -> Result<Value, CallFailure> {
    let call = Call {
        services,
        run,
        lease,
        owner,
        target,
    };
    match (target.connector_id, &target.system_tool) {
        (Some(connector_id), _) => call.connector_tool(sessions, connector_id, arguments).await,
        (None, Some(tool_id)) => call.system_tool(tool_id, arguments).await,
        (None, None) => Err(CallFailure::new(
            FailureKind::Permanent,
            "INTERNAL_ERROR",
            "this run names no tool source",
        )),
    }
}

/// What every attempt works with.
struct Call<'a> {
    services: &'a Services,
    run: &'a RunRecord,
    lease: &'a Lease,
    owner: &'a UserId,
    target: &'a ToolTarget,
}

fn infra(e: StoreError) -> CallFailure {
    CallFailure::new(FailureKind::Transient, "INTERNAL_ERROR", format!("storage failed: {e}"))
}

impl Call<'_> {
    async fn connector_tool(
        &self,
        sessions: &Sessions,
        connector_id: uuid::Uuid,
        arguments: Map<String, Value>,
    ) -> Result<Value, CallFailure> {
        let Self {
            services,
            run,
            lease,
            owner,
            target,
        } = *self;
        let timeout = services.settings.agent.invoke_timeout;
        let connector = match services.store.connector(owner, connector_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                return Err(CallFailure::new(
                    FailureKind::Permanent,
                    "TOOL_NOT_FOUND",
                    "the connector was deleted",
                ));
            }
            Err(e) => return Err(infra(e)),
        };
        if !connector.enabled {
            return Err(CallFailure::new(
                FailureKind::Permanent,
                "TOOL_NOT_FOUND",
                "the connector is disabled",
            ));
        }
        let own = services
            .store
            .own_policy(owner, PolicyOwner::Connector(connector_id), &target.tool_name)
            .await
            .map_err(infra)?;
        let default = DefaultPolicy::parse(&connector.tool_policy);
        still_allowed(run, own.unwrap_or_else(|| default.for_tool(target.read_only)))?;
        let session = sessions
            .get(services, &connector, services.settings.jobs.test_budget)
            .await;
        let mut stateless = false;
        let result = match session {
            Ok(session) => {
                dispatch(services, run, lease).await?;
                stateless = call::is_stateless(&session);
                call::call_tool(&session, &target.tool_name, arguments, timeout, &services.mcp.limits()).await
            }
            Err(failure) => Err(failure),
        };
        if let Err(failure) = &result {
            // A stateless session costs nothing to open again, and the
            // server may have changed era: detect it again next time.
            if stateless {
                services.mcp.forget_era(&connector.server_url);
            }
            if failure.breaks_session() || stateless {
                sessions.evict(connector_id);
            }
            // The server wants (more) authorization: the connector shows
            // Authorize, which asks for what the server's challenge named.
            if failure.needs_authorization() && connector.auth_type == "oauth" {
                let asked = services
                    .oauth
                    .authorization_needed(owner.as_str(), connector_id, failure.challenge.as_deref())
                    .await;
                if let Err(e) = asked {
                    tracing::warn!(error = format!("{e:#}"), "could not mark a connector for authorization");
                }
            }
        }
        result
    }

    async fn system_tool(&self, tool_id: &str, arguments: Map<String, Value>) -> Result<Value, CallFailure> {
        let Self {
            services,
            run,
            lease,
            owner,
            target,
        } = *self;
        let timeout = services.settings.agent.invoke_timeout;
        let tool = switchboard_plugins::registry()
            .get(tool_id)
            .ok_or_else(|| CallFailure::new(FailureKind::Permanent, "TOOL_NOT_FOUND", "no such system tool"))?;
        let connection = services
            .store
            .user_tools(owner)
            .await
            .map_err(infra)?
            .into_iter()
            .find(|t| t.tool_id == *tool_id && t.connected);
        let Some(connection) = connection else {
            return Err(CallFailure::new(
                FailureKind::Permanent,
                "NOT_CONNECTED",
                format!(
                    "{} is not connected: connect it in the Apps menu first",
                    tool.descriptor().name
                ),
            ));
        };
        let own = services
            .store
            .own_policy(owner, PolicyOwner::SystemTool(tool_id), &target.tool_name)
            .await
            .map_err(infra)?;
        let default = DefaultPolicy::parse(&connection.tool_policy);
        still_allowed(run, own.unwrap_or_else(|| default.for_tool(target.read_only)))?;
        // Google tools call their API with the user's own, fresh access token.
        let credentials = match tool.descriptor().auth {
            ToolAuth::Google { .. } => {
                let target = OAuthTarget::SystemTool(tool.descriptor().id);
                match services.oauth.access_token(owner.as_str(), target).await {
                    Ok(granted) => Some(json!({"access_token": granted.token.expose()})),
                    Err(TokenError::NeedsAuthorization(_)) => {
                        return Err(CallFailure::new(
                            FailureKind::Permanent,
                            "NOT_CONNECTED",
                            format!(
                                "{} needs to be connected again: reconnect it in the Apps menu",
                                tool.descriptor().name
                            ),
                        ));
                    }
                    Err(e) => return Err(CallFailure::new(FailureKind::NotReached, "AUTH_FAILED", e.to_string())),
                }
            }
            ToolAuth::None => None,
        };
        let ctx = ToolContext {
            services,
            user: owner,
            credentials,
        };
        dispatch(services, run, lease).await?;
        match tokio::time::timeout(timeout, tool.invoke(&ctx, &target.tool_name, Value::Object(arguments))).await {
            Err(_) => Err(CallFailure::new(
                FailureKind::Transient,
                "TIMEOUT",
                "the tool did not answer in time",
            )),
            Ok(Ok(output)) => Ok(json!({
                "content": output.content,
                "structuredContent": output.structured,
                "isError": output.is_error,
            })),
            Ok(Err(e)) => Err(CallFailure::new(FailureKind::Permanent, e.code, e.message)),
        }
    }
}

/// The tool's policy now, checked before anything is sent: the user may have
/// blocked it, or made it ask, since the call was made (an agent turn reads
/// its catalog once). A call that asks needs an approval (its own, or the
/// gateway grant it used).
fn still_allowed(run: &RunRecord, policy: Policy) -> Result<(), CallFailure> {
    match policy {
        Policy::Allow => Ok(()),
        Policy::Ask if run.input.approval_id.is_some() => Ok(()),
        Policy::Ask => Err(CallFailure::new(
            FailureKind::Permanent,
            "APPROVAL_REQUIRED",
            "this tool now asks for your approval first; nothing was sent: call it again",
        )),
        Policy::Block => Err(CallFailure::new(
            FailureKind::Permanent,
            "TOOL_NOT_FOUND",
            "this tool was blocked; nothing was sent",
        )),
    }
}

/// Records (compare-and-set on the lease) that the call is about to be sent;
/// a worker whose lease was taken over sends nothing.
async fn dispatch(services: &Services, run: &RunRecord, lease: &Lease) -> Result<(), CallFailure> {
    match services.store.mark_dispatched(run.id, lease.owner(), now()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(CallFailure::new(
            FailureKind::Permanent,
            "LEASE_LOST",
            "this worker lost the run to another before sending the call; nothing was sent",
        )),
        Err(e) => Err(CallFailure::new(
            FailureKind::NotReached,
            "INTERNAL_ERROR",
            format!("storage failed: {e}"),
        )),
    }
}

fn kind_label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::NotReached => "not_reached",
        FailureKind::Refused => "refused",
        FailureKind::Transient => "transient",
        FailureKind::Permanent => "permanent",
    }
}

/// A tool call to log once its outcome is recorded.
#[derive(Debug)]
pub struct Logged {
    pub target: ToolTarget,
    pub attempts: i32,
    pub took: Duration,
}

/// The invocation log row, the metrics and one structured event; never the arguments.
pub async fn log(services: &Services, run: &RunRecord, outcome: &Outcome, logged: Logged) {
    let Logged { target, attempts, took } = logged;
    let tool_error = outcome
        .result
        .as_ref()
        .and_then(|r| r.get("isError"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let label = match (&outcome.error, tool_error) {
        (Some(_), _) => "failed",
        (None, true) => "tool_error",
        (None, false) => "ok",
    };
    let code = outcome.error.as_ref().map(|e| e.0.clone());
    let duration_ms = took.as_secs_f64() * 1000.0;
    let t = now();
    let record = InvocationRecord {
        id: uuid::Uuid::now_v7(),
        owner: run.owner.clone(),
        run_id: run.id,
        source_kind: target.source_kind.clone(),
        connector_id: target.connector_id,
        system_tool: target.system_tool.clone(),
        tool_name: target.tool_name.clone(),
        catalog_name: target.catalog_name.clone(),
        outcome: label.to_owned(),
        error_code: code.clone(),
        attempts,
        duration_ms,
        created_at: t,
        updated_at: t,
    };
    if let Err(e) = services.store.record_invocation(&record).await {
        tracing::warn!(error = %e, run_id = %run.id, "failed to record an invocation");
    }
    let source = target.source_kind.clone();
    metrics::counter!("switchboard_invocations_total", "source" => source.clone(), "outcome" => label).increment(1);
    metrics::histogram!("switchboard_invocation_seconds", "source" => source).record(took.as_secs_f64());
    tracing::info!(
        target: "switchboard::invocations",
        run_id = %run.id,
        user_id = %run.owner,
        connector_id = ?target.connector_id,
        system_tool = ?target.system_tool,
        tool = %target.catalog_name,
        attempts,
        outcome = label,
        code = ?code,
        duration_ms,
        "tool invoked"
    );
}
