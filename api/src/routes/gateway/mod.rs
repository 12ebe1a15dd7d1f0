//! The MCP gateway: `/mcp` speaks Streamable HTTP (an rmcp server) to any
//! MCP-capable agent. Every request needs the user's bearer token (401 with
//! `WWW-Authenticate` otherwise) and passes the Host and Origin checks (the
//! answered hosts, `SWITCHBOARD_PUBLIC_URL`'s origin); a session belongs to
//! the user who opened it ([`sessions`]). `tools/list` is that user's
//! catalog; `tools/call` goes through the same path as
//! `POST /api/agent/invocations` (queue, retry policy, timeouts) and waits for
//! the run; a tool whose policy is `ask` is approved first ([`approval`]). While a user has sessions open, their catalog is re-read when a
//! catalog-change event arrives (from any process; every
//! `SWITCHBOARD_GATEWAY_WATCH_INTERVAL` as a safety net) and
//! `notifications/tools/list_changed` is sent to each session when it changed
//! ([`watch`]). Every revision from 2025-03-26 to 2026-07-28 is served
//! ([`eras`]); a malformed body gets a JSON-RPC error ([`jsonrpc`]).

pub(super) mod approval;
pub(super) mod eras;
pub(super) mod jsonrpc;
pub(super) mod sessions;
mod watch;

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts as _, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use http::request::Parts;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Extensions, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig, SubscriptionFilter, Tool,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer};
use serde_json::Value;
use switchboard_core::domain::UserId;
use switchboard_core::runs::{RunRecord, RunStatus};

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::runs::wait_for_end;
use crate::state::AppState;
use approval::Asked;
use sessions::{GatewaySessions, SESSION_HEADER};
use switchboard_core::approvals::Origin;
use switchboard_plugins::calls::{self, CallError, CallRequest};
use watch::{CatalogWatchers, Listener, announce_changes};

/// `/mcp`, behind the bearer-token check.
pub fn router(state: AppState) -> Router<AppState> {
    let sessions = GatewaySessions::new(state.gateway_sessions.clone());
    let gateway = Gateway {
        state: state.clone(),
        catalogs: CatalogWatchers::default(),
        sessions: sessions.clone(),
    };
    let service: StreamableHttpService<Gateway, LocalSessionManager> =
        StreamableHttpService::new(move || Ok(gateway.clone()), Arc::default(), config(&state));
    let body_limit = state.settings.agent.body_limit;
    let origin: Arc<str> = state.settings.agent.public_url.origin().ascii_serialization().into();
    Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn(move |request, next| {
            let origin = origin.clone();
            async move { jsonrpc::errors_as_json_rpc(body_limit, &origin, request, next).await }
        }))
        .layer(middleware::from_fn_with_state(state, move |state, request, next| {
            authenticate(state, sessions.clone(), body_limit, request, next)
        }))
}

/// rmcp's Streamable HTTP server as `/mcp` and the proxy use it: the answered
/// hosts and the public origin only, the body limit, stopped at shutdown.
pub(super) fn config(state: &AppState) -> StreamableHttpServerConfig {
    let public = &state.settings.agent.public_url;
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(state.answered_hosts.iter().cloned())
        .with_allowed_origins([public.origin().ascii_serialization()]);
    config.cancellation_token = state.shutdown.child_token();
    config.max_request_body_bytes = state.settings.agent.body_limit;
    config
}

/// Puts the [`CurrentUser`] into the request (or answers 401) and keeps
/// sessions to the user who opened them ([`GatewaySessions::bind`]).
async fn authenticate(
    State(state): State<AppState>,
    sessions: GatewaySessions,
    body_limit: usize,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    match CurrentUser::from_request_parts(&mut parts, &state).await {
        Ok(user) => {
            parts.extensions.insert(user.clone());
            sessions
                .bind(&user.0, "", Request::from_parts(parts, body), next, body_limit)
                .await
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Clone)]
struct Gateway {
    state: AppState,
    catalogs: CatalogWatchers,
    sessions: GatewaySessions,
}

/// The user the request was authenticated as (set by [`authenticate`]).
fn user_of(extensions: &Extensions) -> Result<UserId, ErrorData> {
    extensions
        .get::<Parts>()
        .and_then(|p| p.extensions.get::<CurrentUser>())
        .map(|u| u.0.clone())
        .ok_or_else(|| ErrorData::internal_error("unauthenticated request", None))
}

impl Gateway {
    /// The rate limit, then the call (as `POST /api/agent/invocations`).
    async fn start(&self, user: &UserId, call: CallRequest) -> Result<RunRecord, CallError> {
        if let Err(retry) = self.state.invoke_limiter.check(user).await {
            return Err(CallError::Busy { retry_after: retry });
        }
        calls::start(&self.state.services, user, call).await
    }

    async fn tools(&self, user: &UserId) -> Result<Vec<Tool>, ErrorData> {
        let catalog = switchboard_plugins::catalog::load(&*self.state.store, user)
            .await
            .map_err(|e| internal(&e.to_string()))?;
        catalog
            .entries()
            .iter()
            .map(|e| serde_json::from_value(e.mcp()).map_err(|e| internal(&e.to_string())))
            .collect()
    }
}

fn internal(message: &str) -> ErrorData {
    tracing::error!(error = message, "the MCP gateway failed");
    ErrorData::internal_error("internal error; please retry later", None)
}

/// A tool-level error result the model can read.
fn tool_error(text: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text)])
}

fn refused(e: &ApiError) -> Result<CallToolResponse, ErrorData> {
    match e.code() {
        "TOOL_NOT_FOUND" => Err(ErrorData::invalid_params(e.message().to_owned(), None)),
        "VALIDATION_FAILED" => {
            let details = e.details().map(Value::to_string).unwrap_or_default();
            Ok(tool_error(format!("invalid arguments: {details}")).into())
        }
        code if e.status().is_server_error() => Err(internal(code)),
        code => Ok(tool_error(format!("{code}: {}", e.message())).into()),
    }
}

/// The finished run as MCP's `CallToolResult`.
fn result_of(run: RunRecord) -> CallToolResult {
    match run.status() {
        RunStatus::Succeeded => {
            let mut value = run.result.map(|r| r.0).unwrap_or(Value::Null);
            if value.get("structuredContent").is_some_and(Value::is_null)
                && let Some(map) = value.as_object_mut()
            {
                map.remove("structuredContent");
            }
            serde_json::from_value(value).unwrap_or_else(|e| tool_error(format!("unreadable result: {e}")))
        }
        RunStatus::Failed => tool_error(format!(
            "{}: {}",
            run.error_code.unwrap_or_default(),
            run.error_message.unwrap_or_default()
        )),
        _ => tool_error(format!(
            "the call is still running (run {}); follow it at /api/runs/{}",
            run.id, run.id
        )),
    }
}

impl ServerHandler for Gateway {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("switchboard", env!("CARGO_PKG_VERSION")))
            .with_instructions("The tools this user enabled in Switchboard: their own MCP connectors and system tools.")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let user = user_of(&context.extensions)?;
        Ok(ListToolsResult::with_all_items(self.tools(&user).await?))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let user = user_of(&context.extensions)?;
        // A 2026-07-28 client answering the approval question of its last try.
        let answer = approval::answered(&self.state, &user, &request).await;
        let mut asked = answer.is_some();
        if let Some(Asked::Refused(text)) = answer {
            return Ok(tool_error(text).into());
        }
        let arguments = request.arguments.unwrap_or_default();
        let run = loop {
            let mut call = CallRequest::new(request.name.to_string(), arguments.clone(), None);
            call.origin = Origin::Gateway;
            match self.start(&user, call).await {
                Ok(run) => break run,
                Err(CallError::ApprovalRequired(pending)) if asked => {
                    return Ok(tool_error(approval::waiting(&self.state, &pending)).into());
                }
                Err(CallError::ApprovalRequired(pending)) => {
                    asked = true;
                    match approval::ask(&self.state, &user, &pending, &arguments, &context).await {
                        Asked::Approved => continue,
                        Asked::Refused(text) => return Ok(tool_error(text).into()),
                        Asked::InputRequired(question) => return Ok(question.into()),
                    }
                }
                Err(e) => return refused(&ApiError::from(e)),
            }
        };
        let run = wait_for_end(&self.state, &user, run.id, self.state.settings.call_budget())
            .await
            .map_err(|e| internal(e.message()))?;
        Ok(eras::completed(result_of(run)).into())
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(&eras::SUPPORTED)
    }

    /// 2026-07-28 clients ask for change notices with `subscriptions/listen`.
    fn accepted_subscription_filter(&self, requested: &SubscriptionFilter) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    /// One `subscriptions/listen` stream: it holds one of the user's gateway
    /// slots while open, like a session.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let user = user_of(&context.request_context().extensions)?;
        let Some(_slot) = self.state.gateway_sessions.try_take(user.as_str()) else {
            return Err(ErrorData::invalid_request(
                "you have too many gateway sessions and listeners open; close one and try again",
                None,
            ));
        };
        announce_changes(self.clone(), user, Listener::Subscription(&context)).await;
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let Ok(user) = user_of(&context.extensions) else { return };
        let session = context
            .extensions
            .get::<Parts>()
            .and_then(|p| p.headers.get(SESSION_HEADER))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(id) = &session {
            self.sessions.confirm(id);
        }
        let gateway = self.clone();
        tokio::spawn(async move {
            announce_changes(gateway.clone(), user, Listener::Session(context.peer)).await;
            if let Some(id) = session {
                gateway.sessions.forget(&id);
            }
        });
    }
}
