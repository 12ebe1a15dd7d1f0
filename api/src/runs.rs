//! Runs as the API shows them, and the two ways to get a result: poll /
//! stream (202 + URLs), or `Prefer: wait=N` (RFC 7240) to wait up to N
//! seconds for the finished run.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use switchboard_core::domain::UserId;
use switchboard_core::runs::{RunEvent, RunRecord, RunStatus, Step, apply_step};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::state::AppState;

/// Longest `Prefer: wait` honoured.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// A run: status, steps with timings, and the result once finished.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    pub id: Uuid,
    /// `connection_test` or `discover_tools`.
    pub kind: String,
    /// `queued`, `waiting` (over your limit of running jobs), `running`,
    /// `awaiting_approval` (see `approval_id`), `succeeded` or `failed`.
    pub status: String,
    /// A call waiting for your approval, or an agent turn parked on one:
    /// decide with `POST /api/approvals/{approval_id}`.
    pub approval_id: Option<Uuid>,
    pub connector_id: Option<Uuid>,
    /// Tool calls: the catalog name of the tool called.
    pub tool: Option<String>,
    pub steps: Vec<Step>,
    /// For tests: `{success, error_code, error_message, tools, server}`.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status_url: String,
    pub events_url: String,
}

impl From<RunRecord> for RunView {
    fn from(r: RunRecord) -> Self {
        Self {
            status_url: format!("/api/runs/{}", r.id),
            events_url: format!("/api/runs/{}/events", r.id),
            id: r.id,
            approval_id: r.input.approval_id,
            tool: r.input.tool.as_ref().map(|t| t.catalog_name.clone()),
            kind: r.kind,
            status: r.status,
            connector_id: r.connector_id,
            steps: r.steps.0,
            result: r.result.map(|j| j.0),
            error_code: r.error_code,
            error_message: r.error_message,
            attempts: r.attempts,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        }
    }
}

impl RunView {
    /// As lists show it: everything but the result, which can be large.
    pub fn listed(record: RunRecord) -> Self {
        Self {
            result: None,
            ..Self::from(record)
        }
    }
}

/// The view of a run and the log position it reflects; while it runs, its
/// steps come from the event log (the row is written when the run ends).
pub async fn view(state: &AppState, record: RunRecord) -> (RunView, u64) {
    let status = record.status();
    let terminal = status.is_terminal();
    let mut view = RunView::from(record);
    let events = state.events.since(view.id, 0).await.unwrap_or_default();
    let mut seq = events.last().map_or(0, |(seq, _)| *seq);
    if !terminal {
        // Events after the row was read: stop before a terminal one, so the
        // returned position lets a stream still deliver `finished`.
        for (at, event) in events {
            if event.is_terminal() {
                seq = at - 1;
                break;
            }
            match event {
                RunEvent::Started { attempt } => {
                    view.status = RunStatus::Running.as_str().to_owned();
                    view.attempts = attempt;
                }
                RunEvent::Step { step } => apply_step(&mut view.steps, step),
                // The row says whether it still waits (a resumed turn is queued).
                RunEvent::AwaitingApproval { approval_id } if status == RunStatus::AwaitingApproval => {
                    view.status = RunStatus::AwaitingApproval.as_str().to_owned();
                    view.approval_id = Some(approval_id);
                }
                RunEvent::AwaitingApproval { .. } => {}
                RunEvent::Finished { .. } => {}
            }
        }
    }
    (view, seq)
}

/// Seconds asked for with `Prefer: wait=N`, capped at [`MAX_WAIT`] (any
/// number, however large, is clamped before it becomes a duration).
pub fn prefer_wait(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|pref| {
            let (name, value) = pref.trim().split_once('=')?;
            let secs: f64 = value.trim().trim_matches('"').parse().ok()?;
            (name.trim().eq_ignore_ascii_case("wait") && secs.is_finite() && secs >= 0.0)
                .then(|| Duration::from_secs_f64(secs.min(MAX_WAIT.as_secs_f64())))
        })
}

/// Waits until the run ends or `timeout` passes; returns the latest row.
pub async fn wait_for_end(state: &AppState, owner: &UserId, id: Uuid, timeout: Duration) -> ApiResult<RunRecord> {
    Ok(switchboard_core::runs::wait::until_finished(&state.services, owner, id, timeout).await?)
}

/// 202 with the run and where to follow it; or, with `Prefer: wait`, 200
/// with the finished run (202 if it did not finish in time).
pub async fn respond(state: &AppState, owner: &UserId, run: RunRecord, wait: Option<Duration>) -> ApiResult<Response> {
    let run = match wait {
        Some(timeout) if !run.status().is_terminal() => wait_for_end(state, owner, run.id, timeout).await?,
        _ => run,
    };
    let finished = run.status().is_terminal();
    let (view, _) = view(state, run).await;
    let status = if finished && wait.is_some() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = (status, Json(&view)).into_response();
    if let Ok(location) = HeaderValue::from_str(&view.status_url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(wait) = wait
        && let Ok(applied) = HeaderValue::from_str(&format!("wait={}", wait.as_secs()))
    {
        response.headers_mut().insert("preference-applied", applied);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_wait_is_parsed_and_capped() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("prefer", HeaderValue::from_str(v).expect("header"));
            h
        };
        assert_eq!(prefer_wait(&headers("wait=5")), Some(Duration::from_secs(5)));
        assert_eq!(
            prefer_wait(&headers("respond-async, wait=2.5")),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(prefer_wait(&headers("wait=9999")), Some(MAX_WAIT));
        assert_eq!(prefer_wait(&headers("wait=1e20")), Some(MAX_WAIT), "no overflow");
        assert_eq!(prefer_wait(&headers("wait=1e309")), None, "infinite");
        assert_eq!(prefer_wait(&headers("wait=NaN")), None);
        assert_eq!(prefer_wait(&headers("wait=-1")), None);
        assert_eq!(prefer_wait(&headers("wait=soon")), None);
        assert_eq!(prefer_wait(&headers("return=minimal")), None);
        assert_eq!(prefer_wait(&HeaderMap::new()), None);
    }
}
