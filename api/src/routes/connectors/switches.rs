//! Tool policies: `PUT /api/connectors/{id}/tools/{tool_name}` sets one
//! discovered tool's policy (`allow`, `ask` or `block`; `{"enabled": false}`
//! still switches it off, `true` allows it), kept by tool name so it survives
//! re-discovery; `PUT /api/connectors/{id}/tool-policy` sets the default of
//! tools without one.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::json;
use switchboard_core::approvals::{DefaultPolicy, Policy};
use switchboard_core::audit::{self, AuditKind};
use switchboard_core::store::PolicyOwner;
use utoipa::ToSchema;

use super::{ConnectorView, not_found, parse_id};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::oplog::Op;
use crate::state::AppState;

/// Body of a tool's policy change: `{"policy"}`, or (older clients) `{"enabled"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ToolSwitch {
    Policy(PolicyBody),
    Enabled(EnabledBody),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// `allow`: calls run; `ask`: each call waits for your approval; `block`: agents cannot see or call it.
    pub policy: Policy,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnabledBody {
    /// `false` is `block`, `true` is `allow`.
    pub enabled: bool,
}

impl ToolSwitch {
    fn policy(&self) -> Policy {
        match self {
            Self::Policy(body) => body.policy,
            Self::Enabled(EnabledBody { enabled: true }) => Policy::Allow,
            Self::Enabled(EnabledBody { enabled: false }) => Policy::Block,
        }
    }
}

/// Sets one of the connector's discovered tools to allow, ask or block.
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
        let policy = input.policy();
        state.store.set_tool_policy(&user, id, &tool_name, policy).await?;
        let switched = json!({"connector": record.name, "tool": tool_name, "policy": policy});
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

/// Body of a default policy change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultPolicyInput {
    pub policy: DefaultPolicy,
}

/// Sets the policy of the connector's tools that have none of their own.
#[utoipa::path(put, path = "/api/connectors/{id}/tool-policy", tag = "connectors", request_body = DefaultPolicyInput,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_default_policy(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DefaultPolicyInput>,
) -> ApiResult<Json<ConnectorView>> {
    let op = Op::start("connector.tool_policy", &user);
    let result = async {
        let id = parse_id(&id)?;
        let of = PolicyOwner::Connector(id);
        state
            .store
            .set_default_policy(&user, of, input.policy)
            .await
            .map_err(not_found)?;
        let record = state.store.connector(&user, id).await.map_err(not_found)?;
        let changed = json!({"connector": record.name, "default_policy": input.policy});
        state
            .audit(&user, AuditKind::ToolSwitched, audit::connector(id), changed)
            .await;
        super::view_of(&state, &user, record).await
    }
    .await;
    let view = op.finish(None, result)?;
    state.events.catalog_changed(user.as_str()).await;
    Ok(Json(view))
}
