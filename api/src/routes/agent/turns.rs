//! `POST /api/agent/runs`: one agent turn as a run (an `AgentTurn` job on its
//! own queue). The user may select tools — `selected_tools`, or leading
//! `[TOOL:name]` markers in the last user message, which are stripped before
//! the model sees the text — and the turn then must use them. Without a
//! configured model the route answers 503 `AGENT_NOT_CONFIGURED`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard_core::domain::{FieldError, UserId};
use switchboard_core::jobs::RunKind;
use switchboard_core::runs::launch::{NewRun, launch};
use switchboard_core::runs::{AgentInput, RunInput};
use switchboard_core::secret::REDACTED;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::oplog::Op;
use crate::runs::{RunView, prefer_wait, respond};
use crate::state::AppState;

pub const MAX_MESSAGES: usize = 200;

/// Body of `POST /api/agent/runs` (`Debug` leaves out the conversation).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentTurnInput {
    /// The conversation so far, ending with the user's message.
    pub messages: Vec<ChatMessage>,
    /// Catalog names of tools the turn must use (for this turn only).
    #[serde(default)]
    pub selected_tools: Vec<String>,
}

/// One message of the conversation (`Debug` leaves out its content).
#[derive(Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl std::fmt::Debug for AgentTurnInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTurnInput")
            .field("messages", &self.messages)
            .field("selected_tools", &self.selected_tools)
            .finish()
    }
}

impl std::fmt::Debug for ChatMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatMessage")
            .field("role", &self.role)
            .field("content", &REDACTED)
            .finish()
    }
}

/// Runs one agent turn.
#[utoipa::path(post, path = "/api/agent/runs", tag = "agent", request_body = AgentTurnInput,
    params(("Prefer" = Option<String>, Header, description = "`wait=N`: wait up to N seconds for the answer")),
    responses((status = 202, body = RunView), (status = 200, body = RunView), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, description = "AGENT_NOT_CONFIGURED", body = ErrorBody)))]
pub async fn start_turn(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AgentTurnInput>,
) -> ApiResult<Response> {
    let op = Op::start("agent.turn", &user);
    let result = async {
        let run = launch_turn(&state, &user, body).await?;
        respond(&state, &user, run, prefer_wait(&headers)).await
    }
    .await;
    op.finish(None, result)
}

async fn launch_turn(
    state: &AppState,
    user: &UserId,
    body: AgentTurnInput,
) -> ApiResult<switchboard_core::runs::RunRecord> {
    if !state.settings.agent.agent_enabled() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "AGENT_NOT_CONFIGURED",
            "no model is configured: set SWITCHBOARD_LLM_BASE_URL and SWITCHBOARD_LLM_MODEL; tools and the MCP gateway work without one",
        ));
    }
    let (messages, selected) = checked(body)?;
    let catalog = switchboard_plugins::catalog::load(&*state.store, user).await?;
    let unknown: Vec<FieldError> = selected
        .iter()
        .enumerate()
        .filter(|(_, name)| catalog.get(name).is_none())
        .map(|(i, name)| FieldError {
            loc: vec!["body".into(), "selected_tools".into(), i.to_string()],
            msg: format!("no tool `{name}` in your catalog (is it connected and switched on?)"),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::validation(unknown));
    }
    state
        .invoke_limiter
        .check(user)
        .await
        .map_err(|retry| ApiError::rate_limited("requests", retry))?;
    let input = AgentInput {
        messages: messages.iter().map(|m| json!(m)).collect(),
        selected_tools: selected,
        resume: None,
    };
    let new = NewRun {
        owner: user.clone(),
        kind: RunKind::AgentTurn,
        connector_id: None,
        input: RunInput::default(),
        sealed: Some(json!(input)),
        idempotency: None,
    };
    Ok(launch(&state.services, new).await?)
}

/// Checks the conversation and moves leading `[TOOL:name]` markers of the
/// last message into the selection.
fn checked(body: AgentTurnInput) -> ApiResult<(Vec<ChatMessage>, Vec<String>)> {
    let mut errors = Vec::new();
    let mut messages = body.messages;
    if messages.is_empty() || messages.len() > MAX_MESSAGES {
        errors.push(FieldError::body(
            &["messages"],
            format!("send 1 to {MAX_MESSAGES} messages"),
        ));
    }
    for (i, m) in messages.iter().enumerate() {
        if !matches!(m.role.as_str(), "system" | "user" | "assistant") {
            errors.push(FieldError {
                loc: vec!["body".into(), "messages".into(), i.to_string(), "role".into()],
                msg: "use system, user or assistant".into(),
            });
        }
    }
    if messages.last().is_some_and(|m| m.role != "user") {
        errors.push(FieldError::body(&["messages"], "the last message must be the user's"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut selected = body.selected_tools;
    if let Some(last) = messages.last_mut() {
        let (markers, rest) = strip_markers(&last.content);
        last.content = rest;
        selected.extend(markers);
    }
    selected.dedup();
    Ok((messages, selected))
}

/// Leading `[TOOL:name]` markers and the text after them.
fn strip_markers(text: &str) -> (Vec<String>, String) {
    let mut names = Vec::new();
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix("[TOOL:")
        && let Some((name, tail)) = after.split_once(']')
        && (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        names.push(name.to_owned());
        rest = tail.trim_start();
    }
    (names, rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::strip_markers;

    #[test]
    fn leading_markers_are_stripped() {
        assert_eq!(
            strip_markers("  [TOOL:notes__search] [TOOL:gmail__send_email]  find the memo"),
            (
                vec!["notes__search".to_owned(), "gmail__send_email".to_owned()],
                "find the memo".to_owned()
            )
        );
        assert_eq!(
            strip_markers("no [TOOL:x] marker up front"),
            (vec![], "no [TOOL:x] marker up front".to_owned())
        );
        assert_eq!(
            strip_markers("[TOOL:bad name] hi"),
            (vec![], "[TOOL:bad name] hi".to_owned())
        );
    }
}
