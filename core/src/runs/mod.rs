//! Runs: what a client sees of a job. A run is created `queued` by the API,
//! becomes `running` when a worker takes its job, and ends `succeeded` or
//! `failed` with a result. While it runs, its steps travel as [`RunEvent`]s
//! (see [`crate::events`]); the row holds the final steps and result.

mod fingerprint;
pub mod launch;
mod record;
pub mod wait;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub use fingerprint::Fingerprint;
pub use record::{RunInput, RunRecord, RunStatus, ToolTarget};

use crate::domain::ToolInfo;
use crate::mcp::{ServerInfo, StepStatus, StepUpdate};

/// One step of a run, as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Step {
    pub name: String,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// What went wrong, or a note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Step {
    pub fn pending(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            status: StepStatus::Pending,
            duration_ms: None,
            message: None,
        }
    }
}

impl From<StepUpdate> for Step {
    fn from(u: StepUpdate) -> Self {
        Self {
            name: u.name.to_owned(),
            status: u.status,
            duration_ms: u.duration_ms.map(round_ms),
            message: u.message,
        }
    }
}

/// Milliseconds to 0.01 ms.
pub fn round_ms(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

/// Applies a step update to a step list (by name).
pub fn apply_step(steps: &mut Vec<Step>, step: Step) {
    match steps.iter_mut().find(|s| s.name == step.name) {
        Some(existing) => *existing = step,
        None => steps.push(step),
    }
}

/// The result of a connection test or a discovery (the original synchronous contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TestResult {
    /// True when the server works (also with the `NO_TOOLS` warning).
    pub success: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub tools: Vec<ToolInfo>,
    pub server: Option<ServerInfo>,
    /// With `AUTH_REQUIRED` on a saved OAuth connector: the route that starts
    /// its authorization (`POST`, answers `{authorization_url}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
}

/// What an invocation sends (sealed in `runs.sealed_input`: arguments may hold secrets).
#[derive(Clone, Serialize, Deserialize)]
pub struct InvocationInput {
    pub arguments: serde_json::Map<String, Value>,
}

impl std::fmt::Debug for InvocationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvocationInput")
            .field("arguments", &crate::secret::REDACTED)
            .finish()
    }
}

/// What an agent turn works from (sealed: conversations are private). The
/// messages are OpenAI chat messages as sent; a `[TOOL:name]` marker was
/// already stripped into `selected_tools`. A turn parked on a call waiting
/// for approval carries where it stopped in `resume`.
#[derive(Clone, Serialize, Deserialize)]
pub struct AgentInput {
    pub messages: Vec<Value>,
    pub selected_tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Value>,
}

impl std::fmt::Debug for AgentInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentInput")
            .field("messages", &crate::secret::REDACTED)
            .field("selected_tools", &self.selected_tools)
            .finish()
    }
}

/// A change to a run, in order; `seq` numbers them per run (SSE `id:`).
/// Events stay small (see [`RunEvent::bounded`]): they travel through Redis
/// pub/sub to every process. A run's result is never in an event; `Finished`
/// is the reference to it, read from the `runs` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// A worker took the job (again, after a crash, when `attempt` > 1).
    Started { attempt: i32 },
    /// A step started or ended.
    Step { step: Step },
    /// The run waits for a person to decide on this approval (never the call's arguments).
    AwaitingApproval { approval_id: uuid::Uuid },
    /// The run ended; terminal. Its result is in the run.
    Finished {
        status: RunStatus,
        error_code: Option<String>,
        error_message: Option<String>,
    },
}

/// Longest message an event carries (longer ones are cut, with `…`).
pub const MAX_EVENT_MESSAGE: usize = 2000;

fn cut(text: &mut Option<String>) {
    if let Some(t) = text.as_mut()
        && t.len() > MAX_EVENT_MESSAGE
    {
        let mut end = MAX_EVENT_MESSAGE;
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        t.truncate(end);
        t.push('…');
    }
}

impl RunEvent {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Started { .. } => "started",
            Self::Step { .. } => "step",
            Self::AwaitingApproval { .. } => "awaiting_approval",
            Self::Finished { .. } => "finished",
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Finished { .. })
    }

    /// The event with its free text cut to [`MAX_EVENT_MESSAGE`] bytes: every
    /// other field is bounded by construction, so an event stays a few KiB.
    pub fn bounded(mut self) -> Self {
        match &mut self {
            Self::Step { step } => {
                cut(&mut step.message);
                step.name.truncate(128);
            }
            Self::Finished {
                error_code,
                error_message,
                ..
            } => {
                cut(error_code);
                cut(error_message);
            }
            Self::Started { .. } | Self::AwaitingApproval { .. } => {}
        }
        self
    }
}
