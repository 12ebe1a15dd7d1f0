//! Gateway sessions belong to the user who opened them. A session id is
//! recorded with its user when `initialize` answers with it; a request of
//! any other user carrying that id is handed to rmcp with an id nobody has,
//! so it is answered exactly like an unknown session. Each session holds one
//! of its user's slots (`SWITCHBOARD_USER_GATEWAY_SESSIONS`); an id that was
//! never recorded for this user (or was forgotten) is nobody's. A user at the
//! cap cannot open another (429). A session is forgotten when it is deleted,
//! when rmcp no longer knows it, or when its transport closes. The
//! per-connector proxy binds its sessions to the user *and* the connector
//! (its `scope`): a session opened on one connector is unknown on another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use switchboard_core::domain::UserId;

use crate::error::ApiError;
use crate::slots::{Slot, UserSlots};

pub const SESSION_HEADER: &str = "mcp-session-id";
/// A session whose `initialized` never came is forgotten after this long.
const UNCONFIRMED: Duration = Duration::from_secs(60);

struct Owner {
    /// The user and scope, see [`owner_key`].
    user: String,
    /// Held while the session lives.
    _slot: Slot,
    /// When it was opened, until `notifications/initialized` confirms it.
    unconfirmed_since: Option<Instant>,
}

#[derive(Clone)]
pub struct GatewaySessions {
    owners: Arc<Mutex<HashMap<String, Owner>>>,
    slots: UserSlots,
}

impl GatewaySessions {
    pub fn new(slots: UserSlots) -> Self {
        Self {
            owners: Arc::default(),
            slots,
        }
    }

    fn owner(&self, session: &str) -> Option<String> {
        let owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        owners.get(session).map(|o| o.user.clone())
    }

    pub fn forget(&self, session: &str) {
        self.owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(session);
    }

    /// `notifications/initialized` arrived: the session lives until its transport closes.
    pub fn confirm(&self, session: &str) {
        if let Some(owner) = self
            .owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(session)
        {
            owner.unconfirmed_since = None;
        }
    }

    fn open(&self, session: String, owner: String, slot: Slot) {
        let mut owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        owners.retain(|_, o| o.unconfirmed_since.is_none_or(|at| at.elapsed() < UNCONFIRMED));
        owners.insert(
            session,
            Owner {
                user: owner,
                _slot: slot,
                unconfirmed_since: Some(Instant::now()),
            },
        );
    }

    /// Applies the rules above around one authenticated request of `user`
    /// within `scope` (empty for the gateway).
    pub async fn bind(
        &self,
        user: &UserId,
        scope: &str,
        mut request: Request,
        next: Next,
        body_limit: usize,
    ) -> Response {
        let owner = owner_key(user, scope);
        let session = request
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut slot = None;
        match &session {
            // Another's session, or one never recorded (or forgotten): nobody's.
            Some(id) if self.owner(id).as_deref() != Some(owner.as_str()) => {
                let nobodys = uuid::Uuid::new_v4().simple().to_string();
                if let Ok(value) = HeaderValue::from_str(&nobodys) {
                    request.headers_mut().insert(SESSION_HEADER, value);
                }
            }
            Some(_) => {}
            None if request.method() == Method::POST => {
                let (parts, body) = request.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, body_limit).await else {
                    return ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "PAYLOAD_TOO_LARGE",
                        "the request body is too large",
                    )
                    .into_response();
                };
                if opens_session(&bytes) {
                    slot = self.slots.try_take(user.as_str());
                    if slot.is_none() {
                        return ApiError::new(
                            StatusCode::TOO_MANY_REQUESTS,
                            "TOO_MANY_SESSIONS",
                            "you have too many MCP sessions open; close one (DELETE on its URL) and try again",
                        )
                        .with_retry_after(5)
                        .into_response();
                    }
                }
                request = Request::from_parts(parts, Body::from(bytes));
            }
            None => {}
        }
        let deleting = request.method() == Method::DELETE;
        let response = next.run(request).await;
        match (&session, slot) {
            (None, Some(slot)) => {
                let opened = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok());
                if let Some(id) = opened {
                    self.open(id.to_owned(), owner, slot);
                }
            }
            (Some(id), _)
                if self.owner(id).as_deref() == Some(owner.as_str())
                    && ((deleting && response.status().is_success()) || response.status() == StatusCode::NOT_FOUND) =>
            {
                self.forget(id);
            }
            _ => {}
        }
        response
    }
}

/// Who owns a session: the user, within a scope (user ids hold no newline).
fn owner_key(user: &UserId, scope: &str) -> String {
    format!("{}\n{scope}", user.as_str())
}

/// Whether a JSON-RPC body is an `initialize` request (alone or in a batch).
fn opens_session(body: &[u8]) -> bool {
    let is_initialize = |v: &serde_json::Value| v["method"] == "initialize";
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(items)) => items.iter().any(is_initialize),
        Ok(value) => is_initialize(&value),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initialize_requests_are_recognised() {
        assert!(opens_session(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#
        ));
        assert!(opens_session(br#"[{"jsonrpc":"2.0","id":1,"method":"initialize"}]"#));
        assert!(!opens_session(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#));
        assert!(!opens_session(b"not json"));
    }
}
