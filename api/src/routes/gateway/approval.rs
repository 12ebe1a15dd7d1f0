//! A call that needs the user's approval, over MCP (the gateway and the
//! proxy). A client that declared form elicitation is asked (the tool, its
//! arguments, approve or deny) — mid-call for a session-era client, and as
//! an `input_required` answer (whose `requestState` is only the approval's
//! id) for a 2026-07-28 one, which may answer only an approval it was asked,
//! for this very call (same user, tool and arguments): approving uses the
//! approval as a grant for this call, denying refuses it, and a client that
//! goes away (or dismisses the question) leaves the approval pending for the
//! UI until it expires. Any other client gets a tool error that names the
//! approval and where to decide; approved there, the next identical call
//! within the timeout runs (a single-use grant), so nothing runs that
//! nobody awaits.

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestParams, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequests, InputRequiredResult, ProtocolVersion,
};
use rmcp::service::{ElicitationMode, RequestContext};
use serde_json::{Map, Value, json};
use switchboard_core::approvals::{self, ApprovalRecord, ApprovalState, DecideError, Decision, Origin};
use switchboard_core::domain::UserId;
use switchboard_core::store::now;
use uuid::Uuid;

use crate::state::AppState;

/// The key of the question in an `input_required` answer.
const QUESTION: &str = "switchboard_approval";

/// What came of asking.
#[derive(Debug)]
pub enum Asked {
    /// Approved in the client: call again, the grant is there.
    Approved,
    /// Denied in the client, or left to the UI: the tool error the model reads.
    Refused(String),
    /// A 2026-07-28 client: answer with this question; it calls again with its answer.
    InputRequired(InputRequiredResult),
}

/// Asks about `approval` through the client if it can answer, else says where to decide.
pub async fn ask(
    state: &AppState,
    user: &UserId,
    approval: &ApprovalRecord,
    arguments: &Map<String, Value>,
    context: &RequestContext<RoleServer>,
) -> Asked {
    let modern = context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: question(approval, arguments),
        requested_schema: schema(),
    };
    if modern {
        if context.client_capabilities().is_some_and(|c| c.elicitation.is_some()) {
            // Only a question put to the client may be answered by it.
            let store = &state.services.store;
            if let Err(e) = store.mark_asked(user.as_str(), approval.id, now()).await {
                tracing::warn!(approval_id = %approval.id, error = %e, "could not record an approval question");
                return Asked::Refused(waiting(state, approval));
            }
            let questions = InputRequests::from([(
                QUESTION.to_owned(),
                InputRequest::Elicitation(ElicitRequest::new(params)),
            )]);
            return Asked::InputRequired(InputRequiredResult::new(Some(questions), Some(approval.id.to_string())));
        }
        return Asked::Refused(waiting(state, approval));
    }
    let peer = &context.peer;
    if !peer.supported_elicitation_modes().contains(&ElicitationMode::Form) {
        return Asked::Refused(waiting(state, approval));
    }
    let timeout = state.settings.limits.approval_timeout.min(Duration::from_secs(600));
    let answer = match peer.create_elicitation_with_timeout(params, Some(timeout)).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::debug!(approval_id = %approval.id, error = %e, "the client did not answer an approval question");
            return Asked::Refused(waiting(state, approval));
        }
    };
    decide(state, user, approval, &answer).await
}

/// A 2026-07-28 client's answer to the question, when this call carries one.
/// It can only answer what it was asked: an approval of this user, made
/// through the gateway for this very call (same tool, same arguments) — never
/// one waiting in the UI for a run or an agent turn.
pub async fn answered(state: &AppState, user: &UserId, request: &CallToolRequestParams) -> Option<Asked> {
    let answer = request.input_responses.as_ref()?.get(QUESTION)?;
    let id = request.request_state.as_deref().and_then(|s| Uuid::parse_str(s).ok())?;
    let approval = state.services.store.approval(user, id).await.ok()?;
    let arguments = request.arguments.clone().unwrap_or_default();
    let this_call = approval.asked_client
        && approval.origin == Origin::Gateway.as_str()
        && approval.catalog_name == request.name
        && approval.request_hash == approvals::call_hash(&approval.source_id(), &approval.tool_name, &arguments);
    if !this_call {
        return None;
    }
    let answer: ElicitResult = serde_json::from_value(answer.clone()).ok()?;
    Some(decide(state, user, &approval, &answer).await)
}

async fn decide(state: &AppState, user: &UserId, approval: &ApprovalRecord, answer: &ElicitResult) -> Asked {
    let decision = match answer.action {
        ElicitationAction::Accept if answer.content.as_ref().is_some_and(|c| c["decision"] == "approve") => {
            Decision::Approve
        }
        ElicitationAction::Accept | ElicitationAction::Decline => Decision::Deny,
        _ => return Asked::Refused(waiting(state, approval)),
    };
    match approvals::decide(&state.services, user, approval.id, decision, "elicitation").await {
        Ok(_) if decision == Decision::Approve => Asked::Approved,
        Ok(_) => Asked::Refused("APPROVAL_DENIED: you did not approve this call, so it was not made".into()),
        // Approved meanwhile (in the UI): the grant is there.
        Err(DecideError::Settled(ApprovalState::Approved)) => Asked::Approved,
        Err(e) => Asked::Refused(format!("APPROVAL_REQUIRED: {e}; call again to ask anew")),
    }
}

/// The tool error for a call whose approval waits in the UI.
pub fn waiting(state: &AppState, approval: &ApprovalRecord) -> String {
    let minutes = state.settings.limits.approval_timeout.as_secs().div_ceil(60);
    format!(
        "APPROVAL_REQUIRED: this call of {} waits for your approval (approval {}). Approve it in Switchboard \
         (Apps menu, \"Waiting for your approval\") or with POST /api/approvals/{} {{\"decision\": \"approve\"}}, \
         then make the same call again within {minutes} min.",
        approval.display_name, approval.id, approval.id
    )
}

fn question(approval: &ApprovalRecord, arguments: &Map<String, Value>) -> String {
    let mut shown = Value::Object(arguments.clone()).to_string();
    if shown.len() > 2000 {
        let mut end = 2000;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
        shown.push('…');
    }
    format!(
        "Allow {} ({}) to run with these arguments?\n{shown}",
        approval.display_name, approval.catalog_name
    )
}

fn schema() -> ElicitationSchema {
    let schema = json!({
        "type": "object",
        "properties": {"decision": {
            "type": "string", "title": "Decision", "enum": ["approve", "deny"],
            "enumNames": ["Approve", "Deny"],
        }},
        "required": ["decision"],
    });
    serde_json::from_value(schema).unwrap_or_else(|_| ElicitationSchema::new(Default::default()))
}
