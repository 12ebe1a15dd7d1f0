//! `AgentTurn`: one turn of an agent. The model (OpenAI-compatible Chat
//! Completions) is offered the user's catalog — only the selected tools when
//! the user picked some, with `tool_choice` forcing the pick on the first
//! request — and each tool call it makes runs as an `InvokeTool` run on the
//! tool queue (same checks, retry policy and timeouts as any call), whose
//! result goes back to the model, until it answers or the step cap is hit.
//! A model that answers without using a selected tool is forced once more;
//! if it still does not, the turn fails with `SELECTED_TOOL_NOT_USED`.
//!
//! A call of a tool whose policy is `ask` parks the turn: where it stopped
//! (the transcript so far and the step's calls, sealed in the run's input)
//! is stored, the turn waits in `awaiting_approval` holding no worker, and
//! the decision enqueues it again; it resumes with the call's outcome — a
//! denial or expiry reaches the model as the tool's error ("the user did not
//! approve this call"), so it can continue or explain.
//!
//! Steps (streamed over the run's SSE): `model_N` per model request,
//! `tool_N` per tool call (the tool, its run id and outcome, never the
//! arguments), and `answer` with the final message.

use std::collections::HashSet;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use switchboard_core::approvals::Origin;
use switchboard_core::catalog::Catalog;
use switchboard_core::domain::UserId;
use switchboard_core::llm::{ChatModel, Reply, ToolCall};
use switchboard_core::mcp::StepStatus;
use switchboard_core::runs::launch::sealed_input_aad;
use switchboard_core::runs::{AgentInput, RunRecord, RunStatus, Step};
use switchboard_core::services::Services;
use switchboard_plugins::calls::{self, CallError, CallRequest};

use super::{Outcome, Parking};
use crate::progress::{Progress, StepSender};

const SYSTEM_PROMPT: &str = "You are an assistant with tools. Use them when they help; \
    when the user selected a tool, use it to answer.";

pub async fn run(services: &Services, run: &RunRecord) -> anyhow::Result<Outcome> {
    let Some(model) = ChatModel::from_settings(&services.settings.agent, &services.operator_http) else {
        return Ok(Outcome::failed(
            run,
            "AGENT_NOT_CONFIGURED",
            "no model is configured (SWITCHBOARD_LLM_BASE_URL, SWITCHBOARD_LLM_MODEL)",
        ));
    };
    let owner = UserId::parse(&run.owner).map_err(anyhow::Error::msg)?;
    let row = run.id.to_string();
    let aad = sealed_input_aad(&run.owner, &row);
    let input = run
        .sealed_input
        .as_ref()
        .and_then(|blob| services.vault.open_json::<AgentInput>(aad, blob).ok());
    let Some(input) = input else {
        return Ok(Outcome::failed(
            run,
            "INTERNAL_ERROR",
            "the conversation could not be read; send it again",
        ));
    };
    let catalog = switchboard_plugins::catalog::load(&*services.store, &owner).await?;
    let progress = Progress::start(services.events.clone(), run.id, run.steps.0.clone());
    let turn = Turn {
        turn_id: run.id,
        services,
        owner: &owner,
        catalog: &catalog,
        model: &model,
        steps: progress.sender(),
    };
    let started = Instant::now();
    let selected_tools = input.selected_tools.clone();
    let result = turn.run(input).await;
    drop(turn);
    let steps = progress.finish().await;
    let outcome = match result {
        Ok(answer) => Outcome {
            steps,
            result: Some(answer),
            ..Outcome::default()
        },
        Err(Stop::Failed(code, message)) => Outcome {
            steps,
            error: Some((code.to_owned(), message)),
            ..Outcome::default()
        },
        Err(Stop::Parked(resume, approval_id)) => {
            let waiting_on = resume.waiting_on.unwrap_or_default();
            let input = AgentInput {
                messages: Vec::new(),
                selected_tools,
                resume: Some(serde_json::to_value(&*resume)?),
            };
            return Ok(Outcome {
                steps,
                park: Some(Parking {
                    input,
                    waiting_on,
                    approval_id,
                }),
                ..Outcome::default()
            });
        }
    };
    let label = outcome.error.as_ref().map_or("succeeded", |(code, _)| {
        if code == "SELECTED_TOOL_NOT_USED" {
            "selected_tool_not_used"
        } else {
            "failed"
        }
    });
    metrics::counter!("switchboard_agent_turns_total", "outcome" => label).increment(1);
    metrics::histogram!("switchboard_agent_turn_seconds").record(started.elapsed().as_secs_f64());
    Ok(outcome)
}

/// Why a turn stopped before answering.
enum Stop {
    Failed(&'static str, String),
    /// A call waits for approval (the approval's id): the turn parks.
    Parked(Box<Resume>, uuid::Uuid),
}

impl From<(&'static str, String)> for Stop {
    fn from((code, message): (&'static str, String)) -> Self {
        Self::Failed(code, message)
    }
}

/// Where a turn stopped: enough to go on from there.
#[derive(Serialize, Deserialize)]
struct Resume {
    /// The conversation so far, the system prompt first.
    messages: Vec<Value>,
    /// Summaries of the calls made.
    used: Vec<Value>,
    /// The model request whose calls are being made.
    step: u32,
    reforced: bool,
    /// That request's calls, and the next one to make.
    calls: Vec<ToolCall>,
    next: usize,
    /// The run of `calls[next]`, waiting for approval.
    waiting_on: Option<uuid::Uuid>,
}

/// What one call came to.
enum Called {
    /// Its summary and what the model reads.
    Done(Value, String),
    /// Its run waits for this approval.
    Waits(uuid::Uuid, uuid::Uuid),
}

struct Turn<'a> {
    /// The turn's run: with the step and the call's index, its calls'
    /// idempotency key, so a turn taken over after a crash calls no tool twice.
    turn_id: uuid::Uuid,
    services: &'a Services,
    owner: &'a UserId,
    catalog: &'a Catalog,
    model: &'a ChatModel,
    steps: StepSender,
}

impl Turn<'_> {
    async fn run(&self, input: AgentInput) -> Result<Value, Stop> {
        let selected: Vec<String> = input.selected_tools;
        let offered: Vec<Value> = self
            .catalog
            .entries()
            .iter()
            .filter(|e| selected.is_empty() || selected.contains(&e.name))
            .map(|e| json!({"type": "function", "function": {"name": e.name, "description": e.description.clone().unwrap_or_else(|| e.display_name.clone()), "parameters": e.input_schema}}))
            .collect();
        if offered.len() < selected.len() {
            return Err((
                "TOOL_NOT_FOUND",
                "a selected tool is no longer in your catalog".to_owned(),
            )
                .into());
        }
        let offered_names: HashSet<&str> = offered.iter().filter_map(|t| t["function"]["name"].as_str()).collect();
        let mut s = match input.resume {
            Some(resume) => serde_json::from_value::<Resume>(resume).map_err(|_| {
                Stop::Failed(
                    "INTERNAL_ERROR",
                    "the paused turn could not be read; send it again".into(),
                )
            })?,
            None => {
                let mut messages = vec![json!({"role": "system", "content": SYSTEM_PROMPT})];
                messages.extend(input.messages);
                Resume {
                    messages,
                    used: Vec::new(),
                    step: 0,
                    reforced: false,
                    calls: Vec::new(),
                    next: 0,
                    waiting_on: None,
                }
            }
        };
        let max_steps = self.services.settings.agent.agent_max_steps;
        loop {
            // The calls of the current model request, from where the turn stopped.
            while s.next < s.calls.len() {
                let call = s.calls[s.next].clone();
                let key = format!("turn-{}-{}-{}", self.turn_id, s.step, s.next);
                let waited = s.waiting_on.take();
                match self.call(s.used.len() + 1, &call, &offered_names, key, waited).await {
                    Called::Done(summary, content) => {
                        s.used.push(summary);
                        s.messages
                            .push(json!({"role": "tool", "tool_call_id": call.id, "content": content}));
                        s.next += 1;
                    }
                    Called::Waits(run_id, approval_id) => {
                        s.waiting_on = Some(run_id);
                        return Err(Stop::Parked(Box::new(s), approval_id));
                    }
                }
            }
            if s.step >= max_steps {
                return Err((
                    "AGENT_STEP_LIMIT",
                    format!("the agent did not finish within {max_steps} model requests"),
                )
                    .into());
            }
            s.step += 1;
            let step = s.step;
            let unused: Vec<&String> = selected
                .iter()
                .filter(|sel| !s.used.iter().any(|u| u["tool"] == sel.as_str()))
                .collect();
            let force = (step == 1 || s.reforced) && !unused.is_empty();
            let choice = force.then(|| match unused.as_slice() {
                [one] => json!({"type": "function", "function": {"name": one}}),
                _ => json!("required"),
            });
            let reply = self.ask(step, &s.messages, &offered, choice).await?;
            if reply.tool_calls.is_empty() {
                if let Some(first) = unused.first() {
                    if !s.reforced && step < max_steps {
                        let nudge = format!("Use the selected tool {first} to answer.");
                        s.reforced = true;
                        s.messages.push(reply.message);
                        s.messages.push(json!({"role": "user", "content": nudge}));
                        continue;
                    }
                    metrics::counter!("switchboard_selected_tool_not_used_total").increment(1);
                    return Err((
                        "SELECTED_TOOL_NOT_USED",
                        format!(
                            "the model answered without using the selected tool {first}; try again or pick another model"
                        ),
                    )
                        .into());
                }
                let answer = reply.content.unwrap_or_default();
                self.steps.send(Step {
                    name: "answer".into(),
                    status: StepStatus::Ok,
                    duration_ms: None,
                    message: Some(answer.clone()),
                });
                return Ok(json!({"message": answer, "tool_calls": s.used}));
            }
            s.reforced = false;
            s.messages.push(reply.message);
            s.calls = reply.tool_calls;
            s.next = 0;
        }
    }

    async fn ask(&self, step: u32, messages: &[Value], tools: &[Value], choice: Option<Value>) -> Result<Reply, Stop> {
        let name = format!("model_{step}");
        self.steps.send(Step {
            name: name.clone(),
            status: StepStatus::Running,
            duration_ms: None,
            message: None,
        });
        let began = Instant::now();
        let reply = self.model.complete(messages, tools, choice).await;
        let duration_ms = Some(switchboard_core::runs::round_ms(began.elapsed().as_secs_f64() * 1000.0));
        match reply {
            Ok(reply) => {
                let message = match reply.tool_calls.as_slice() {
                    [] => "answered".to_owned(),
                    calls => format!(
                        "asked for {}",
                        calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                };
                self.steps.send(Step {
                    name,
                    status: StepStatus::Ok,
                    duration_ms,
                    message: Some(message),
                });
                Ok(reply)
            }
            Err(e) => {
                self.steps.send(Step {
                    name,
                    status: StepStatus::Failed,
                    duration_ms,
                    message: Some(e.message.clone()),
                });
                Err(Stop::Failed(e.code, e.message))
            }
        }
    }

    /// Runs one tool call through the tool queue (or, resumed, waits for the
    /// one that was waiting for approval); its summary and what the model reads.
    async fn call(
        &self,
        n: usize,
        call: &ToolCall,
        offered: &HashSet<&str>,
        key: String,
        waited: Option<uuid::Uuid>,
    ) -> Called {
        let name = format!("tool_{n}");
        self.steps.send(Step {
            name: name.clone(),
            status: StepStatus::Running,
            duration_ms: None,
            message: Some(call.name.clone()),
        });
        let began = Instant::now();
        let (summary, content) = match self.invoke(call, offered, key, waited).await {
            Ok(done) => done,
            Err((run_id, approval_id)) => {
                self.steps.send(Step {
                    name,
                    status: StepStatus::Pending,
                    duration_ms: None,
                    message: Some(format!("{}: waiting for your approval", call.name)),
                });
                return Called::Waits(run_id, approval_id);
            }
        };
        let duration_ms = Some(switchboard_core::runs::round_ms(began.elapsed().as_secs_f64() * 1000.0));
        let ok = summary["status"] == "succeeded" && summary["is_error"] != true;
        let status = if ok { StepStatus::Ok } else { StepStatus::Failed };
        let message = format!("{}: {}", call.name, summary["outcome"].as_str().unwrap_or_default());
        self.steps.send(Step {
            name,
            status,
            duration_ms,
            message: Some(message),
        });
        Called::Done(summary, content)
    }

    /// The call's summary and content; `Err((run, approval))` when it waits for approval.
    async fn invoke(
        &self,
        call: &ToolCall,
        offered: &HashSet<&str>,
        key: String,
        waited: Option<uuid::Uuid>,
    ) -> Result<(Value, String), (uuid::Uuid, uuid::Uuid)> {
        let refused = |outcome: String| {
            Ok((
                json!({"tool": call.name, "status": "refused", "outcome": outcome}),
                outcome,
            ))
        };
        let run_id = match waited {
            // Resumed by a decision on another approval (one a stopped worker
            // left behind): this call still waits.
            Some(run_id) => match self.services.store.run(self.owner, run_id).await {
                Ok(run) if run.status() == RunStatus::AwaitingApproval => {
                    return Err((run.id, run.input.approval_id.unwrap_or_default()));
                }
                _ => run_id,
            },
            None => match self.start(call, offered, key).await {
                Ok(run) if run.status() == RunStatus::AwaitingApproval => {
                    return Err((run.id, run.input.approval_id.unwrap_or_default()));
                }
                Ok(run) => run.id,
                Err(outcome) => return refused(outcome),
            },
        };
        let budget = self.services.settings.call_budget();
        let done = switchboard_core::runs::wait::until_finished(self.services, self.owner, run_id, budget).await;
        let Ok(done) = done else {
            return refused("the tool call's state could not be read".into());
        };
        Ok(summarize(call, done))
    }

    /// Starts the call; what the model reads when it could not be started.
    async fn start(&self, call: &ToolCall, offered: &HashSet<&str>, key: String) -> Result<RunRecord, String> {
        if !offered.contains(call.name.as_str()) {
            return Err(format!("the tool {} was not offered for this turn", call.name));
        }
        let arguments = match serde_json::from_str::<Value>(if call.arguments.trim().is_empty() {
            "{}"
        } else {
            &call.arguments
        }) {
            Ok(Value::Object(map)) => map,
            _ => return Err("the arguments are not a JSON object".into()),
        };
        let request = CallRequest {
            tool: call.name.clone(),
            arguments,
            idempotency_key: Some(key),
            origin: Origin::Agent,
            turn: Some(self.turn_id),
        };
        match calls::start_in(self.services, self.owner, self.catalog, request).await {
            Ok(run) => Ok(run),
            Err(CallError::Invalid(errors)) => Err(format!("invalid arguments: {}", json!(errors))),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A finished (or still running) call as the turn reports it and the model reads it.
fn summarize(call: &ToolCall, done: RunRecord) -> (Value, String) {
    let mut summary = Map::new();
    summary.insert("tool".into(), json!(call.name));
    summary.insert("run_id".into(), json!(done.id));
    summary.insert("status".into(), json!(done.status));
    let content = match done.status() {
        RunStatus::Succeeded => {
            let result = done.result.map(|r| r.0).unwrap_or(Value::Null);
            let is_error = result["isError"] == true;
            summary.insert("is_error".into(), json!(is_error));
            summary.insert("outcome".into(), json!(if is_error { "tool error" } else { "ok" }));
            tool_text(&result)
        }
        RunStatus::Failed => {
            let code = done.error_code.unwrap_or_default();
            summary.insert("outcome".into(), json!(code));
            match code.as_str() {
                "APPROVAL_DENIED" => "the user did not approve this call, so it was not made".to_owned(),
                "APPROVAL_TIMEOUT" => "nobody approved this call in time, so it was not made".to_owned(),
                _ => format!("the call failed: {code}: {}", done.error_message.unwrap_or_default()),
            }
        }
        _ => {
            summary.insert("outcome".into(), json!("still running"));
            "the call is still running; its result is not available yet".into()
        }
    };
    (Value::Object(summary), content)
}

/// What the model reads of a tool result: the text blocks, or the structured content.
fn tool_text(result: &Value) -> String {
    let texts: Vec<&str> = result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect();
    if !texts.is_empty() {
        return texts.join("\n");
    }
    match &result["structuredContent"] {
        Value::Null => result.to_string(),
        structured => structured.to_string(),
    }
}
