//! `PUT /api/connectors/{id}/tools/{tool_name}`: switch one discovered tool on
//! or off for agents. Switches are kept by tool name, so they survive
//! re-discovery; a tool that disappears and comes back keeps its switch.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::json;
use switchboard_core::audit::{self, AuditKind};
use utoipa::ToSchema;

use super::{ConnectorView, not_found, parse_id};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::oplog::Op;
use crate::state::AppState;

/// Body of the tool switch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolSwitch {
    pub enabled: bool,
}

/// Switches one of the connector's discovered tools on or off for agents.
#[utoipa::path(put, path = "/api/connectors/{id}/tools/{tool_name}", tag = "connectors", request_body = ToolSwitch,
    params(("id" = Uuid, Path), ("tool_name" = String, Path, description = "the tool's name on its server")),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn switch_tool(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, tool_name)): Path<(String, String)>,
    ApiJson(input): ApiJson<ToolSwitch>,
) -> ApiResult<Json<ConnectorView>> {
    let op = Op::start("connector.tool_switch", &user);
    let result = async {
        let id = parse_id(&id)?;
        let record = state.store.connector(&user, id).await.map_err(not_found)?;
        if !record.tools.0.iter().any(|t| t.name == tool_name) {
            return Err(ApiError::not_found("tool"));
        }
        state
            .store
            .set_tool_enabled(&user, id, &tool_name, input.enabled)
            .await?;
        let switched = json!({"connector": record.name, "tool": tool_name, "enabled": input.enabled});
        state
            .audit(&user, AuditKind::ToolSwitched, audit::connector(id), switched)
            .await;
        super::view_of(&state, &user, record).await
    }
    .await;
    let view = op.finish(Some(&tool_name), result)?;
    state.events.catalog_changed(user.as_str()).await;
    Ok(Json(view))
}
