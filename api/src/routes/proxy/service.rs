//! The proxy as an MCP server ([`ConnectorProxy`], one per client session or
//! 2026-07-28 request): requests go to the connector's server unchanged
//! except for what Switchboard keeps — `tools/list` answers the approved,
//! switched-on tools (the pins), `tools/call` refuses any other tool, counts
//! against the user's call limit, runs under the call deadline and is written
//! to the invocation log ([`calls`]). Each method's entry point is in
//! [`super::handler`]; rmcp's `ServerHandler` shapes results for the
//! client's revision.

use std::sync::Arc;
use std::time::{Duration, Instant};

#[allow(deprecated)]
use rmcp::model::{
    CallToolRequest, CallToolResult, CancelledNotification, CancelledNotificationParam, ClientNotification,
    ClientRequest, ErrorCode, Extensions, Implementation, InitializeResult, InputRequest, InputRequiredResult,
    InputResponses, ProtocolVersion, ServerCapabilities, ServerRequest, ServerResult, Tool,
};
use rmcp::service::{PeerRequestOptions, RequestContext};
use rmcp::{ErrorData, RoleServer};
use serde_json::{Value, json};
use switchboard_core::approvals::{Policies, Policy};
use switchboard_core::domain::ToolInfo;
use switchboard_core::store::ConnectorRecord;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::approvals::{self, Gate};
use super::relay::{ASK_TIMEOUT, ToClient};
use super::upstream::Upstream;
use super::{ProxyTarget, calls};
use crate::routes::gateway::eras;
use crate::routes::gateway::sessions::GatewaySessions;
use crate::state::AppState;

/// Rounds of questions a session-era client is asked for one call.
const MAX_INPUT_ROUNDS: usize = 10;
/// Questions in one round.
const MAX_QUESTIONS: usize = 8;

pub struct ConnectorProxy {
    state: AppState,
    sessions: GatewaySessions,
    upstream: OnceCell<Upstream>,
    /// Forgets the session's binding when rmcp drops the session.
    forget: std::sync::OnceLock<Forget>,
    /// A 2026-07-28 request's hold on one of its user's session slots.
    slot: std::sync::OnceLock<crate::slots::Slot>,
}

struct Forget(GatewaySessions, String);

impl Drop for Forget {
    fn drop(&mut self) {
        self.0.forget(&self.1);
    }
}

impl ConnectorProxy {
    pub fn new(state: AppState, sessions: GatewaySessions) -> Self {
        Self {
            state,
            sessions,
            upstream: OnceCell::new(),
            forget: std::sync::OnceLock::new(),
            slot: std::sync::OnceLock::new(),
        }
    }

    /// A request the proxy passes on as it is.
    pub(super) async fn relayed(
        &self,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, ErrorData> {
        let target = target_of(&context.extensions)?;
        let session = !is_modern(context.protocol_version().as_ref());
        let up = self.upstream(&target, context, session).await?;
        up.refresh(&self.state, &target.connector).await;
        self.forward(up, request, context, self.state.settings.agent.invoke_timeout)
            .await
    }

    pub(super) async fn notify_upstream(&self, notification: ClientNotification) {
        if let Some(up) = self.upstream.get() {
            let _ = up.session.peer().send_notification(notification).await;
        }
    }

    /// `notifications/initialized` confirmed the session: it stays bound
    /// until rmcp drops it.
    pub(super) fn confirm(&self, session: &str) {
        self.sessions.confirm(session);
        let _ = self.forget.set(Forget(self.sessions.clone(), session.to_owned()));
    }

    /// What the server offers, once it is open.
    pub(super) fn offered(&self) -> Option<ServerCapabilities> {
        self.upstream
            .get()
            .and_then(Upstream::info)
            .map(|i| i.capabilities.clone())
    }

    /// The session's upstream, opened on first need with what this client
    /// declared; `session`: the client is in a session (else each request
    /// opens the server for itself, counts against the user's call limit and
    /// holds one of their session slots while it runs).
    pub(super) async fn upstream(
        &self,
        target: &ProxyTarget,
        context: &RequestContext<RoleServer>,
        session: bool,
    ) -> Result<&Upstream, ErrorData> {
        let up = self
            .upstream
            .get_or_try_init(|| async {
                if !session {
                    self.hold_a_slot(target).await?;
                }
                let capabilities = context.client_capabilities().unwrap_or_default();
                let relay = Arc::new(ToClient::new(context.peer.clone(), capabilities, !session));
                Upstream::open(&self.state, &target.connector, relay, session).await
            })
            .await?;
        up.serving(&target.connector)
    }

    async fn hold_a_slot(&self, target: &ProxyTarget) -> Result<(), ErrorData> {
        if let Err(retry) = self.state.invoke_limiter.check(&target.user).await {
            return Err(ErrorData::invalid_request(
                format!("RATE_LIMITED: too many requests; retry in {retry} s"),
                None,
            ));
        }
        let slot = self
            .state
            .gateway_sessions
            .try_take(target.user.as_str())
            .ok_or_else(|| {
                ErrorData::invalid_request(
                    "TOO_MANY_SESSIONS: you have too many MCP sessions and requests open",
                    None,
                )
            })?;
        let _ = self.slot.set(slot);
        Ok(())
    }

    /// Sends `request` on, under `timeout`; a cancellation by the client is passed on.
    async fn forward(
        &self,
        up: &Upstream,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
        timeout: Duration,
    ) -> Result<ServerResult, ErrorData> {
        let mut options = PeerRequestOptions::no_options();
        options.timeout = Some(timeout);
        options.meta = switchboard_core::mcp::call::stateless_meta(&up.session);
        // Sent from a task of its own: rmcp marks a request sent within a
        // handler as belonging to the request being handled (SEP-2260), and
        // the upstream's client then misroutes what its response stream carries.
        let peer = up.session.peer().clone();
        let handle = tokio::spawn(async move { peer.send_cancellable_request(request, options).await })
            .await
            .map_err(|e| ErrorData::internal_error(format!("the request could not be sent: {e}"), None))?
            .map_err(|e| upstream_error(&e))?;
        let (id, token) = (handle.id.clone(), handle.progress_token.clone());
        up.relay
            .forwarded(
                id.clone(),
                token.clone(),
                context.id.clone(),
                context.meta.get_progress_token(),
            )
            .await;
        let outcome = tokio::select! {
            answer = handle.await_response() => answer.map_err(|e| upstream_error(&e)),
            () = context.ct.cancelled() => {
                let cancel = CancelledNotification::new(CancelledNotificationParam::new(
                    Some(id.clone()),
                    Some("the client cancelled the request".into()),
                ));
                let _ = up.session.peer().send_notification(ClientNotification::CancelledNotification(cancel)).await;
                Err(ErrorData::new(ErrorCode::INTERNAL_ERROR, "cancelled", None))
            }
        };
        up.relay.ended(&id, &token).await;
        up.rediscover_if_changed(&self.state, &target_of(&context.extensions)?.connector);
        let mut outcome = outcome;
        if let Ok(result) = &mut outcome {
            eras::complete(result);
        }
        outcome
    }

    pub(super) async fn call(
        &self,
        target: &ProxyTarget,
        call: CallToolRequest,
        context: &RequestContext<RoleServer>,
        modern: bool,
    ) -> Result<ServerResult, ErrorData> {
        let name = call.params.name.to_string();
        let Some(tool) = served(&target.connector, &target.policies).find(|t| t.name == name) else {
            return Err(ErrorData::invalid_params(
                format!("no tool named {name:?} is switched on for this connector"),
                None,
            ));
        };
        let mut call = call;
        let mut grant = None;
        if target.policies.of_tool(&target.connector, tool) == Policy::Ask {
            match approvals::gate(&self.state, target, &mut call.params, context).await? {
                Gate::Open(used) => grant = used,
                Gate::Refused(refusal) => return Ok(tool_error(refusal)),
            }
        }
        // A 2026-07-28 request was counted when it opened the server.
        if !modern && let Err(retry) = self.state.invoke_limiter.check(&target.user).await {
            return Ok(tool_error(format!(
                "RATE_LIMITED: too many tool calls; retry in {retry} s"
            )));
        }
        let started = Instant::now();
        let up = self.upstream(target, context, !modern).await?;
        up.refresh(&self.state, &target.connector).await;
        // One deadline for the whole call, the client's answers included.
        let budget = self.state.settings.call_budget() + ASK_TIMEOUT;
        let outcome = tokio::time::timeout(budget, self.rounds(up, call, context, modern))
            .await
            .unwrap_or_else(|_| {
                Err(ErrorData::internal_error(
                    format!("TIMEOUT: the call did not finish within {} s", budget.as_secs()),
                    None,
                ))
            })
            .and_then(|result| self.within_limits(result))
            .map(|result| match (result, grant) {
                // The server's next round carries the approval along.
                (ServerResult::InputRequiredResult(asked), Some(grant)) => {
                    ServerResult::InputRequiredResult(approvals::carry(grant, asked))
                }
                (result, _) => result,
            });
        // Written off the call's path: the client has its answer first.
        let label = calls::outcome_label(&outcome);
        let (state, target, took) = (self.state.clone(), target.clone(), started.elapsed());
        tokio::spawn(async move { calls::log(&state, &target, &name, label, took).await });
        outcome
    }

    /// The call, and for a session-era client the rounds of questions the
    /// server asks (a 2026-07-28 client answers them itself).
    async fn rounds(
        &self,
        up: &Upstream,
        mut call: CallToolRequest,
        context: &RequestContext<RoleServer>,
        modern: bool,
    ) -> Result<ServerResult, ErrorData> {
        // A person may be answering the server's question while the call waits.
        let mut timeout = self.state.settings.agent.invoke_timeout;
        if up.relay.can_be_asked() {
            timeout += ASK_TIMEOUT;
        }
        for _ in 0..MAX_INPUT_ROUNDS {
            let answer = self
                .forward(up, ClientRequest::CallToolRequest(call.clone()), context, timeout)
                .await?;
            match answer {
                ServerResult::InputRequiredResult(asked) if modern => {
                    return undeclared(&asked, context).map(|()| ServerResult::InputRequiredResult(asked));
                }
                ServerResult::InputRequiredResult(asked) => {
                    let (responses, state) = ask_client(up, asked, context.ct.clone()).await?;
                    call.params.input_responses = Some(responses);
                    call.params.request_state = state;
                }
                other => return Ok(other),
            }
        }
        Err(ErrorData::internal_error(
            format!("the server asked more than {MAX_INPUT_ROUNDS} rounds of questions"),
            None,
        ))
    }

    /// A tool result over the size limit is refused, as for queued calls.
    fn within_limits(&self, result: ServerResult) -> Result<ServerResult, ErrorData> {
        if let ServerResult::CallToolResult(r) = &result {
            let value = serde_json::to_value(r).unwrap_or_default();
            self.state
                .services
                .mcp
                .limits()
                .check_result(&value)
                .map_err(|e| ErrorData::internal_error(format!("INVALID_MCP_SERVER: {e}"), None))?;
        }
        Ok(result)
    }

    pub(super) fn introduce(&self, up: &Upstream, requested: ProtocolVersion) -> InitializeResult {
        let info = up.info();
        let mut result = InitializeResult::new(carried(info.as_deref().map(|i| i.capabilities.clone())))
            .with_protocol_version(requested)
            .with_server_info(
                info.as_deref()
                    .and_then(|i| i.server_info.clone())
                    .unwrap_or_else(|| Implementation::new("switchboard-proxy", env!("CARGO_PKG_VERSION"))),
            );
        result.instructions = info.and_then(|i| i.instructions.clone());
        result
    }
}

/// The server's capabilities the proxy carries (not tasks or extensions,
/// which it does not relay).
pub(super) fn carried(offered: Option<ServerCapabilities>) -> ServerCapabilities {
    let offered = offered.unwrap_or_default();
    let mut carried = ServerCapabilities::default();
    carried.tools = offered.tools.or_else(|| Some(Default::default()));
    carried.resources = offered.resources;
    carried.prompts = offered.prompts;
    carried.logging = offered.logging;
    carried.completions = offered.completions;
    carried
}

/// A 2026-07-28 client answers the server's questions itself, if it declared them.
#[allow(deprecated)]
fn undeclared(asked: &InputRequiredResult, context: &RequestContext<RoleServer>) -> Result<(), ErrorData> {
    let declared = context.client_capabilities().unwrap_or_default();
    for question in asked.input_requests.iter().flat_map(|r| r.values()) {
        let (ok, what) = match question {
            InputRequest::Elicitation(_) => (declared.elicitation.is_some(), "elicitation"),
            InputRequest::CreateMessage(_) => (declared.sampling.is_some(), "sampling"),
            InputRequest::ListRoots(_) => (declared.roots.is_some(), "roots"),
            _ => (false, "an unknown kind of input"),
        };
        if !ok {
            return Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!("the server asked for {what}, which the client connected through Switchboard did not declare"),
                None,
            ));
        }
    }
    Ok(())
}

/// Asks the client each question of an `input_required` answer.
async fn ask_client(
    up: &Upstream,
    asked: InputRequiredResult,
    cancelled: CancellationToken,
) -> Result<(InputResponses, Option<String>), ErrorData> {
    use switchboard_core::mcp::Downstream as _;
    let questions = asked.input_requests.unwrap_or_default();
    if questions.len() > MAX_QUESTIONS {
        return Err(ErrorData::internal_error(
            format!(
                "the server asked {} questions at once (at most {MAX_QUESTIONS})",
                questions.len()
            ),
            None,
        ));
    }
    let mut responses = InputResponses::new();
    for (key, question) in questions {
        let request = match question {
            InputRequest::Elicitation(r) => ServerRequest::ElicitRequest(r),
            #[allow(deprecated)]
            InputRequest::CreateMessage(r) => ServerRequest::CreateMessageRequest(r),
            #[allow(deprecated)]
            InputRequest::ListRoots(r) => ServerRequest::ListRootsRequest(r),
            _ => {
                return Err(ErrorData::internal_error(
                    "the server asked an unknown kind of question",
                    None,
                ));
            }
        };
        let answer = up.relay.ask(request, None, cancelled.clone()).await?;
        responses.insert(key, serde_json::to_value(answer).unwrap_or(Value::Null));
    }
    Ok((responses, asked.request_state))
}

/// The connector's approved tools that are not blocked.
pub(super) fn served<'a>(connector: &'a ConnectorRecord, policies: &'a Policies) -> impl Iterator<Item = &'a ToolInfo> {
    connector
        .tools
        .0
        .iter()
        .filter(move |t| policies.of_tool(connector, t) != Policy::Block)
}

/// An approved definition as MCP's `Tool`.
pub(super) fn as_tool(tool: &ToolInfo) -> Option<Tool> {
    let mut value = json!({"name": tool.name, "inputSchema": tool.input_schema});
    for (key, field) in [
        ("title", tool.title.as_ref().map(|t| json!(t))),
        ("description", tool.description.as_ref().map(|d| json!(d))),
        ("outputSchema", tool.output_schema.clone()),
        ("annotations", tool.annotations.clone()),
    ] {
        if let Some(field) = field {
            value[key] = field;
        }
    }
    serde_json::from_value(value).ok()
}

fn tool_error(text: String) -> ServerResult {
    ServerResult::CallToolResult(CallToolResult::error(vec![rmcp::model::ContentBlock::text(text)]))
}

/// The server's own JSON-RPC error as it sent it; anything else in words
/// (never the transport's raw error, which can quote addresses and bodies).
fn upstream_error(e: &rmcp::ServiceError) -> ErrorData {
    match e {
        rmcp::ServiceError::McpError(e) => e.clone(),
        other => {
            let failure = switchboard_core::mcp::call::classify(other);
            ErrorData::internal_error(format!("{}: {}", failure.code, failure.message), None)
        }
    }
}

/// The authenticated user and connector of the request (set by the router).
pub(super) fn target_of(extensions: &Extensions) -> Result<ProxyTarget, ErrorData> {
    extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<ProxyTarget>())
        .cloned()
        .ok_or_else(|| ErrorData::internal_error("unauthenticated request", None))
}

/// Whether `version` is the stateless revision (or newer).
pub(super) fn is_modern(version: Option<&ProtocolVersion>) -> bool {
    version.is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}
