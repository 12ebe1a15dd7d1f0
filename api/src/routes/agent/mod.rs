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

pub(crate) use invocations::{Invocation, start_invocation};
