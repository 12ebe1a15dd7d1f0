//! The web UI, served by the API itself: `GET /` (the page), `/ui/app.js`,
//! `/ui/approvals.js` (policies, approvals, activity) and `/ui/app.css`, all hand-written and embedded in the binary (no build step,
//! no CDN). The page talks to the JSON API with the user's bearer token, kept
//! in `sessionStorage`; every value from the server is inserted as text.
//!
//! Dev sign-in (`POST /ui/dev-sign-in {user}` → `{token}`) exists only when
//! the JWT secret was made by this server (embedded mode, none configured)
//! AND the server listens on loopback only; it answers only a request whose
//! `Host` is a loopback name and whose `Origin` is absent or the page's own
//! (a page elsewhere, or one reached by a rebound DNS name, cannot sign in).
//! `GET /ui/config` tells the page whether it exists, which origins may hand
//! it a token by `postMessage` (`SWITCHBOARD_UI_TOKEN_ORIGINS`) and which may
//! frame it (`SWITCHBOARD_UI_FRAME_ANCESTORS`).
//!
//! Framing: by default no page may show the UI in a frame. With
//! `SWITCHBOARD_UI_FRAME_ANCESTORS`, the page itself (`GET /`, nothing else:
//! not its scripts, not dev sign-in, not the OAuth callback) names those
//! origins in `frame-ancestors` and drops `X-Frame-Options`; `/?embed=1`
//! shows the Apps menu alone, sized for a host's composer.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_core::domain::UserId;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

const INDEX: &str = include_str!("../ui/index.html");
const SCRIPT: &str = include_str!("../ui/app.js");
const APPROVALS: &str = include_str!("../ui/approvals.js");
const STYLE: &str = include_str!("../ui/app.css");

/// No inline script or style, nothing from elsewhere…
const CSP_BASE: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'";
/// …and never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Lifetime of a dev sign-in token.
const DEV_TOKEN_TTL: Duration = Duration::from_secs(8 * 3600);

pub fn router(state: &AppState) -> Router<AppState> {
    let framed = framing_policy(&state.settings.ui_frame_ancestors);
    Router::new()
        .route("/", get(|| asset(INDEX, "text/html; charset=utf-8")))
        .route("/ui/app.js", get(|| asset(SCRIPT, "text/javascript; charset=utf-8")))
        .route(
            "/ui/approvals.js",
            get(|| asset(APPROVALS, "text/javascript; charset=utf-8")),
        )
        .route("/ui/app.css", get(|| asset(STYLE, "text/css; charset=utf-8")))
        .route("/ui/config", get(config))
        .route("/ui/dev-sign-in", post(dev_sign_in))
        .layer(middleware::from_fn(
            move |request: axum::extract::Request, next: Next| {
                let framed = framed.clone();
                async move { security_headers(framed, request, next).await }
            },
        ))
}

/// The page's policy when `ancestors` may frame it (none when nobody may).
fn framing_policy(ancestors: &[String]) -> Option<HeaderValue> {
    if ancestors.is_empty() {
        return None;
    }
    HeaderValue::from_str(&format!("{CSP_BASE}; frame-ancestors {}", ancestors.join(" "))).ok()
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn security_headers(framed: Option<HeaderValue>, request: axum::extract::Request, next: Next) -> Response {
    let page = request.uri().path() == "/";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    match framed.filter(|_| page) {
        Some(policy) => {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        None => {
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn config(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "dev_sign_in": state.dev_sign_in.is_some(),
        "token_origins": state.settings.ui_token_origins,
        "frame_ancestors": state.settings.ui_frame_ancestors,
        // The chat needs a model the operator configured; else it says so up front.
        "chat": state.settings.agent.llm_base_url.is_some() && state.settings.agent.llm_model.is_some(),
        "chat_settings": ["SWITCHBOARD_LLM_BASE_URL", "SWITCHBOARD_LLM_MODEL"],
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevSignIn {
    user: String,
}

async fn dev_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<DevSignIn>,
) -> ApiResult<Json<Value>> {
    let Some(secret) = &state.dev_sign_in else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "dev sign-in is off on this server",
        ));
    };
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let host = text(header::HOST).unwrap_or_default();
    let same_origin = text(header::ORIGIN)
        .is_none_or(|origin| origin == format!("http://{host}") || origin == format!("https://{host}"));
    if !crate::hosts::is_loopback(host) || !same_origin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "DEV_SIGN_IN_REFUSED",
            "dev sign-in answers only this machine's own page (a loopback host, no foreign origin)",
        ));
    }
    let user = UserId::parse(body.user.trim())
        .map_err(|msg| ApiError::validation(vec![switchboard_core::domain::FieldError::body(&["user"], msg)]))?;
    let token =
        crate::auth::mint_token(secret, user.as_str(), DEV_TOKEN_TTL, None, None).map_err(ApiError::internal)?;
    tracing::info!(user_id = %user, "dev sign-in");
    Ok(Json(json!({"token": token, "user": user.as_str()})))
}
