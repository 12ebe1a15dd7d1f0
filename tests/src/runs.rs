//! Helpers for runs: waiting on them and reading their event streams.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use switchboard_core::sse::{self, SseEvent};

use crate::client::{Resp, UserClient};

/// Polls `GET /api/runs/{id}` until the run ends (panics after `timeout`).
pub async fn wait_for_run(user: &UserClient<'_>, id: &str, timeout: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let run = user.get(&format!("/api/runs/{id}")).await;
        assert_eq!(run.status, 200, "{}", run.text);
        if run.body["finished_at"].is_string() {
            return run.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run {id} did not finish: {}",
            run.text
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `POST path` with `Prefer: wait=10`: the finished run.
pub async fn run_and_wait(user: &UserClient<'_>, path: &str, body: Option<Value>) -> Resp {
    user.send_with(reqwest::Method::POST, path, body, &[("prefer", "wait=10")])
        .await
}

/// Re-discovers a connector's tools (`POST …/refresh`, waiting up to 20 s)
/// and asserts the run succeeded.
pub async fn refresh(user: &UserClient<'_>, id: &str) -> Resp {
    let path = format!("/api/connectors/{id}/refresh");
    let run = user
        .send_with(reqwest::Method::POST, &path, None, &[("prefer", "wait=20")])
        .await;
    assert_eq!(run.body["status"], "succeeded", "{}", run.text);
    run
}

/// Opens a run's event stream (optionally resuming) and reads up to `limit`
/// events, or until the stream ends.
pub async fn read_events(user: &UserClient<'_>, id: &str, last_event_id: Option<u64>, limit: usize) -> Vec<SseEvent> {
    let mut request = user.request(reqwest::Method::GET, &format!("/api/runs/{id}/events"));
    if let Some(last) = last_event_id {
        request = request.header("last-event-id", last.to_string());
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut events = Box::pin(sse::events(response.bytes_stream(), 1 << 20));
    let mut out = Vec::new();
    while out.len() < limit {
        match tokio::time::timeout(Duration::from_secs(15), events.next()).await {
            Ok(Some(Ok(event))) => out.push(event),
            Ok(Some(Err(e))) => panic!("bad event stream: {e}"),
            Ok(None) => break,
            Err(_) => panic!("event stream stalled after {} events", out.len()),
        }
    }
    out
}
