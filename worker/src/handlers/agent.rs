//! `AgentTurn`: one turn of an agent. The model (OpenAI-compatible Chat
//! Completions) is offered the user's catalog — only the selected tools when
//! the user picked some, with `tool_choice` forcing the pick on the first
//! request — and each tool call it makes runs as an `InvokeTool` run on the
//! tool queue (same checks, retry policy and timeouts as any call), whose
//! result goes back to the model, until it answers or the step cap is hit.
//! A model that answers without using a selected tool is forced once more;
//! if it still does not, the turn fails with `SELECTED_TOOL_NOT_USED`.
//!
//! Steps (streamed over the run's SSE): `model_N` per model request,
//! `tool_N` per tool call (the tool, its run id and outcome, never the
//! arguments), and `answer` with the final message.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::{Map, Value, json};
use switchboard_core::catalog::Catalog;
use switchboard_core::domain::UserId;
use switchboard_core::llm::{ChatModel, Reply, ToolCall};
use switchboard_core::mcp::StepStatus;
use switchboard_core::runs::launch::sealed_input_aad;
use switchboard_core::runs::{AgentInput, RunRecord, RunStatus, Step};
use switchboard_core::services::Services;
use switchboard_plugins::calls::{self, CallError, CallRequest};

use super::Outcome;
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
    let progress = Progress::start(services.events.clone(), run.id, Vec::new());
    let turn = Turn {
        turn_id: run.id,
        services,
        owner: &owner,
        catalog: &catalog,
        model: &model,
        steps: progress.sender(),
    };
    let started = Instant::now();
    let result = turn.run(input).await;
    drop(turn);
    let steps = progress.finish().await;
    let outcome = match result {
        Ok(answer) => Outcome {
            steps,
            result: Some(answer),
            ..Outcome::default()
        },
        Err((code, message)) => Outcome {
            steps,
            error: Some((code.to_owned(), message)),
            ..Outcome::default()
        },
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

type TurnError = (&'static str, String);

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
    async fn run(&self, input: AgentInput) -> Result<Value, TurnError> {
        let selected: Vec<String> = input.selected_tools;
        let offered: Vec<Value> = self
            .catalog
            .entries()
            .iter()
            .filter(|e| selected.is_empty() || selected.contains(&e.name))
            .map(|e| json!({"type": "function", "function": {"name": e.name, "description": e.description.clone().unwrap_or_else(|| e.display_name.clone()), "parameters": e.input_schema}}))
            .collect();
        if offered.len() < selected.len() {
            return Err(("TOOL_NOT_FOUND", "a selected tool is no longer in your catalog".into()));
        }
        let offered_names: HashSet<&str> = offered.iter().filter_map(|t| t["function"]["name"].as_str()).collect();
        let mut messages = vec![json!({"role": "system", "content": SYSTEM_PROMPT})];
        messages.extend(input.messages);
        let mut used: Vec<Value> = Vec::new();
        let mut reforced = false;
        let max_steps = self.services.settings.agent.agent_max_steps;
        for step in 1..=max_steps {
            let unused: Vec<&String> = selected
                .iter()
                .filter(|s| !used.iter().any(|u| u["tool"] == s.as_str()))
                .collect();
            let force = (step == 1 || reforced) && !unused.is_empty();
            let choice = force.then(|| match unused.as_slice() {
                [one] => json!({"type": "function", "function": {"name": one}}),
                _ => json!("required"),
            });
            let reply = self.ask(step, &messages, &offered, choice).await?;
            if reply.tool_calls.is_empty() {
                if !unused.is_empty() {
                    if !reforced && step < max_steps {
                        reforced = true;
                        messages.push(reply.message);
                        messages.push(json!({"role": "user", "content": format!("Use the selected tool {} to answer.", unused[0])}));
                        continue;
                    }
                    metrics::counter!("switchboard_selected_tool_not_used_total").increment(1);
                    return Err((
                        "SELECTED_TOOL_NOT_USED",
                        format!(
                            "the model answered without using the selected tool {}; try again or pick another model",
                            unused[0]
                        ),
                    ));
                }
                let answer = reply.content.unwrap_or_default();
                self.steps.send(Step {
                    name: "answer".into(),
                    status: StepStatus::Ok,
                    duration_ms: None,
                    message: Some(answer.clone()),
                });
                return Ok(json!({"message": answer, "tool_calls": used}));
            }
            reforced = false;
            messages.push(reply.message);
            for (index, call) in reply.tool_calls.iter().enumerate() {
                let n = used.len() + 1;
                let key = format!("turn-{}-{step}-{index}", self.turn_id);
                let (summary, content) = self.call(n, call, &offered_names, key).await;
                used.push(summary);
                messages.push(json!({"role": "tool", "tool_call_id": call.id, "content": content}));
            }
        }
        Err((
            "AGENT_STEP_LIMIT",
            format!("the agent did not finish within {max_steps} model requests"),
        ))
    }

    async fn ask(
        &self,
        step: u32,
        messages: &[Value],
        tools: &[Value],
        choice: Option<Value>,
    ) -> Result<Reply, TurnError> {
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
                Err((e.code, e.message))
            }
        }
    }

    /// Runs one tool call through the tool queue; returns its summary and what the model reads.
    async fn call(&self, n: usize, call: &ToolCall, offered: &HashSet<&str>, key: String) -> (Value, String) {
        let name = format!("tool_{n}");
        self.steps.send(Step {
            name: name.clone(),
            status: StepStatus::Running,
            duration_ms: None,
            message: Some(call.name.clone()),
        });
        let began = Instant::now();
        let (summary, content) = self.invoke(call, offered, key).await;
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
        (summary, content)
    }

    async fn invoke(&self, call: &ToolCall, offered: &HashSet<&str>, key: String) -> (Value, String) {
        let refused = |outcome: String| {
            (
                json!({"tool": call.name, "status": "refused", "outcome": outcome}),
                outcome,
            )
        };
        if !offered.contains(call.name.as_str()) {
            return refused(format!("the tool {} was not offered for this turn", call.name));
        }
        let arguments = match serde_json::from_str::<Value>(if call.arguments.trim().is_empty() {
            "{}"
        } else {
            &call.arguments
        }) {
            Ok(Value::Object(map)) => map,
            _ => return refused("the arguments are not a JSON object".into()),
        };
        let request = CallRequest {
            tool: call.name.clone(),
            arguments,
            idempotency_key: Some(key),
        };
        let run = match calls::start_in(self.services, self.owner, self.catalog, request).await {
            Ok(run) => run,
            Err(CallError::Invalid(errors)) => return refused(format!("invalid arguments: {}", json!(errors))),
            Err(e) => return refused(e.to_string()),
        };
        let budget = self.services.settings.call_budget();
        let done = switchboard_core::runs::wait::until_finished(self.services, self.owner, run.id, budget).await;
        let Ok(done) = done else {
            return refused("the tool call's state could not be read".into());
        };
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
                format!("the call failed: {code}: {}", done.error_message.unwrap_or_default())
            }
            _ => {
                summary.insert("outcome".into(), json!("still running"));
                "the call is still running; its result is not available yet".into()
            }
        };
        (Value::Object(summary), content)
    }
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
