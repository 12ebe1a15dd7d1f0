//! What agents use: the catalog (`GET /api/agent/tools`) and tool calls
//! (`POST /api/agent/invocations`) and agent turns (`POST /api/agent/runs`). These routes take bodies up to
//! `SWITCHBOARD_AGENT_BODY_LIMIT` (1 MiB by default).

mod invocations;
mod tools;
mod turns;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tools::agent_tools))
        .routes(routes!(invocations::invoke))
        .routes(routes!(turns::start_turn))
}

pub(crate) use turns::MAX_MESSAGES;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::invocations::Invocation;
    use super::turns::AgentTurnInput;

    #[test]
    fn request_bodies_debug_without_arguments_or_conversation() {
        const CANARY: &str = "canary-91c2";
        let invocation: Invocation =
            serde_json::from_value(json!({"tool": "t", "arguments": {"password": CANARY}})).expect("body");
        let turn: AgentTurnInput =
            serde_json::from_value(json!({"messages": [{"role": "user", "content": CANARY}]})).expect("body");
        let call = switchboard_plugins::calls::CallRequest::new("t".into(), invocation.arguments.clone(), None);
        for shown in [format!("{invocation:?}"), format!("{turn:?}"), format!("{call:?}")] {
            assert!(!shown.contains(CANARY), "a secret in Debug: {shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
    }
}
