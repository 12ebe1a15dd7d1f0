//! The browser side of OAuth: `GET /oauth/callback` (no bearer token: the
//! user comes from the flow's `state`, and the flow must come back to the
//! browser that started it, proven by the HttpOnly `sb_oauth` cookie),
//! `GET /oauth/done.js` (the callback page's script: tells the opener window
//! on this origin, or a `BroadcastChannel` if the provider cut the opener,
//! then closes), and `GET /oauth/client-metadata.json` (Switchboard's client
//! ID metadata document, used when `SWITCHBOARD_PUBLIC_URL` is HTTPS).

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_core::approvals::DefaultPolicy;
use switchboard_core::audit::{self, AuditKind};
use switchboard_core::domain::UserId;
use switchboard_core::oauth::{Authorization, CallbackError, OAuthError, OAuthTarget};
use switchboard_core::runs::launch::{NewRun, launch};
use switchboard_core::store::{UserToolRecord, now};

use crate::error::ApiError;
use crate::state::AppState;

const COOKIE: &str = "sb_oauth";
const DONE_SCRIPT: &str = include_str!("done.js");
/// The callback page runs only its own external script.
const CSP: &str = "default-src 'none'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/callback", get(callback))
        .route("/oauth/done.js", get(done_script))
        .route("/oauth/client-metadata.json", get(client_metadata))
}

/// `{authorization_url}` plus the browser-binding cookie (Path=/oauth, 10 minutes).
pub fn authorization_response(state: &AppState, started: Authorization) -> Response {
    let secure = if state.settings.agent.public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={}; Path=/oauth; Max-Age=600; HttpOnly; SameSite=Lax{secure}",
        started.browser_binding.expose()
    );
    let mut response = Json(json!({"authorization_url": started.authorization_url.as_str()})).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub fn oauth_error(e: OAuthError) -> ApiError {
    tracing::warn!(error = %e, "OAuth authorization could not start");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "OAUTH_DISCOVERY_FAILED",
        format!("could not start sign-in with this server: {e}"),
    )
}

/// The callback's query (no `Debug`: `code` is a one-time credential).
#[derive(Deserialize)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

async fn callback(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<CallbackQuery>) -> Response {
    let binding = cookie(&headers, COOKIE);
    let outcome = match &q.state {
        None => Err(CallbackError::UnknownState),
        Some(flow_state) => {
            state
                .oauth
                .complete(
                    flow_state,
                    binding.as_deref(),
                    q.code.as_deref(),
                    q.iss.as_deref(),
                    q.error.as_deref(),
                )
                .await
        }
    };
    let (status, message, target) = match outcome {
        // The page names the Switchboard account the grant now belongs to.
        Ok(done) => match after_authorization(&state, &done.owner, &done.target).await {
            Ok(()) => (
                StatusCode::OK,
                format!(
                    "Signed in for the Switchboard account \u{201c}{}\u{201d}. You can close this window.",
                    done.owner
                ),
                done.target,
            ),
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "authorized, but the follow-up failed");
                (
                    StatusCode::OK,
                    format!(
                        "Signed in for the Switchboard account \u{201c}{}\u{201d}, but its tools could not be \
                         refreshed yet.",
                        done.owner
                    ),
                    done.target,
                )
            }
        },
        Err(e) => {
            let status = match e {
                CallbackError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                CallbackError::OAuth(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::BAD_REQUEST,
            };
            tracing::warn!(error = %e, event = "oauth_callback_refused", "OAuth callback refused");
            (status, format!("Sign-in failed: {e}"), String::new())
        }
    };
    page(status, &message, &target)
}

/// A connector is re-discovered (and becomes `active`); a system tool is connected.
async fn after_authorization(state: &AppState, owner: &str, target: &str) -> anyhow::Result<()> {
    let user = UserId::parse(owner).map_err(anyhow::Error::msg)?;
    let tool_ids: Vec<&'static str> = state.tools.all().iter().map(|t| t.descriptor().id).collect();
    match OAuthTarget::parse(target, &tool_ids) {
        Some(OAuthTarget::Connector(id)) => {
            let record = state.store.connector(&user, id).await?;
            let authorized = serde_json::json!({"name": record.name});
            state
                .audit(&user, AuditKind::ConnectorAuthorized, audit::connector(id), authorized)
                .await;
            launch(&state.services, NewRun::discovery(&user, record)).await?;
        }
        Some(OAuthTarget::SystemTool(tool)) => {
            let at = now();
            state
                .store
                .put_user_tool(&UserToolRecord {
                    owner: owner.to_owned(),
                    tool_id: tool.to_owned(),
                    connected: true,
                    credentials: None,
                    connected_at: Some(at),
                    tool_policy: DefaultPolicy::Auto.as_str().to_owned(),
                    created_at: at,
                    updated_at: at,
                })
                .await?;
            let connected = serde_json::json!({"via": "oauth"});
            state
                .audit(
                    &user,
                    AuditKind::SystemToolConnected,
                    audit::system_tool(tool),
                    connected,
                )
                .await;
            state.events.catalog_changed(owner).await;
        }
        None => anyhow::bail!("unknown OAuth target {target}"),
    }
    Ok(())
}

/// The callback page: text only (escaped), its outcome in data attributes for
/// `done.js`, and the binding cookie cleared.
fn page(status: StatusCode, message: &str, target: &str) -> Response {
    let ok = status == StatusCode::OK;
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Switchboard sign-in</title>\
         <script src=\"/oauth/done.js\" defer></script></head>\
         <body data-status=\"{}\" data-target=\"{}\"><p id=\"message\">{}</p></body></html>",
        if ok { "ok" } else { "error" },
        escape(target),
        escape(message),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::SET_COOKIE,
                "sb_oauth=; Path=/oauth; Max-Age=0; HttpOnly; SameSite=Lax",
            ),
        ],
        body,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn done_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        DONE_SCRIPT,
    )
        .into_response()
}

async fn client_metadata(State(state): State<AppState>) -> Json<Value> {
    let identity = state.oauth.identity();
    let client_id = state
        .settings
        .agent
        .public_url
        .join("/oauth/client-metadata.json")
        .map(|u| u.to_string())
        .unwrap_or_default();
    Json(json!({
        "client_id": client_id,
        "client_name": identity.client_name,
        "client_uri": state.settings.agent.public_url.as_str(),
        "redirect_uris": [identity.redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "web",
    }))
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
