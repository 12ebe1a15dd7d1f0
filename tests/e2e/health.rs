//! Health re-checks: the scheduler re-discovers enabled connectors every
//! interval with their owner's credentials; three failures in a row make a
//! connector `degraded` (visible, logged, counted) and one success restores
//! it. Due checks are claimed atomically, so concurrent schedulers never
//! check the same connector twice.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use switchboard_core::config::Settings;
use switchboard_core::store::{HealthStore, SqlStore};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp, logs};

use crate::oauth::wait_for_status;

both_backends!(
    repeated_failures_degrade_a_connector_and_a_success_restores_it,
    due_checks_are_claimed_once
);

async fn repeated_failures_degrade_a_connector_and_a_success_restores_it(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| s.jobs.health_interval = Some(Duration::from_millis(250)))
        .spawn()
        .await;
    let fixture = McpFixture::with_tools(2, 5);
    let mcp = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let id = alice
        .post("/api/connectors", json!({"name": "Flaky", "server_url": mcp.url}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    fixture.set_failing(true);
    let degraded = wait_for_status(&alice, &id, "degraded").await;
    assert_eq!(degraded["last_error_code"], "CONNECTION_FAILED");
    assert_eq!(degraded["tool_count"], 2, "the last good snapshot is kept");
    assert!(
        logs::captured().contains(r#""event":"connector_degraded""#),
        "a structured event is logged"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app
        .anonymous()
        .get("/metrics")
        .await
        .text
        .contains("switchboard_degraded_connectors 1")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gauge never showed the degraded connector"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    fixture.set_failing(false);
    let restored = wait_for_status(&alice, &id, "active").await;
    assert_eq!(restored["last_error_code"], serde_json::Value::Null);
    assert!(logs::captured().contains(r#""event":"connector_restored""#));

    // A disabled connector is not checked.
    alice
        .post(&format!("/api/connectors/{id}/toggle"), json!({"enabled": false}))
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await; // let a check in flight finish
    let before = mcp.hits.posts();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(mcp.hits.posts(), before, "disabled connectors are left alone");
}

async fn due_checks_are_claimed_once(backend: Backend) {
    let app = TestApp::builder(backend)
        .without_workers()
        .configure(|s| s.jobs.health_interval = Some(Duration::from_secs(3600)))
        .spawn()
        .await;
    let settings: Settings = app.settings.clone();
    let (a, b) = (second_store(&settings).await, second_store(&settings).await);
    seed_due_connectors(&app, 25).await;
    let now = Utc::now();
    let next = now + chrono::Duration::hours(1);
    let (left, right) = tokio::join!(a.claim_due_checks(now, next, 100), b.claim_due_checks(now, next, 100));
    let (left, right) = (left.unwrap(), right.unwrap());
    assert_eq!(left.len() + right.len(), 25, "every due connector is claimed");
    assert!(left.iter().all(|l| !right.contains(l)), "by exactly one scheduler");
    let again = a.claim_due_checks(now, next, 100).await.unwrap();
    assert!(again.is_empty(), "and not again before its next check");
}

async fn second_store(settings: &Settings) -> SqlStore {
    SqlStore::connect(&settings.database().unwrap(), 4).await.unwrap()
}

/// Inserts connectors that are due for a check, directly through the store.
async fn seed_due_connectors(app: &TestApp, n: usize) {
    for i in 0..n {
        let mut record = switchboard_tests::seed::connector(
            &format!("seed-{}", i / 10),
            &format!("seed {i}"),
            "http://127.0.0.1:9/mcp",
            Vec::new(),
        );
        record.next_check_at = Some(switchboard_core::store::now() - chrono::Duration::seconds(1));
        app.state.store.insert_connector(&record, 10).await.unwrap();
    }
}
