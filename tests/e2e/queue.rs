//! Runs always end, whatever happens to the queue: a run delivered twice runs
//! once, jobs lost with Redis's data are re-enqueued by the reconciler,
//! finished jobs leave nothing in Redis, a short Redis stall takes nothing
//! over, a failed call gives its idempotency key back, and one user's flood
//! does not hold another user's call up.

use std::time::Duration;

use serde_json::json;
use switchboard_core::jobs::RunKind;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::redis::PrivateRedis;
use switchboard_tests::runs::wait_for_run;
use switchboard_tests::workers::WorkerProcess;
use switchboard_tests::{Backend, TestApp};

use crate::invocations::save_connector;

both_backends!(
    a_run_delivered_twice_at_once_calls_once,
    a_call_that_failed_before_dispatch_gives_its_key_back,
    a_flooding_user_does_not_hold_up_another,
);

async fn statuses_of(user: &switchboard_tests::UserClient<'_>, ids: &[String]) -> Vec<String> {
    let mut statuses = Vec::new();
    for id in ids {
        let run = user.get(&format!("/api/runs/{id}")).await;
        statuses.push(run.body["status"].as_str().unwrap_or_default().to_owned());
    }
    statuses
}

fn started(run: &serde_json::Value) -> String {
    run["id"].as_str().unwrap().to_owned()
}

async fn a_run_delivered_twice_at_once_calls_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 10);
    fixture.set_call_delay(Duration::from_millis(300));
    let mcp = fixture.clone().spawn().await;
    let alice = app.user("alice");
    save_connector(&alice, "Notes", &mcp.url).await;
    let run = alice
        .post(
            "/api/agent/invocations",
            json!({"tool": "notes__tool_1", "arguments": {"text": "once"}}),
        )
        .await;
    assert_eq!(run.status, 202, "{}", run.text);
    let id = started(&run.body);
    // The same run's job four more times, at once: five deliveries, one lease.
    let queue = app.state.queue.as_queue();
    for _ in 0..4 {
        queue.enqueue(RunKind::InvokeTool, id.parse().unwrap()).await.unwrap();
    }
    let done = wait_for_run(&alice, &id, Duration::from_secs(20)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fixture.calls().len(),
        1,
        "exactly one tools/call: {:?}",
        fixture.calls()
    );
}

async fn a_call_that_failed_before_dispatch_gives_its_key_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 10);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mcp = fixture.clone().spawn_on(port).await;
    let alice = app.user("alice");
    save_connector(&alice, "Notes", &url).await;
    drop(mcp); // the server goes away: the call never reaches it
    tokio::time::sleep(Duration::from_millis(100)).await;
    let body = json!({"tool": "notes__tool_1", "arguments": {"text": "x"}, "idempotency_key": "key-7"});
    let first = alice
        .send_with(
            reqwest::Method::POST,
            "/api/agent/invocations",
            Some(body.clone()),
            &[("prefer", "wait=20")],
        )
        .await;
    assert_eq!(first.body["status"], "failed", "{}", first.text);
    assert_eq!(first.body["error_code"], "CONNECTION_FAILED", "{}", first.text);

    // The server is back; the same key runs the call anew.
    let _mcp = fixture.clone().spawn_on(port).await;
    let second = alice
        .send_with(
            reqwest::Method::POST,
            "/api/agent/invocations",
            Some(body.clone()),
            &[("prefer", "wait=20")],
        )
        .await;
    assert_eq!(second.body["status"], "succeeded", "{}", second.text);
    assert_ne!(second.body["id"], first.body["id"], "a new run");
    // ... and a dispatched call keeps it: the same key returns that run.
    let third = alice
        .send_with(
            reqwest::Method::POST,
            "/api/agent/invocations",
            Some(body),
            &[("prefer", "wait=20")],
        )
        .await;
    assert_eq!(third.body["id"], second.body["id"]);
    assert_eq!(fixture.calls().len(), 1);
}

async fn a_flooding_user_does_not_hold_up_another(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| {
            s.jobs.concurrency = 4;
            s.limits.running_calls = 2;
        })
        .spawn()
        .await;
    let fixture = McpFixture::with_tools(2, 10);
    let mcp = fixture.clone().spawn().await;
    let (mallory, bob) = (app.user("mallory"), app.user("bob"));
    save_connector(&mallory, "Slow", &mcp.url).await;
    save_connector(&bob, "Slow", &mcp.url).await;
    fixture.set_call_delay(Duration::from_secs(3));
    let mut flood = Vec::new();
    for i in 0..20 {
        let run = mallory
            .post(
                "/api/agent/invocations",
                json!({"tool": "slow__tool_0", "arguments": {"text": i.to_string()}}),
            )
            .await;
        assert_eq!(run.status, 202, "{}", run.text);
        flood.push(started(&run.body));
    }
    let statuses = statuses_of(&mallory, &flood).await;
    assert_eq!(
        statuses.iter().filter(|s| *s == "waiting").count(),
        18,
        "over the cap of 2, the rest wait: {statuses:?}"
    );
    let call = bob
        .post(
            "/api/agent/invocations",
            json!({"tool": "slow__tool_0", "arguments": {"text": "bob"}}),
        )
        .await;
    let bob_run = started(&call.body);
    // Bob's call starts while mallory's flood is still in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let run = bob.get(&format!("/api/runs/{bob_run}")).await;
        if run.body["status"] == "running" || run.body["finished_at"].is_string() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob's call never started: {}",
            run.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting = statuses_of(&mallory, &flood).await;
    assert!(
        waiting.iter().any(|s| s == "waiting"),
        "the flood is still in flight when bob's call starts"
    );
    fixture.set_call_delay(Duration::ZERO);
    for id in &flood {
        let done = wait_for_run(&mallory, id, Duration::from_secs(60)).await;
        assert_eq!(done["status"], "succeeded", "every waiting run ran in the end: {done}");
    }
}

/// Past the backlog, a user gets 429 with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_backlog_a_user_is_told_to_come_back() {
    let app = TestApp::builder(Backend::Sqlite)
        .configure(|s| {
            s.limits.running_calls = 1;
            s.limits.backlog = 2;
        })
        .spawn()
        .await;
    let fixture = McpFixture::with_tools(2, 10);
    let mcp = fixture.clone().spawn().await;
    let alice = app.user("alice");
    save_connector(&alice, "Notes", &mcp.url).await;
    fixture.set_call_delay(Duration::from_secs(5));
    let call = || {
        alice.post(
            "/api/agent/invocations",
            json!({"tool": "notes__tool_0", "arguments": {"text": "x"}}),
        )
    };
    let statuses: Vec<String> = [call().await, call().await, call().await]
        .iter()
        .map(|r| r.body["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(statuses[1..], ["waiting", "waiting"], "{statuses:?}");
    let refused = call().await;
    assert_eq!(
        (refused.status, refused.code()),
        (429, "BACKLOG_FULL"),
        "{}",
        refused.text
    );
    assert!(refused.header("retry-after").is_some());
}

fn private_app(redis: &PrivateRedis) -> switchboard_tests::app::TestAppBuilder {
    let url = redis.url();
    TestApp::builder(Backend::Postgres)
        .without_workers()
        .configure(move |s| s.redis_url = Some(switchboard_core::Secret::new(url)))
}

async fn worker(app: &TestApp) -> WorkerProcess {
    WorkerProcess::spawn(env!("CARGO_BIN_EXE_test-worker"), app, &[]).await
}

/// Every key of the private Redis, by pattern.
async fn keys(redis: &PrivateRedis, pattern: &str) -> Vec<String> {
    match redis.command(&["KEYS", pattern]).await.unwrap() {
        redis::Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                redis::Value::BulkString(b) => String::from_utf8(b).ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// What a restart of the compose Redis (no persistence) does: every queued
/// job is gone. The reconciler enqueues the runs again; every one ends, and
/// once each, and the queue is left empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_whose_jobs_were_lost_with_redis_still_end() {
    let redis = PrivateRedis::start().await;
    let app = private_app(&redis).spawn().await;
    let fixture = McpFixture::with_tools(2, 10);
    let mcp = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let mut first = worker(&app).await;
    save_connector(&alice, "Notes", &mcp.url).await;
    first.signal("KILL");
    first.wait(Duration::from_secs(5)).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let run = alice
            .post(
                "/api/agent/invocations",
                json!({"tool": "notes__tool_1", "arguments": {"text": i.to_string()}}),
            )
            .await;
        ids.push(started(&run.body));
    }
    redis.command(&["FLUSHALL"]).await.unwrap();
    let _worker = worker(&app).await;
    for id in &ids {
        let done = wait_for_run(&alice, id, Duration::from_secs(40)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    assert_eq!(fixture.calls().len(), 6, "each once: {:?}", fixture.calls());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let prefix = &app.settings.jobs.redis_prefix;
    assert!(
        keys(&redis, &format!("{prefix}.*:meta:*")).await.is_empty(),
        "every task acknowledged"
    );
    let data: i64 = match redis
        .command(&["HLEN", &format!("{prefix}.invoke_tool:data")])
        .await
        .unwrap()
    {
        redis::Value::Int(n) => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(data, 0, "no task data left");
}

/// A Redis stall longer than a heartbeat but shorter than the orphan timeout
/// is not a death: the worker keeps its run, the call runs once, and both
/// workers stay registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_redis_stall_takes_nothing_over() {
    let redis = PrivateRedis::start().await;
    let app = private_app(&redis).spawn().await;
    let fixture = McpFixture::with_tools(2, 10);
    let mcp = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let (a, b) = (worker(&app).await, worker(&app).await);
    save_connector(&alice, "Notes", &mcp.url).await;
    fixture.set_call_delay(Duration::from_secs(4));
    let run = alice
        .post(
            "/api/agent/invocations",
            json!({"tool": "notes__tool_1", "arguments": {"text": "stall"}}),
        )
        .await;
    let id = started(&run.body);
    while fixture.calls().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Heartbeats are 1 s; a worker is orphaned after 6 missed ones.
    redis.command(&["CLIENT", "PAUSE", "2500", "ALL"]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let done = wait_for_run(&alice, &id, Duration::from_secs(20)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1, "nobody took it over");
    assert_eq!(fixture.calls().len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let queue = format!("{}.invoke_tool", app.settings.jobs.redis_prefix);
    let registered = match redis.command(&["ZCARD", &format!("{queue}:workers")]).await.unwrap() {
        redis::Value::Int(n) => n,
        other => panic!("{other:?}"),
    };
    assert_eq!(registered, 2, "both workers are still registered");
    drop((a, b));
}
