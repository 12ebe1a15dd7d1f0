//! Benchmark: what the per-connector proxy `/mcp/connectors/{id}` adds to a
//! `tools/call` (target: ≤ 2 ms at p50). The fast fixture (an rmcp echo
//! server speaking every revision) is called directly and through an
//! embedded Switchboard, sequentially, by rmcp's client in a session
//! (2025-11-25: one upstream session per client session) and without one
//! (2026-07-28: each request stands alone, and the proxy opens the server for
//! each — a discovery plus the call, since rmcp hears a relayed stateless
//! server's notifications only on sessions it discovered itself).
//!
//! Run with `ops/bench/proxy.sh` (release build). `ROUNDS` sets the samples
//! per case (default 2000).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientServiceExt as _, RoleClient};
use serde_json::json;
use switchboard_tests::bench::report_low_load;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp};

async fn client(url: &str, token: Option<String>, stateless: bool) -> RunningService<RoleClient, ClientConfig> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    config.auth_header = token;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let transport = StreamableHttpClientTransport::with_client(http, config);
    let lifecycle = if stateless {
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        }
    } else {
        ClientLifecycleMode::Initialize
    };
    ClientConfig::default()
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap()
}

async fn sample(client: &RunningService<RoleClient, ClientConfig>, rounds: usize) -> Vec<Duration> {
    let mut arguments = serde_json::Map::new();
    arguments.insert("text".into(), json!("benchmark"));
    let params = CallToolRequestParams::new("tool_1").with_arguments(arguments);
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let result = client.peer().call_tool(params.clone()).await.unwrap();
        samples.push(started.elapsed());
        assert_ne!(result.is_error, Some(true));
    }
    samples.sort();
    samples
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2000);
    let fixture = McpFixture::with_tools(5, 10).dual_era().spawn().await;
    let app = TestApp::builder(Backend::Sqlite)
        .configure(|s| {
            s.agent.invoke_rate_limit = 0;
            s.limits.gateway_sessions = 0;
        })
        .spawn()
        .await;
    let saved = app
        .user("alice")
        .post(
            "/api/connectors",
            json!({"name": "Fast", "server_url": fixture.url, "auth_type": "none", "tool_policy": "allow"}),
        )
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    let proxy = app.url(&format!("/mcp/connectors/{}", saved.body["id"].as_str().unwrap()));

    println!("tools/call, direct and through /mcp/connectors/{{id}} (embedded Switchboard, SQLite)");
    for (label, stateless) in [("session, 2025-11-25", false), ("stateless, 2026-07-28", true)] {
        let direct = client(&fixture.url, None, stateless).await;
        let proxied = client(&proxy, Some(app.token("alice")), stateless).await;
        sample(&direct, rounds / 10).await;
        sample(&proxied, rounds / 10).await;
        let floor = sample(&direct, rounds).await;
        let measured = sample(&proxied, rounds).await;
        println!("{label}:");
        report_low_load("direct to the fixture", &floor, "through the proxy", &measured);
        direct.cancel().await.unwrap();
        proxied.cancel().await.unwrap();
    }
    app.stop().await;
}
