//! The MCP gateway `/mcp`, driven by the official Python MCP SDK
//! (`ops/gateway-client`): it lists the user's catalog and calls a tool that
//! reaches a fixture server; a missing or wrong token is refused with 401; one
//! user never sees another's tools; a change of the catalog is announced.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::invocations::save_connector;

both_backends!(
    the_python_sdk_lists_and_calls_the_users_tools,
    a_catalog_change_is_announced
);

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ops/gateway-client");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the MCP Python SDK is not installed at {}: run ops/ci/ensure-tools.sh",
        python.display()
    );
    python
}

/// Starts the Python client against the app's gateway.
fn client(app: &TestApp, token: Option<&str>, env: &[(&str, &str)]) -> Child {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ops/gateway-client/client.py");
    let mut command = Command::new(python());
    command
        .arg(script)
        .env("GATEWAY_URL", app.url("/mcp"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(token) = token {
        command.env("GATEWAY_TOKEN", token);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().expect("python starts")
}

/// Runs the client to the end; its JSON lines and whether it succeeded.
pub async fn run_client(app: &TestApp, token: Option<&str>, env: &[(&str, &str)]) -> (bool, Vec<Value>) {
    let child = client(app, token, env);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the client finished")
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    (out.status.success(), lines)
}

async fn the_python_sdk_lists_and_calls_the_users_tools(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;
    save_connector(&app.user("alice"), "Notes", &server.url).await;
    app.user("bob").post_empty("/api/tools/export/connect").await;

    let alice = app.token("alice");
    let env = [
        ("GATEWAY_CALL", "notes__tool_1"),
        ("GATEWAY_ARGS", r#"{"text": "via gateway"}"#),
    ];
    let (ok, lines) = run_client(&app, Some(&alice), &env).await;
    assert!(ok, "{lines:?}");
    assert_eq!(lines[0]["tools"], json!(["notes__tool_0", "notes__tool_1"]));
    let result = &lines[0]["result"];
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["structuredContent"]["arguments"]["text"], "via gateway");
    assert_eq!(fixture.calls().len(), 1, "the call reached the fixture server");

    // A bad argument comes back as a tool error the model can read.
    let env = [("GATEWAY_CALL", "notes__tool_1"), ("GATEWAY_ARGS", r#"{"text": 1}"#)];
    let (_, lines) = run_client(&app, Some(&alice), &env).await;
    assert_eq!(lines[0]["result"]["isError"], true, "{lines:?}");
    assert_eq!(fixture.calls().len(), 1);

    // Bob sees his own catalog only, and cannot call Alice's tool.
    let bob = app.token("bob");
    let env = [("GATEWAY_CALL", "notes__tool_1"), ("GATEWAY_ARGS", r#"{"text": "x"}"#)];
    let (ok, lines) = run_client(&app, Some(&bob), &env).await;
    assert!(!ok, "an unknown tool is a protocol error: {lines:?}");
    let (ok, lines) = run_client(&app, Some(&bob), &[]).await;
    assert!(ok, "{lines:?}");
    assert_eq!(lines[0]["tools"], json!(["export__export_data"]));
    assert_eq!(fixture.calls().len(), 1);

    for token in [None, Some("not-a-token")] {
        let (ok, lines) = run_client(&app, token, &[]).await;
        assert!(!ok && lines[0]["error"].is_string(), "{lines:?}");
        let raw = app
            .http
            .post(app.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("authorization", format!("Bearer {}", token.unwrap_or("")))
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 401);
        assert!(
            raw.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{:?}",
            raw.headers()
        );
    }
    // A browser page from another origin is refused even with a token.
    let foreign = app
        .http
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {alice}"))
        .header("origin", "https://evil.example")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
}

async fn a_catalog_change_is_announced(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| s.agent.gateway_watch_interval = Duration::from_millis(200))
        .spawn()
        .await;
    let server = McpFixture::with_tools(2, 10).spawn().await;
    let alice = app.user("alice");
    let id = save_connector(&alice, "Notes", &server.url).await;

    let mut child = client(&app, Some(&app.token("alice")), &[("GATEWAY_WAIT_CHANGE", "20")]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next_line().await.unwrap().expect("a first report")).unwrap();
    assert_eq!(first["tools"], json!(["notes__tool_0", "notes__tool_1"]), "{first}");

    let off = alice
        .put(&format!("/api/connectors/{id}/tools/tool_0"), json!({"enabled": false}))
        .await;
    assert_eq!(off.status, 200);
    let second = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the client reported")
        .unwrap()
        .expect("a second report");
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(second, json!({"changed": true, "tools": ["notes__tool_1"]}));
}

/// The agent routes and the gateway take bodies up to the agent body limit;
/// the gateway refuses a foreign `Host` (DNS rebinding).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_limited_and_foreign_hosts_refused() {
    let app = TestApp::builder(Backend::Sqlite)
        .configure(|s| s.agent.body_limit = 4096)
        .spawn()
        .await;
    let big = "x".repeat(8192);
    let alice = app.user("alice");
    let call = alice
        .post(
            "/api/agent/invocations",
            json!({"tool": "any", "arguments": {"text": big}}),
        )
        .await;
    assert_eq!(call.status, 413, "{}", call.text);
    let turn = alice
        .post(
            "/api/agent/runs",
            json!({"messages": [{"role": "user", "content": big}]}),
        )
        .await;
    assert_eq!(turn.status, 413, "{}", turn.text);
    let small = alice
        .post(
            "/api/agent/invocations",
            json!({"tool": "any", "arguments": {"text": "x".repeat(3000)}}),
        )
        .await;
    assert_eq!(small.status, 404, "within the limit: {}", small.text);

    let gateway = |body: Value, host: Option<&str>| {
        let mut request = app
            .http
            .post(app.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .bearer_auth(app.token("alice"))
            .json(&body);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send()
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}, "padding": big}});
    assert_eq!(gateway(initialize, None).await.unwrap().status(), 413);
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    assert_eq!(gateway(initialize.clone(), None).await.unwrap().status(), 200);
    let rebound = gateway(initialize, Some("evil.example")).await.unwrap();
    assert_eq!(rebound.status(), 421, "a host this server does not answer to");
}
