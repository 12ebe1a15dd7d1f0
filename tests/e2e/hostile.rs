//! Hostile servers: every shape a server can take to hold Switchboard ends as
//! a finished run with its code, in both modes, and nothing it sent is kept
//! beyond the caps. Budgets are tiny; the assertions are about codes and
//! sizes, never about time (the benchmark measures time).

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};
use switchboard_core::domain::{Credentials, CustomHeaders};
use switchboard_core::mcp::{ErrorCode, McpLimits};
use switchboard_tests::fixtures::hostile::{self, Shape};
use switchboard_tests::probe::{probe_with, test_client};
use switchboard_tests::runs::wait_for_run;
use switchboard_tests::{Backend, TestApp, UserClient};

both_backends!(every_hostile_shape_ends_with_its_code);

/// Largest event a run may publish, serialised.
const MAX_EVENT_JSON: usize = 4096;
/// Largest failed run as the API shows it (steps and messages, no tools).
const MAX_FAILED_RUN_JSON: usize = 16 * 1024;

/// Tests `shape` through the API; returns the finished run.
async fn test_against(user: &UserClient<'_>, url: &str) -> Value {
    let started = user.post("/api/connectors/test", json!({"server_url": url})).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    // Generous: the run must end by itself; its budget is what ends it.
    wait_for_run(user, &id, Duration::from_secs(60)).await
}

async fn every_hostile_shape_ends_with_its_code(backend: Backend) {
    // Shapes that hang get a tiny budget; shapes that send too much get room
    // to send it (they must fail on a cap, not on time).
    let hanging = TestApp::builder(backend)
        .configure(|s| s.jobs.test_budget = Duration::from_millis(300))
        .spawn()
        .await;
    let flooding = TestApp::builder(backend)
        .configure(|s| s.jobs.test_budget = Duration::from_secs(20))
        .spawn()
        .await;
    let mut servers = Vec::new();
    for shape in Shape::ALL {
        servers.push((shape, hostile::spawn(shape).await));
    }
    let runs = join_all(servers.iter().map(|(shape, server)| {
        let app = if shape.hangs() { &hanging } else { &flooding };
        async move { (app, test_against(&app.user("mallory"), &server.url).await) }
    }))
    .await;

    let mut wrong = Vec::new();
    for ((shape, server), (app, run)) in servers.iter().zip(&runs) {
        let code = run["result"]["error_code"].as_str().unwrap_or("none");
        if code != shape.expected_code() {
            wrong.push(format!(
                "{shape:?}: {code} ({}), expected {}",
                run["result"]["error_message"],
                shape.expected_code()
            ));
        }
        let shown = app
            .user("mallory")
            .get(&format!("/api/runs/{}", run["id"].as_str().unwrap()))
            .await;
        if code != "NO_TOOLS" {
            assert!(
                shown.text.len() < MAX_FAILED_RUN_JSON,
                "{shape:?}: the stored run is {} bytes",
                shown.text.len()
            );
        }
        let id = run["id"].as_str().unwrap().parse().unwrap();
        for (_, event) in app.state.events.since(id, 0).await.unwrap() {
            let size = serde_json::to_string(&event).unwrap().len();
            assert!(size < MAX_EVENT_JSON, "{shape:?}: an event of {size} bytes");
        }
        assert!(
            server.requests.load(std::sync::atomic::Ordering::SeqCst) > 0,
            "{shape:?} was reached"
        );
    }
    assert!(
        wrong.is_empty(),
        "shapes that ended with the wrong code:\n{}",
        wrong.join("\n")
    );

    // Requests nobody asked for were refused, each with a JSON-RPC error.
    let (_, unsolicited) = servers.iter().find(|(s, _)| *s == Shape::UnsolicitedRequests).unwrap();
    let answers = unsolicited.client_responses();
    for asked in ["s1", "e1", "r1"] {
        let answer = answers.iter().find(|a| a["id"] == asked);
        assert!(
            answer.is_some_and(|a| a["error"]["code"].is_i64()),
            "{asked} was answered with an error: {answers:?}"
        );
    }
}

/// The shape seen hanging intermittently: POST 405, then a legacy GET that
/// never answers. Many times at once, every one ends with `TIMEOUT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_stream_that_never_answers_always_times_out() {
    let server = hostile::spawn(Shape::RefusedPostSilentGet).await;
    let client = test_client(McpLimits::default());
    let (c, h) = (Credentials::None, CustomHeaders::default());
    let reports = join_all((0..40).map(|_| probe_with(&client, &server.url, &c, &h, Duration::from_millis(200)))).await;
    for (report, steps) in reports {
        let failure = report.failure.expect("failed");
        assert_eq!(failure.code, ErrorCode::Timeout, "{failure:?}");
        assert!(
            steps
                .outcome()
                .iter()
                .all(|(_, s)| *s != switchboard_core::mcp::StepStatus::Running),
            "every step ended: {:?}",
            steps.outcome()
        );
    }
}

/// A stalled Redis (`CLIENT PAUSE` on a private server) is an error for the
/// API, not a hang: a test answers 503 `QUEUE_UNAVAILABLE`, `/readyz` names the
/// queue, and both recover when Redis does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_answers_503_and_recovers() {
    let redis = switchboard_tests::redis::PrivateRedis::start().await;
    let url = redis.url();
    let app = TestApp::builder(Backend::Postgres)
        .configure(move |s| {
            s.redis_url = Some(switchboard_core::Secret::new(url));
            s.jobs.redis_timeout = Duration::from_millis(300);
        })
        .spawn()
        .await;
    let mcp = switchboard_tests::fixtures::mcp::McpFixture::with_tools(1, 10)
        .spawn()
        .await;
    let alice = app.user("alice");
    let test = json!({"server_url": mcp.url});
    let before = switchboard_tests::runs::run_and_wait(&alice, "/api/connectors/test", Some(test.clone())).await;
    assert_eq!(
        (before.status, before.body["status"].as_str()),
        (200, Some("succeeded")),
        "{}",
        before.text
    );

    redis.command(&["CLIENT", "PAUSE", "3000", "ALL"]).await.unwrap();
    let stalled = alice.post("/api/connectors/test", test.clone()).await;
    assert_eq!(
        (stalled.status, stalled.code()),
        (503, "QUEUE_UNAVAILABLE"),
        "{}",
        stalled.text
    );
    assert!(stalled.header("retry-after").is_some(), "{:?}", stalled.headers);
    let ready = app.anonymous().get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_ne!(ready.body["error"]["details"]["queue"], "ok", "{}", ready.text);
    assert_eq!(ready.body["error"]["details"]["database"], "ok", "{}", ready.text);

    // The pause ends: everything works again.
    let recovered = async {
        loop {
            let after = switchboard_tests::runs::run_and_wait(&alice, "/api/connectors/test", Some(test.clone())).await;
            if after.status == 200 {
                return after;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let after = tokio::time::timeout(Duration::from_secs(30), recovered)
        .await
        .expect("recovers");
    assert_eq!(after.body["status"], "succeeded", "{}", after.text);
    assert_eq!(app.anonymous().get("/readyz").await.status, 200);
}
