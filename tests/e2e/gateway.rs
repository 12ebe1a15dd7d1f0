//! The MCP gateway `/mcp`, driven by the official MCP SDKs' clients
//! (`ops/gateway-client`: Python in its default mode, which speaks
//! 2026-07-28, and in legacy mode; TypeScript, which speaks 2025-11-25): it
//! lists the user's catalog and calls a tool that reaches a fixture server; a
//! missing or wrong token is refused with 401; one user never sees another's
//! tools; a change of the catalog is announced. Raw JSON-RPC checks each
//! revision's result shapes and the answers to malformed bodies.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp, scripts};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::invocations::save_connector;

both_backends!(
    the_python_sdk_lists_and_calls_the_users_tools,
    a_catalog_change_is_announced
);

/// An official SDK's client, in one of its modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    /// The Python SDK's default: `server/discover`, then 2026-07-28.
    Python,
    /// The Python SDK's `mode="legacy"`: `initialize`, 2025-11-25.
    PythonLegacy,
    /// The TypeScript SDK 1.x: `initialize`, 2025-11-25.
    TypeScript,
}

impl Sdk {
    const ALL: [Sdk; 3] = [Sdk::Python, Sdk::PythonLegacy, Sdk::TypeScript];

    /// The protocol revision it negotiates with the gateway.
    fn protocol(self) -> &'static str {
        match self {
            Sdk::Python => "2026-07-28",
            Sdk::PythonLegacy | Sdk::TypeScript => "2025-11-25",
        }
    }

    fn command(self) -> Command {
        match self {
            Sdk::Python | Sdk::PythonLegacy => {
                let mut command = scripts::python_sdk("client.py");
                if self == Sdk::PythonLegacy {
                    command.env("GATEWAY_MODE", "legacy");
                }
                command
            }
            Sdk::TypeScript => {
                let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ops/gateway-client");
                let sdk = root.join("node_modules/@modelcontextprotocol/sdk");
                assert!(
                    sdk.exists(),
                    "the MCP TypeScript SDK is not installed at {}: run ops/ci/ensure-tools.sh",
                    sdk.display()
                );
                let mut command = Command::new("node");
                command.arg(root.join("client.mjs"));
                command
            }
        }
    }
}

/// Starts the Python client (the SDK's default mode) against the app's gateway.
fn client(app: &TestApp, token: Option<&str>, env: &[(&str, &str)]) -> Child {
    client_of(Sdk::Python, app, token, env)
}

fn client_of(sdk: Sdk, app: &TestApp, token: Option<&str>, env: &[(&str, &str)]) -> Child {
    let mut command = sdk.command();
    command.env("GATEWAY_URL", app.url("/mcp")).envs(env.iter().copied());
    if let Some(token) = token {
        command.env("GATEWAY_TOKEN", token);
    }
    scripts::spawn(command)
}

/// Runs the Python client to the end; its JSON lines and whether it succeeded.
pub async fn run_client(app: &TestApp, token: Option<&str>, env: &[(&str, &str)]) -> (bool, Vec<Value>) {
    run_sdk(Sdk::Python, app, token, env).await
}

pub async fn run_sdk(sdk: Sdk, app: &TestApp, token: Option<&str>, env: &[(&str, &str)]) -> (bool, Vec<Value>) {
    scripts::json_lines(client_of(sdk, app, token, env)).await
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
    assert_eq!(
        lines[0]["protocol"], "2026-07-28",
        "the SDK's default mode negotiates the newest revision"
    );
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
        let raw = post_mcp(&app, token.unwrap_or(""))
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
    let foreign = post_mcp(&app, &alice)
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
        let mut request = post_mcp(&app, &app.token("alice")).json(&body);
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

/// Each SDK client, in each mode: list, call, a tool error, and a change of
/// the catalog announced (2025-11-25 on the session's stream, 2026-07-28 on a
/// `subscriptions/listen` stream).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sdk_client_lists_calls_and_hears_changes() {
    let app = TestApp::builder(Backend::Sqlite)
        .configure(|s| s.agent.gateway_watch_interval = Duration::from_secs(60))
        .spawn()
        .await;
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let id = save_connector(&alice, "Notes", &server.url).await;
    let token = app.token("alice");
    for sdk in Sdk::ALL {
        let call = [("GATEWAY_CALL", "notes__tool_1"), ("GATEWAY_ARGS", r#"{"text": "hi"}"#)];
        let (ok, lines) = run_sdk(sdk, &app, Some(&token), &call).await;
        assert!(ok, "{sdk:?}: {lines:?}");
        assert_eq!(lines[0]["protocol"], sdk.protocol(), "{sdk:?}");
        assert_eq!(lines[0]["result"]["isError"], false, "{sdk:?}: {lines:?}");
        assert_eq!(
            lines[0]["result"]["structuredContent"]["arguments"]["text"], "hi",
            "{sdk:?}"
        );
        let bad = [("GATEWAY_CALL", "notes__tool_1"), ("GATEWAY_ARGS", r#"{"text": 1}"#)];
        let (ok, lines) = run_sdk(sdk, &app, Some(&token), &bad).await;
        assert!(ok && lines[0]["result"]["isError"] == true, "{sdk:?}: {lines:?}");

        let mut child = client_of(sdk, &app, Some(&token), &[("GATEWAY_WAIT_CHANGE", "20")]);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{sdk:?}: a first report"));
        let first: Value = serde_json::from_str(&first).unwrap();
        let listed = first["tools"].as_array().map_or(0, Vec::len);
        // Switch tool_0 off, or back on for the next client.
        let enabled = listed != 2;
        let flipped = alice
            .put(
                &format!("/api/connectors/{id}/tools/tool_0"),
                json!({"enabled": enabled}),
            )
            .await;
        assert_eq!(flipped.status, 200);
        let second = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{sdk:?}: no report of the change"))
            .unwrap()
            .unwrap_or_else(|| panic!("{sdk:?}: a second report"));
        let second: Value = serde_json::from_str(&second).unwrap();
        assert_eq!(second["changed"], true, "{sdk:?}: {second}");
        assert_eq!(
            second["tools"].as_array().map_or(0, Vec::len),
            if enabled { 2 } else { 1 },
            "{sdk:?}"
        );
    }
    assert_eq!(fixture.calls().len(), 3, "each SDK's call reached the fixture once");
}

/// A POST to the gateway accepting JSON or an event stream, with `token` as the bearer.
fn post_mcp(app: &TestApp, token: &str) -> reqwest::RequestBuilder {
    app.http
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(token)
}

/// One JSON-RPC exchange with the gateway: the answer (from a JSON body or
/// the SSE event answering `id`), its HTTP status and the session id.
pub async fn rpc(app: &TestApp, headers: &[(&str, &str)], body: Value) -> (u16, Value, Option<String>) {
    let mut request = post_mcp(app, &app.token("alice")).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let answer = serde_json::from_str(&text).ok().unwrap_or_else(|| {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|m| m.get("id") == body.get("id"))
            .unwrap_or(Value::Null)
    });
    (status, answer, session)
}

/// Each revision the gateway advertises gets results shaped for it: the
/// handshake revisions never see `resultType`, 2026-07-28 always does (and
/// its lists carry cache hints); 2024-11-05, not advertised, is answered
/// with 2025-11-25.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_protocol_revision_gets_results_shaped_for_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let server = McpFixture::with_tools(2, 10).spawn().await;
    save_connector(&app.user("alice"), "Notes", &server.url).await;
    let call = |id: u64, text: Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "notes__tool_1", "arguments": {"text": text}}})
    };

    for version in ["2025-03-26", "2025-06-18", "2025-11-25", "2024-11-05"] {
        let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
        let (status, answer, session) = rpc(&app, &[], initialize).await;
        assert_eq!(status, 200, "{version}: {answer}");
        let negotiated = if version == "2024-11-05" { "2025-11-25" } else { version };
        assert_eq!(answer["result"]["protocolVersion"], negotiated, "{answer}");
        let session = session.expect("a session id");
        let headers = [
            ("mcp-session-id", session.as_str()),
            ("mcp-protocol-version", negotiated),
        ];
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(rpc(&app, &headers, initialized).await.0, 202);
        let (_, listed, _) = rpc(
            &app,
            &headers,
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await;
        assert_eq!(
            listed["result"]["tools"].as_array().map(Vec::len),
            Some(2),
            "{version}: {listed}"
        );
        for (id, text, error) in [(3, json!("ok"), false), (4, json!(1), true)] {
            let (_, called, _) = rpc(&app, &headers, call(id, text)).await;
            let result = &called["result"];
            assert_eq!(result["isError"], error, "{version}: {called}");
            assert!(
                result.get("resultType").is_none(),
                "{version} never sees resultType: {called}"
            );
        }
        assert!(listed["result"].get("resultType").is_none(), "{version}: {listed}");
    }

    // 2026-07-28: discover, then each request on its own with its version in `_meta`.
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    let modern = |method: &'static str, name: Option<&'static str>| {
        let mut headers = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
        if let Some(name) = name {
            headers.push(("mcp-name", name));
        }
        headers
    };
    let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}});
    let (status, discovered, session) = rpc(&app, &modern("server/discover", None), discover).await;
    assert_eq!(status, 200, "{discovered}");
    assert!(session.is_none(), "no session in 2026-07-28");
    assert_eq!(
        discovered["result"]["supportedVersions"],
        json!(["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"])
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": meta}});
    let (_, listed, _) = rpc(&app, &modern("tools/list", None), list).await;
    let result = &listed["result"];
    assert_eq!(result["resultType"], "complete", "{listed}");
    assert!(
        result["ttlMs"].is_number() && result["cacheScope"].is_string(),
        "{listed}"
    );
    for (id, text, error) in [(3, json!("ok"), false), (4, json!(1), true)] {
        let mut request = call(id, text);
        request["params"]["_meta"] = meta.clone();
        let (_, called, _) = rpc(&app, &modern("tools/call", Some("notes__tool_1")), request).await;
        assert_eq!(called["result"]["resultType"], "complete", "{called}");
        assert_eq!(called["result"]["isError"], error, "{called}");
    }
}

/// A body that is not one well-formed JSON-RPC message gets a JSON-RPC error
/// with a JSON body (rmcp alone answers 415 with plain text).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_json_rpc_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (body, code, id) in [
        ("{not json", -32700, Value::Null),
        (
            r#"[{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]"#,
            -32600,
            Value::Null,
        ),
        (r#"{"id": 1, "method": "tools/list"}"#, -32600, Value::Null),
        (
            r#"{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {}}"#,
            -32602,
            json!(9),
        ),
    ] {
        let response = post_mcp(&app, &app.token("alice"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let content_type = response.headers().get("content-type").cloned();
        assert_eq!(
            content_type.as_ref().map(|v| v.to_str().unwrap()),
            Some("application/json"),
            "{body}: {:?}",
            response.headers()
        );
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            (answer["error"]["code"].as_i64(), &answer["id"]),
            (Some(code), &id),
            "{body}: {answer}"
        );
        assert_eq!(answer["jsonrpc"], "2.0");
    }
}
