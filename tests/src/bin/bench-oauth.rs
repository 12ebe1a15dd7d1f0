//! Measures OAuth token use and refresh, distributed mode (PostgreSQL, Redis),
//! against the OAuth-protected fixture server:
//!
//! 1. a fresh token: `access_token()` (one grant read, one vault open);
//! 2. a refresh storm: a stale token asked for by N concurrent callers spread
//!    over two independent `Services` (two pools, as two processes would
//!    have), the authorization server taking 100 ms per refresh: how many
//!    refreshes reach it, and how long callers wait;
//! 3. a tool call through the queue on an OAuth connector (a new session per
//!    call, since its token may change) next to one without auth (a reused
//!    session).
//!
//! Run with `ops/bench/oauth.sh`.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_core::oauth::OAuthTarget;
use switchboard_core::services::{Overrides, Services};
use switchboard_tests::bench::{ms, percentile};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::fixtures::oauth::OAuthMcp;
use switchboard_tests::sign_in::{finish, sign_in_via};
use switchboard_tests::{Backend, TestApp};

const CALLERS: usize = 50;

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap()),
    );
}

/// Saves a connector; its id.
async fn save(app: &TestApp, body: Value) -> String {
    let created = app.user("alice").post("/api/connectors", body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn invoke(app: &TestApp, tool: &str) -> Duration {
    let started = Instant::now();
    let body = json!({"tool": tool, "arguments": {"text": "x"}});
    let run = app
        .user("alice")
        .send_with(
            reqwest::Method::POST,
            "/api/agent/invocations",
            Some(body),
            &[("prefer", "wait=30")],
        )
        .await;
    assert_eq!(run.body["status"], "succeeded", "{}", run.text);
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let server = OAuthMcp::builder().access_ttl(Duration::from_secs(2)).spawn().await;
    let id = save(
        &app,
        json!({"name": "Docs", "server_url": server.mcp_url, "auth_type": "oauth", "auth_config": {}, "tool_policy": "allow"}),
    )
    .await;
    let alice = app.user("alice");
    let callback = sign_in_via(&alice, &format!("/api/connectors/{id}/authorize")).await;
    assert_eq!(finish(&app, &callback, Some(&callback.cookie)).await.0, 200);
    let target = OAuthTarget::Connector(id.parse().unwrap());
    let oauth = &app.state.oauth;

    // 1. Fresh tokens (refreshed once first so the next second is all fresh).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    oauth.access_token("alice", target).await.unwrap();
    let mut fresh = Vec::new();
    let until = Instant::now() + Duration::from_millis(800);
    while Instant::now() < until {
        let t = Instant::now();
        oauth.access_token("alice", target).await.unwrap();
        fresh.push(t.elapsed());
    }
    report("fresh token", fresh);

    // 2. A refresh storm over two independent Services.
    let other = Services::build(
        app.settings.clone(),
        Overrides {
            resolver: Some(std::sync::Arc::new(switchboard_tests::probe::test_resolver())),
            loopback_fuse: true,
        },
    )
    .await
    .unwrap();
    server.set_refresh_delay(Duration::from_millis(100));
    for round in 1..=3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let before = server.refreshes();
        let calls = (0..CALLERS).map(|i| {
            let service = if i % 2 == 0 {
                app.state.oauth.clone()
            } else {
                other.oauth.clone()
            };
            async move {
                let t = Instant::now();
                service.access_token("alice", target).await.unwrap();
                t.elapsed()
            }
        });
        let waits = futures::future::join_all(calls).await;
        println!(
            "refresh storm {round}: {CALLERS} callers over 2 services → {} refresh(es)",
            server.refreshes() - before
        );
        report(&format!("refresh storm {round} wait"), waits);
    }
    server.set_refresh_delay(Duration::ZERO);

    // 3. Tool calls through the queue: OAuth connector vs one without auth.
    let plain = McpFixture::with_tools(2, 10).spawn().await;
    save(
        &app,
        json!({"name": "Plain", "server_url": plain.url, "auth_type": "none", "tool_policy": "allow"}),
    )
    .await;
    let mut oauth_calls = Vec::new();
    let mut plain_calls = Vec::new();
    for _ in 0..5 {
        invoke(&app, "docs__tool_0").await;
        invoke(&app, "plain__tool_0").await;
    }
    for _ in 0..200 {
        oauth_calls.push(invoke(&app, "docs__tool_0").await);
        plain_calls.push(invoke(&app, "plain__tool_0").await);
    }
    report("call via queue, OAuth connector", oauth_calls);
    report("call via queue, no auth", plain_calls);
    println!("refreshes in all (tokens live 2 s): {}", server.refreshes());
}
