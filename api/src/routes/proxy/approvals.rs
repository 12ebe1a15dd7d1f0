//! The approval an `ask` tool's call needs through the proxy, as through the
//! gateway (see `routes::gateway::approval`): asked in the client, or a
//! single-use grant from the UI. A 2026-07-28 server may answer a call with
//! questions of its own (`input_required`); the client then calls again with
//! its answers, and those rounds are the same approved call: the server's
//! `requestState` goes out wrapped with the grant's id, and a round that
//! brings it back for the same call, while the approval lasts, needs no new
//! approval.

use rmcp::model::{CallToolRequestParams, InputRequiredResult};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use switchboard_core::approvals::{self, ApprovalState, Origin};
use switchboard_core::store::now;
use switchboard_plugins::calls::{self, CallError};
use uuid::Uuid;

use super::ProxyTarget;
use crate::routes::gateway::approval::{self as asking, Asked};
use crate::state::AppState;

/// What a wrapped `requestState` starts with.
const PREFIX: &str = "sb-approval:";

/// Whether the call may go on.
#[derive(Debug)]
pub enum Gate {
    /// It may, by this grant (or none: the tool was allowed meanwhile).
    Open(Option<Uuid>),
    /// It may not: what the client reads.
    Refused(String),
}

/// The approval of the call in `params`; unwraps a `requestState` this proxy wrapped.
pub async fn gate(
    state: &AppState,
    target: &ProxyTarget,
    params: &mut CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Result<Gate, ErrorData> {
    let services = &state.services;
    let arguments = params.arguments.clone().unwrap_or_default();
    let source = target.connector.id.to_string();
    if let Some((grant, inner)) = params.request_state.as_deref().and_then(unwrap) {
        let approved = services
            .store
            .approval(&target.user, grant)
            .await
            .ok()
            .is_some_and(|a| {
                a.state() == ApprovalState::Used
                    && a.origin == Origin::Proxy.as_str()
                    && a.expires_at > now()
                    && a.request_hash == approvals::call_hash(&source, &params.name, &arguments)
            });
        if approved {
            params.request_state = inner;
            return Ok(Gate::Open(Some(grant)));
        }
    }
    let catalog = switchboard_plugins::catalog::load(&*services.store, &target.user)
        .await
        .map_err(|e| ErrorData::internal_error(format!("INTERNAL_ERROR: {e}"), None))?;
    let Some(entry) = catalog
        .entries()
        .iter()
        .find(|e| e.connector_id() == Some(target.connector.id) && e.tool == params.name)
    else {
        return Ok(Gate::Refused(format!(
            "TOOL_NOT_FOUND: {} is not in your catalog",
            params.name
        )));
    };
    let pending = match calls::approve_over_mcp(services, &target.user, entry, &arguments, Origin::Proxy).await {
        Ok(grant) => return Ok(Gate::Open(grant)),
        Err(CallError::ApprovalRequired(pending)) => pending,
        Err(e) => return Ok(Gate::Refused(e.to_string())),
    };
    Ok(
        match asking::ask(state, &target.user, &pending, &arguments, context).await {
            Asked::Approved => {
                match calls::approve_over_mcp(services, &target.user, entry, &arguments, Origin::Proxy).await {
                    Ok(grant) => Gate::Open(grant),
                    Err(e) => Gate::Refused(e.to_string()),
                }
            }
            Asked::Refused(text) => Gate::Refused(text),
            // Its own question would need a second request state beside the
            // server's: such a client decides in the UI.
            Asked::InputRequired(_) => Gate::Refused(asking::waiting(state, &pending)),
        },
    )
}

/// The server's questions, with its `requestState` wrapped with the grant.
pub fn carry(grant: Uuid, mut asked: InputRequiredResult) -> InputRequiredResult {
    let inner = asked.request_state.take();
    asked.request_state = Some(match inner {
        Some(inner) => format!("{PREFIX}{grant}:{inner}"),
        None => format!("{PREFIX}{grant}"),
    });
    asked
}

/// `(grant, the server's own state)` of a wrapped `requestState`.
fn unwrap(state: &str) -> Option<(Uuid, Option<String>)> {
    let rest = state.strip_prefix(PREFIX)?;
    let (id, inner) = match rest.split_once(':') {
        Some((id, inner)) => (id, Some(inner.to_owned())),
        None => (rest, None),
    };
    Some((Uuid::parse_str(id).ok()?, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_state_unwraps_to_the_servers_own() {
        let grant = Uuid::now_v7();
        let asked = carry(grant, InputRequiredResult::new(None, Some("s:1".into())));
        let wrapped = asked.request_state.unwrap();
        assert_eq!(unwrap(&wrapped), Some((grant, Some("s:1".into()))));
        let bare = carry(grant, InputRequiredResult::new(None, None))
            .request_state
            .unwrap();
        assert_eq!(unwrap(&bare), Some((grant, None)));
        assert_eq!(unwrap("s:1"), None, "the server's own state is left alone");
    }
}
