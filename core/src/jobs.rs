//! Job kinds and the payload every job carries: a run id, nothing else (no
//! secret ever enters a queue; a job reads its input from the `runs` row).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a run does; each kind has its own queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Test a connection (form values or a stored connector, maybe edited).
    ConnectionTest,
    /// Re-discover a stored connector's tools and update its health.
    DiscoverTools,
    /// Call one tool of the user's catalog (with the retry policy).
    InvokeTool,
    /// One agent turn: the model and the tool calls it asks for, to a final answer.
    AgentTurn,
}

impl RunKind {
    /// The steps a run of this kind starts with (all pending).
    pub fn initial_steps(self) -> &'static [&'static str] {
        match self {
            Self::ConnectionTest | Self::DiscoverTools => &crate::mcp::TEST_STEPS,
            Self::InvokeTool => &["attempt_1"],
            Self::AgentTurn => &["model_1"],
        }
    }

    pub const ALL: [Self; 4] = [
        Self::ConnectionTest,
        Self::DiscoverTools,
        Self::InvokeTool,
        Self::AgentTurn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectionTest => "connection_test",
            Self::DiscoverTools => "discover_tools",
            Self::InvokeTool => "invoke_tool",
            Self::AgentTurn => "agent_turn",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// The payload of every job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunJob {
    pub run_id: Uuid,
}
