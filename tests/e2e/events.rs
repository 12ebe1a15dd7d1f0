//! Run events over SSE: current state first, every step live with an `id:`,
//! keep-alives, the end at a terminal state, and resumption with
//! `Last-Event-ID` that neither loses nor repeats an event.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_core::sse::SseEvent;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::runs::{read_events, wait_for_run};
use switchboard_tests::{Backend, TestApp};

both_backends!(
    a_stream_shows_the_state_then_each_step_then_the_end,
    a_reconnect_resumes_without_loss_or_repeats
);

fn step(event: &SseEvent) -> (String, String) {
    let data: Value = serde_json::from_str(&event.data).unwrap();
    (
        data["step"]["name"].as_str().unwrap().to_owned(),
        data["step"]["status"].as_str().unwrap().to_owned(),
    )
}

fn ids(events: &[SseEvent]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e.id.as_ref().expect("every event has an id").parse().unwrap())
        .collect()
}

async fn a_stream_shows_the_state_then_each_step_then_the_end(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 5);
    fixture.set_delay(Duration::from_millis(200));
    let mcp = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let run = alice.post("/api/connectors/test", json!({"server_url": mcp.url})).await;
    let id = run.body["id"].as_str().unwrap().to_owned();

    let events = read_events(&alice, &id, None, 100).await;
    assert_eq!(events[0].event, "run", "the current state comes first");
    let snapshot: Value = serde_json::from_str(&events[0].data).unwrap();
    assert_eq!(snapshot["id"], id.as_str());
    assert_eq!(snapshot["steps"].as_array().unwrap().len(), 5);
    let last = events.last().unwrap();
    assert_eq!(last.event, "finished", "the stream ends with the final run");
    let finished: Value = serde_json::from_str(&last.data).unwrap();
    assert_eq!(finished["status"], "succeeded");
    assert_eq!(finished["attempts"], 1, "{}", last.data);
    assert_eq!(finished["result"]["tools"].as_array().unwrap().len(), 2);

    let all_ids = ids(&events);
    assert!(
        all_ids.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive ids: {all_ids:?}"
    );
    let steps: Vec<(String, String)> = events.iter().filter(|e| e.event == "step").map(step).collect();
    let seen_live: Vec<&str> = steps
        .iter()
        .filter(|(_, s)| s == "running")
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(
        seen_live.contains(&"handshake") && seen_live.contains(&"list_tools"),
        "steps arrive while they run: {steps:?}"
    );
    for name in ["connect", "handshake", "list_tools"] {
        let updates: Vec<&str> = steps
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, s)| s.as_str())
            .collect();
        assert_eq!(updates.last(), Some(&"ok"), "{name}: {updates:?}");
    }

    // A finished run streams its state and ends; resuming from 0 replays the whole log.
    let again = read_events(&alice, &id, None, 10).await;
    assert_eq!(again.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["run"]);
    let replay = read_events(&alice, &id, Some(0), 100).await;
    assert_eq!(ids(&replay), (1..=replay.len() as u64).collect::<Vec<_>>());
    assert_eq!(replay.last().unwrap().event, "finished");

    // Keep-alive comments flow while a step is slow.
    fixture.set_delay(Duration::from_millis(1300));
    let slow = alice.post("/api/connectors/test", json!({"server_url": mcp.url})).await;
    let raw = alice
        .get(&format!("/api/runs/{}/events", slow.body["id"].as_str().unwrap()))
        .await;
    assert!(raw.text.contains(": keep-alive"), "{}", raw.text);
    assert!(raw.text.contains("event: finished"));
}

async fn a_reconnect_resumes_without_loss_or_repeats(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(3, 1);
    fixture.set_delay(Duration::from_millis(150));
    let mcp = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let run = alice.post("/api/connectors/test", json!({"server_url": mcp.url})).await;
    let id = run.body["id"].as_str().unwrap().to_owned();

    let first = read_events(&alice, &id, None, 4).await; // the state and three events, then disconnect
    assert_eq!(first.len(), 4);
    let last_seen: u64 = first.last().unwrap().id.as_ref().unwrap().parse().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await; // events keep happening while disconnected
    let rest = read_events(&alice, &id, Some(last_seen), 100).await;
    assert_eq!(rest.last().unwrap().event, "finished");

    let mut received: Vec<SseEvent> = first[1..].to_vec();
    received.extend(rest);
    let got = ids(&received);
    let start = got[0];
    assert_eq!(
        got,
        (start..start + got.len() as u64).collect::<Vec<_>>(),
        "no gap, no repeat"
    );
    let log = read_events(&alice, &id, Some(0), 100).await;
    assert_eq!(ids(&log).into_iter().filter(|i| *i >= start).collect::<Vec<_>>(), got);
    let steps: Vec<(String, String)> = received.iter().filter(|e| e.event == "step").map(step).collect();
    let mut deduped = steps.clone();
    deduped.dedup();
    assert_eq!(steps, deduped, "every step update exactly once");
    let final_run = wait_for_run(&alice, &id, Duration::from_secs(5)).await;
    assert_eq!(final_run["status"], "succeeded");
}
