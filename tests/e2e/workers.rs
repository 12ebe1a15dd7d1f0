//! Distributed mode with real worker processes: they share the queue, a
//! killed worker's job is finished by another, and SIGTERM lets in-flight
//! jobs finish. (Multi-process tests run one at a time: see .config/nextest.toml.)

use std::time::Duration;

use serde_json::json;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::runs::wait_for_run;
use switchboard_tests::workers::WorkerProcess;
use switchboard_tests::{Backend, TestApp, UserClient};

use crate::invocations::invoke;

async fn worker(app: &TestApp, extra: &[(&str, &str)]) -> WorkerProcess {
    WorkerProcess::spawn(env!("CARGO_BIN_EXE_test-worker"), app, extra).await
}

/// An API with no workers of its own: jobs must go to the worker processes.
async fn api_only() -> TestApp {
    TestApp::builder(Backend::Postgres)
        .without_workers()
        .configure(|s| s.jobs.test_budget = Duration::from_secs(10))
        .spawn()
        .await
}

async fn wait_until_running(user: &UserClient<'_>, id: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while user.get(&format!("/api/runs/{id}")).await.body["status"] != "running" {
        assert!(tokio::time::Instant::now() < deadline, "run {id} never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs still queued or running in the app's database.
async fn unfinished_runs(app: &TestApp) -> i64 {
    let url = app.settings.database_url.as_ref().unwrap().expose().to_owned();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("select count(*) from runs where status in ('queued', 'running')")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

fn jobs_done(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("switchboard_jobs_total") && l.contains(r#"outcome="succeeded""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_share_the_queue() {
    let app = api_only().await;
    let fixture = McpFixture::with_tools(2, 5);
    fixture.set_delay(Duration::from_millis(100));
    let mcp = fixture.clone().spawn().await;
    let limited = [("SWITCHBOARD_WORKER_CONCURRENCY", "2")];
    let (a, b) = (worker(&app, &limited).await, worker(&app, &limited).await);
    let alice = app.user("alice");
    let tests = (0..12).map(|_| {
        alice.send_with(
            reqwest::Method::POST,
            "/api/connectors/test",
            Some(json!({"server_url": mcp.url})),
            &[("prefer", "wait=30")],
        )
    });
    for run in futures::future::join_all(tests).await {
        assert_eq!(run.body["status"], "succeeded", "{}", run.text);
        assert_eq!(run.body["attempts"], 1);
    }
    let (done_a, done_b) = (jobs_done(&a.metrics().await), jobs_done(&b.metrics().await));
    assert_eq!(done_a + done_b, 12.0);
    assert!(
        done_a > 0.0 && done_b > 0.0,
        "both processes took jobs: {done_a} + {done_b}"
    );
    assert_eq!(unfinished_runs(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_is_finished_by_another() {
    let app = api_only().await;
    let fixture = McpFixture::with_tools(2, 5);
    fixture.set_delay(Duration::from_millis(1500));
    let mcp = fixture.clone().spawn().await;
    let mut doomed = worker(&app, &[]).await;
    let alice = app.user("alice");
    let run = alice.post("/api/connectors/test", json!({"server_url": mcp.url})).await;
    let id = run.body["id"].as_str().unwrap().to_owned();
    wait_until_running(&alice, &id).await;

    let survivor = worker(&app, &[]).await;
    doomed.signal("KILL");
    doomed.wait(Duration::from_secs(5)).await;
    fixture.set_delay(Duration::from_millis(100));
    let finished = wait_for_run(&alice, &id, Duration::from_secs(30)).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(finished["attempts"], 2, "the survivor ran it again");
    assert_eq!(unfinished_runs(&app).await, 0, "nothing is left queued or running");
    assert_eq!(jobs_done(&survivor.metrics().await), 1.0);
    let depth = app
        .state
        .queue
        .as_queue()
        .depth(switchboard_core::jobs::RunKind::ConnectionTest)
        .await
        .unwrap();
    assert_eq!(depth, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_jobs_finish() {
    let app = api_only().await;
    let fixture = McpFixture::with_tools(2, 5);
    fixture.set_delay(Duration::from_millis(400));
    let mcp = fixture.clone().spawn().await;
    let mut worker = worker(&app, &[]).await;
    let alice = app.user("alice");
    let run = alice.post("/api/connectors/test", json!({"server_url": mcp.url})).await;
    let id = run.body["id"].as_str().unwrap().to_owned();
    wait_until_running(&alice, &id).await;
    worker.signal("TERM");
    let status = worker.wait(Duration::from_secs(15)).await;
    assert!(status.success(), "a clean exit: {status}");
    let finished = alice.get(&format!("/api/runs/{id}")).await;
    assert_eq!(
        finished.body["status"], "succeeded",
        "the in-flight job finished first: {}",
        finished.text
    );
    assert_eq!(finished.body["attempts"], 1);
}

/// A worker killed after it sent a call: the call is not sent again unless
/// the tool is safe to repeat; the run ends in `OUTCOME_UNKNOWN`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_dispatched_by_a_killed_worker_is_not_sent_again() {
    let app = api_only().await;
    let fixture = McpFixture::with_tools(2, 5);
    let mcp = fixture.clone().spawn().await;
    let mut doomed = worker(&app, &[]).await;
    let alice = app.user("alice");
    crate::invocations::save_connector(&alice, "Notes", &mcp.url).await;
    fixture.set_call_delay(Duration::from_secs(30));
    let call = |tool: &str, text: &str| {
        alice.post(
            "/api/agent/invocations",
            json!({"tool": tool, "arguments": {"text": text}}),
        )
    };
    let unsafe_run = call("notes__tool_1", "pay").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read_only_run = call("notes__tool_0", "read").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fixture.calls().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "calls never reached the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.signal("KILL");
    doomed.wait(Duration::from_secs(5)).await;
    fixture.set_call_delay(Duration::ZERO);
    let _survivor = worker(&app, &[]).await;

    let lost = wait_for_run(&alice, &unsafe_run, Duration::from_secs(40)).await;
    assert_eq!(lost["status"], "failed", "{lost}");
    assert_eq!(lost["error_code"], "OUTCOME_UNKNOWN");
    assert_eq!(lost["attempts"], 1, "failed by the reconciler, never taken again");
    let steps = lost["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .all(|s| s["status"] != "pending" && s["status"] != "running"),
        "every step ended: {steps:?}"
    );
    let repeated = wait_for_run(&alice, &read_only_run, Duration::from_secs(40)).await;
    assert_eq!(
        repeated["status"], "succeeded",
        "a read-only call is safe to send again: {repeated}"
    );
    let sent: Vec<String> = fixture.calls().into_iter().map(|(tool, _)| tool).collect();
    let pay = sent.iter().filter(|t| *t == "tool_1").count();
    assert_eq!(pay, 1, "the unsafe call was sent once: {sent:?}");
    assert_eq!(sent.iter().filter(|t| *t == "tool_0").count(), 2, "{sent:?}");
}

/// Two invocations on two worker processes find the same stale OAuth token:
/// exactly one refresh reaches the authorization server (the database lease),
/// and both calls succeed with the refreshed token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_refresh_an_oauth_token_once() {
    let app = api_only().await;
    let server = switchboard_tests::fixtures::oauth::OAuthMcp::builder()
        .access_ttl(Duration::from_secs(4))
        .spawn()
        .await;
    // One job at a time, fetched one at a time: the two calls land on the two processes.
    let one_each = [
        ("SWITCHBOARD_WORKER_CONCURRENCY", "1"),
        ("SWITCHBOARD_QUEUE_BATCH_SIZE", "1"),
    ];
    let first = worker(&app, &one_each).await;
    let second = worker(&app, &one_each).await;
    let alice = app.user("alice");
    crate::oauth::authorized_connector(&app, &alice, &server).await;

    // The token is now stale for Switchboard (4 s tokens are refreshed from
    // 2 s of age); the refresh takes long enough for both calls to want one at
    // the same time. (A slow machine may have refreshed once already.)
    tokio::time::sleep(Duration::from_millis(2100)).await;
    server.set_refresh_delay(Duration::from_millis(700));
    let before = server.refreshes();
    let (a, b) = tokio::join!(
        invoke(&alice, "notes__tool_0", json!({"text": "a"})),
        invoke(&alice, "notes__tool_1", json!({"text": "b"})),
    );
    assert_eq!(a.body["status"], "succeeded", "{}", a.text);
    assert_eq!(b.body["status"], "succeeded", "{}", b.text);
    assert_eq!(server.refreshes() - before, 1, "one refresh for two processes");
    let calls = |metrics: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with("switchboard_invocations_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(calls(&first.metrics().await), 1.0, "each process made one call");
    assert_eq!(calls(&second.metrics().await), 1.0, "each process made one call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_when_one_is_set() {
    const TOKEN: &str = "scrape-8d1e";
    let app = TestApp::builder(Backend::Postgres)
        .without_workers()
        .configure(|s| s.metrics_token = Some(switchboard_core::Secret::new(TOKEN)))
        .spawn()
        .await;
    let process = worker(&app, &[("SWITCHBOARD_METRICS_TOKEN", TOKEN)]).await;
    let http = reqwest::Client::new();
    for url in [app.url("/metrics"), process.metrics_url.clone()] {
        let status = |r: reqwest::Response| r.status().as_u16();
        assert_eq!(status(http.get(&url).send().await.unwrap()), 401, "{url}");
        let wrong = http.get(&url).bearer_auth("scrape-8d1f").send().await.unwrap();
        assert_eq!(status(wrong), 401, "{url}");
        let scraped = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(scraped.status(), 200, "{url}");
        let content_type = scraped.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.starts_with("text/plain"), "{url}: Prometheus text");
    }
}
