//! The client side in every MCP era: a connection test detects what the
//! server speaks (`server/discover`, then `initialize`, then the legacy
//! HTTP+SSE transport) and names it in the server info; discovery and calls
//! work in each; a 2026-07-28 server gets one POST per call and no handshake,
//! and an era that failed a call is detected again. Servers: rmcp fixtures in
//! each era, the official Python SDK's server (dual-era) and the legacy-only
//! fixture (server-everything is checked in `ops/ci/mcp-peers.sh`).

use serde_json::{Value, json};
use switchboard_tests::fixtures::legacy::legacy_server;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::fixtures::python_sdk::python_sdk_server;
use switchboard_tests::runs::run_and_wait;
use switchboard_tests::{Backend, TestApp, UserClient};

use crate::invocations::{invoke, save_connector};

both_backends!(each_era_is_detected_named_and_called);

struct Case {
    server: &'static str,
    url: String,
    era: &'static str,
    protocol: &'static str,
    tool: &'static str,
}

async fn each_era_is_detected_named_and_called(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let handshake = McpFixture::with_tools(2, 10).spawn().await;
    let dual = McpFixture::with_tools(2, 10).dual_era().spawn().await;
    let stateless = McpFixture::with_tools(2, 10).stateless_only().spawn().await;
    let python = python_sdk_server().await;
    let legacy = legacy_server(vec![json!({"name": "lookup", "inputSchema": {"type": "object"}})]).await;
    let cases = [
        Case {
            server: "rmcp, handshake era",
            url: handshake.url.clone(),
            era: "session",
            protocol: "2025-11-25",
            tool: "tool_0",
        },
        Case {
            server: "rmcp, dual-era",
            url: dual.url.clone(),
            era: "stateless",
            protocol: "2026-07-28",
            tool: "tool_0",
        },
        Case {
            server: "rmcp, 2026-07-28 only",
            url: stateless.url.clone(),
            era: "stateless",
            protocol: "2026-07-28",
            tool: "tool_0",
        },
        Case {
            server: "Python SDK 2.3",
            url: python.url.clone(),
            era: "stateless",
            protocol: "2026-07-28",
            tool: "echo",
        },
        Case {
            server: "legacy SSE",
            url: legacy.url.clone(),
            era: "legacy_sse",
            protocol: "2024-11-05",
            tool: "lookup",
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        let what = case.server;
        let run = run_and_wait(&alice, "/api/connectors/test", Some(json!({"server_url": case.url}))).await;
        let result = &run.body["result"];
        assert_eq!(result["success"], true, "{what}: {}", run.text);
        assert_eq!(result["server"]["era"], case.era, "{what}: {}", run.text);
        assert_eq!(
            result["server"]["protocol_version"], case.protocol,
            "{what}: {}",
            run.text
        );
        let tools: Vec<&str> = result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert!(tools.contains(&case.tool), "{what}: {tools:?}");

        let connector = format!("Era {i}");
        save_connector(&alice, &connector, &case.url).await;
        let name = format!("era_{i}__{}", case.tool);
        let called = invoke(&alice, &name, json!({"text": "hello"})).await;
        assert_eq!(called.body["status"], "succeeded", "{what}: {}", called.text);
        let text = called.body["result"]["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.contains("hello"), "{what}: {}", called.text);
    }

    // A tool's error is a result in the 2026-07-28 era too.
    let failed = invoke(&alice, "era_3__fail", json!({})).await;
    assert_eq!(failed.body["status"], "succeeded", "{}", failed.text);
    assert_eq!(failed.body["result"]["isError"], true, "{}", failed.text);
}

/// The JSON-RPC methods a fixture received while `work` ran.
async fn methods_during<F: Future>(fixture: &McpFixture, work: F) -> Vec<String> {
    fixture.take_methods();
    work.await;
    fixture.take_methods()
}

async fn call(user: &UserClient<'_>, tool: &str) -> Value {
    let run = invoke(user, tool, json!({"text": "x"})).await;
    run.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateless_server_gets_one_request_per_call() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let alice = app.user("alice");
    let fixture = McpFixture::with_tools(2, 10).stateless_only();
    let server = fixture.clone().spawn().await;
    let initialize = reqwest::Client::new()
        .post(&server.url)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    let refused = initialize.text().await.unwrap();
    assert!(
        refused.contains("Unsupported protocol version"),
        "the fixture speaks 2026-07-28 alone: {refused}"
    );

    // Saving tests the connection: discovery first, no handshake.
    let saved = methods_during(&fixture, save_connector(&alice, "Notes", &server.url)).await;
    assert_eq!(saved.first().map(String::as_str), Some("server/discover"), "{saved:?}");
    assert!(!saved.iter().any(|m| m == "initialize"), "{saved:?}");

    // The era is remembered: each call is one POST.
    let calls = methods_during(&fixture, async {
        for _ in 0..3 {
            assert_eq!(call(&alice, "notes__tool_0").await["status"], "succeeded");
        }
    })
    .await;
    assert_eq!(calls, ["tools/call"; 3], "one request per call");

    // A call that fails makes the era be detected again, then calls go on.
    fixture.fail_calls(400, 1);
    let after = methods_during(&fixture, async {
        let failed = call(&alice, "notes__tool_0").await;
        assert_eq!(failed["status"], "failed", "{failed}");
        let again = call(&alice, "notes__tool_0").await;
        assert_eq!(again["status"], "succeeded", "{again}");
    })
    .await;
    assert_eq!(after, ["tools/call", "server/discover", "tools/call"], "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_era_server_keeps_its_session_and_is_not_asked_to_discover_again() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let alice = app.user("alice");
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;

    let saved = methods_during(&fixture, save_connector(&alice, "Notes", &server.url)).await;
    assert_eq!(saved[..2], ["server/discover", "initialize"], "{saved:?}");

    let calls = methods_during(&fixture, async {
        for _ in 0..3 {
            assert_eq!(call(&alice, "notes__tool_0").await["status"], "succeeded");
        }
    })
    .await;
    assert_eq!(
        calls,
        [
            "initialize",
            "notifications/initialized",
            "tools/call",
            "tools/call",
            "tools/call"
        ],
        "one handshake, then the session is reused"
    );
}
