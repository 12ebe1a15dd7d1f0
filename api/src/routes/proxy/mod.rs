//! `/mcp/connectors/{id}`: one connector served as an MCP server under its
//! server's own names, for clients that want that server as it is —
//! resources, prompts, completion, logging, progress, cancellation and the
//! server's questions to its client (elicitation, sampling, roots) relayed
//! in both directions ([`handler`], [`service`], [`relay`]). Switchboard adds the
//! connector's credentials (an OAuth token refreshed mid-session,
//! [`upstream`]) and keeps its rules: the user's bearer token on every
//! request, another user's connector answers 404, only approved and
//! unblocked tools are listed or called (an `ask` tool's call waits for the
//! user's approval, as through the gateway), calls count against the user's
//! limit and go to the invocation log, every request has a deadline, and
//! the egress guard checks the server's address.
//!
//! It is served by the API process itself, not through the job queue: a
//! call is not a run (no retries, no `OUTCOME_UNKNOWN`, nothing to poll).
//! One upstream session per client session, opened with it and closed with
//! it, after its client was idle for [`upstream::IDLE`], or refused once the
//! connector is edited; a 2026-07-28 client's requests each open their own
//! (a discovery and the request), counted against the user's call limit and
//! holding one of their session slots while they run.

mod approvals;
mod calls;
mod handler;
mod relay;
mod service;
mod upstream;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts as _, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use rmcp::transport::streamable_http_server::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use switchboard_core::approvals::Policies;
use switchboard_core::domain::UserId;
use switchboard_core::store::ConnectorRecord;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::routes::gateway::sessions::GatewaySessions;
use crate::routes::gateway::{config, jsonrpc};
use crate::state::AppState;
use service::ConnectorProxy;

/// Who is asking, for which connector: put into each request by [`authenticate`].
#[derive(Clone)]
pub struct ProxyTarget {
    pub user: UserId,
    pub connector: ConnectorRecord,
    /// The user's tool policies: blocked tools are not served, `ask` ones wait for approval.
    pub policies: Policies,
}

const PATH: &str = "/mcp/connectors/{id}";

pub fn router(state: AppState) -> Router<AppState> {
    let sessions = GatewaySessions::new(state.gateway_sessions.clone());
    let factory = (state.clone(), sessions.clone());
    let service: StreamableHttpService<ConnectorProxy, LocalSessionManager> = StreamableHttpService::new(
        move || Ok(ConnectorProxy::new(factory.0.clone(), factory.1.clone())),
        Arc::default(),
        config(&state),
    );
    let body_limit = state.settings.agent.body_limit;
    let origin: Arc<str> = state.settings.agent.public_url.origin().ascii_serialization().into();
    Router::new()
        .route_service(PATH, service)
        .layer(middleware::from_fn(move |request, next| {
            let origin = origin.clone();
            async move { jsonrpc::errors_as_json_rpc(body_limit, &origin, request, next).await }
        }))
        .layer(middleware::from_fn_with_state(state, move |state, request, next| {
            authenticate(state, sessions.clone(), body_limit, request, next)
        }))
}

/// The user's bearer token (401 otherwise), the connector as theirs (404
/// otherwise) and switched on (409 otherwise, except to close a session),
/// and the session bound to both.
async fn authenticate(
    State(state): State<AppState>,
    sessions: GatewaySessions,
    body_limit: usize,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let user = match CurrentUser::from_request_parts(&mut parts, &state).await {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let id = parts
        .uri
        .path()
        .rsplit('/')
        .next()
        .and_then(|s| Uuid::parse_str(s).ok());
    let Some(id) = id else {
        return ApiError::not_found("connector").into_response();
    };
    let connector = match state.services.store.connector(&user.0, id).await {
        Ok(c) => c,
        Err(e) => return ApiError::from(e).into_response(),
    };
    // A client can always close its session, even on a switched-off connector.
    if !connector.enabled && parts.method != Method::DELETE {
        return ApiError::new(
            StatusCode::CONFLICT,
            "CONNECTOR_DISABLED",
            "this connector is switched off; switch it on to use it",
        )
        .into_response();
    }
    let policies = match state.services.store.policies(&user.0).await {
        Ok(policies) => policies,
        Err(e) => return ApiError::from(e).into_response(),
    };
    parts.extensions.insert(ProxyTarget {
        user: user.0.clone(),
        connector,
        policies,
    });
    parts.extensions.insert(user.clone());
    sessions
        .bind(
            &user.0,
            &id.to_string(),
            Request::from_parts(parts, body),
            next,
            body_limit,
        )
        .await
}
