//! Test before save. A connector is saved only with the tools of a passed
//! connection test of exactly its settings: either the `test_run_id` of such a
//! test by the same user (its fingerprint must match), or a test run right
//! now, waited for up to the test budget.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::json;
use switchboard_core::domain::{AuthType, Credentials, CustomHeaders, ToolInfo, UserId};
use switchboard_core::jobs::RunKind;
use switchboard_core::mcp::{ErrorCode, Failure};
use switchboard_core::runs::launch::{NewRun, SealedRunInput, failed_at_once, launch};
use switchboard_core::runs::{Fingerprint, RunInput, RunRecord, RunStatus, TestResult};
use uuid::Uuid;

use super::write::Connection;
use crate::error::{ApiError, ApiResult};
use crate::runs::{RunView, wait_for_end};
use crate::state::AppState;

/// How long a passed test vouches for its settings.
const TEST_VALID_FOR: Duration = Duration::from_secs(30 * 60);

/// What a passed test found.
#[derive(Debug)]
pub struct Verified {
    pub tools: Vec<ToolInfo>,
    pub discovered_at: DateTime<Utc>,
    /// `NO_TOOLS` when the server offers none; `AUTH_REQUIRED` when an OAuth
    /// server is reachable but not authorized yet.
    pub warning: Option<String>,
}

impl Verified {
    /// Saved before authorization: the connector waits for Authorize.
    pub fn needs_authorization(&self) -> bool {
        self.warning.as_deref() == Some(ErrorCode::AuthRequired.as_str())
    }
}

/// An OAuth connector may be saved when its test found the server and it asked
/// for authorization (`AUTH_REQUIRED`); Authorize completes it.
fn awaiting_authorization(run: &RunRecord, connection: &Connection) -> bool {
    connection.credentials.auth_type() == AuthType::Oauth
        && run.status() == RunStatus::Failed
        && run.error_code.as_deref() == Some(ErrorCode::AuthRequired.as_str())
}

fn awaiting(run: &RunRecord) -> Verified {
    Verified {
        tools: Vec::new(),
        discovered_at: run.finished_at.unwrap_or_else(Utc::now),
        warning: Some(ErrorCode::AuthRequired.as_str().to_owned()),
    }
}

/// `connector`: the saved connector being edited, when its OAuth grant may be
/// used for the test (same server and client).
pub async fn verify(
    state: &AppState,
    user: &UserId,
    connection: &Connection,
    test_run_id: Option<Uuid>,
    connector: Option<Uuid>,
) -> ApiResult<Verified> {
    match test_run_id {
        Some(id) => {
            let run = state.store.run(user, id).await.map_err(|_| {
                not_verified(
                    "test_run_id does not name a connection test of yours; test the connection first",
                    None,
                )
            })?;
            check_test_run(&run, connection)?;
            if awaiting_authorization(&run, connection) {
                return Ok(awaiting(&run));
            }
            passed(run)
        }
        None => {
            let run = start_test(
                state,
                user,
                &connection.url.to_string(),
                &connection.credentials,
                &connection.headers,
                connector,
            )
            .await?;
            let budget = state.settings.jobs.test_budget + Duration::from_secs(5);
            let run = wait_for_end(state, user, run.id, budget).await?;
            if awaiting_authorization(&run, connection) {
                return Ok(awaiting(&run));
            }
            if run.status() != RunStatus::Succeeded {
                let message = run
                    .error_message
                    .clone()
                    .unwrap_or_else(|| "the connection test did not finish in time".into());
                return Err(not_verified(
                    &format!("the connection test failed: {message}"),
                    Some(RunView::from(run)),
                ));
            }
            passed(run)
        }
    }
}

fn check_test_run(run: &RunRecord, connection: &Connection) -> ApiResult<()> {
    let view = || Some(RunView::from(run.clone()));
    let usable = run.status() == RunStatus::Succeeded || awaiting_authorization(run, connection);
    if run.kind != RunKind::ConnectionTest.as_str() || !usable {
        return Err(not_verified(
            "that test did not pass; fix the settings and test again",
            view(),
        ));
    }
    let fresh = run
        .finished_at
        .is_some_and(|t| (Utc::now() - t).to_std().unwrap_or_default() < TEST_VALID_FOR);
    if !fresh {
        return Err(not_verified("that test is too old; test the connection again", view()));
    }
    let same = run.input.fingerprint.as_ref().is_some_and(|f| {
        f.matches(
            &connection.url.to_string(),
            &connection.credentials,
            &connection.headers,
        )
    });
    if !same {
        return Err(not_verified(
            "the settings changed since that test; test the connection again",
            view(),
        ));
    }
    Ok(())
}

fn passed(run: RunRecord) -> ApiResult<Verified> {
    let result: TestResult = run
        .result
        .as_ref()
        .and_then(|r| serde_json::from_value(r.0.clone()).ok())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("run {} succeeded without a result", run.id)))?;
    Ok(Verified {
        tools: result.tools,
        discovered_at: run.finished_at.unwrap_or_else(Utc::now),
        warning: result.error_code,
    })
}

fn not_verified(message: &str, run: Option<RunView>) -> ApiError {
    let error = ApiError::new(StatusCode::BAD_REQUEST, "CONNECTION_NOT_VERIFIED", message);
    match run {
        Some(run) => error.with_details(json!({ "run": run })),
        None => error,
    }
}

/// Starts a connection test of `connection` (rate-limited per user). A URL
/// that does not parse becomes a failed run with `INVALID_URL` at once.
pub async fn start_test(
    state: &AppState,
    user: &UserId,
    raw_url: &str,
    credentials: &Credentials,
    headers: &CustomHeaders,
    connector_id: Option<Uuid>,
) -> ApiResult<RunRecord> {
    rate_limit(state, user).await?;
    let input = RunInput {
        approval_id: None,
        server_url: raw_url.to_owned(),
        auth_type: credentials.auth_type().as_str().to_owned(),
        header_names: headers.names(),
        fingerprint: Some(Fingerprint::new(raw_url, credentials, headers)),
        tool: None,
    };
    let new = NewRun {
        owner: user.clone(),
        kind: RunKind::ConnectionTest,
        connector_id,
        input,
        sealed: Some(json!(SealedRunInput {
            credentials: credentials.clone(),
            headers: headers.clone()
        })),
        idempotency: None,
    };
    Ok(match switchboard_core::domain::ServerUrl::parse(raw_url) {
        Ok(_) => launch(&state.services, new).await?,
        Err(message) => failed_at_once(&state.services, new, Failure::new(ErrorCode::InvalidUrl, message)).await?,
    })
}

/// 429 with `Retry-After` when the user has used up their tests for this minute.
pub async fn rate_limit(state: &AppState, user: &UserId) -> ApiResult<()> {
    state
        .test_limiter
        .check(user)
        .await
        .map_err(|retry| ApiError::rate_limited("connection tests", retry))
}
