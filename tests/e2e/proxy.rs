//! The per-connector proxy `/mcp/connectors/{id}`: one connector as an MCP
//! server under its own names, driven by the official Python SDK (its
//! default mode, 2026-07-28, and its legacy mode) and by rmcp's client,
//! against the conformance suite's server ([`Everything`]) and an
//! OAuth-protected server. The conformance suite itself runs through the
//! proxy in `ops/ci/mcp-peers.sh`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ClientResult, ErrorData, ProtocolVersion, RequestId,
    ServerNotification, ServerRequest,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt as _};
use serde_json::{Value, json};
use switchboard_core::domain::{Credentials, CustomHeaders, ServerUrl, UserId};
use switchboard_core::mcp::call::stateless_meta;
use switchboard_core::mcp::{ClientSide, Downstream, Opening};
use switchboard_tests::fixtures::everything::Everything;
use switchboard_tests::fixtures::oauth::OAuthMcp;
use switchboard_tests::{Backend, TestApp, scripts};
use tokio_util::sync::CancellationToken;

use crate::invocations::save_connector;
use crate::oauth::authorized_connector;

both_backends!(the_python_sdk_uses_one_connector_as_its_server_made_it);

/// Runs `ops/gateway-client/proxy_client.py` against `url`: its report.
async fn python(url: &str, token: Option<&str>, env: &[(&str, &str)]) -> (bool, Value) {
    let mut command = scripts::python_sdk("proxy_client.py");
    command.env("PROXY_URL", url);
    if let Some(token) = token {
        command.env("PROXY_TOKEN", token);
    }
    command.envs(env.iter().copied());
    scripts::report(command).await
}

async fn the_python_sdk_uses_one_connector_as_its_server_made_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = Everything.spawn().await;
    let alice = app.user("alice");
    let id = save_connector(&alice, "Everything", &server.url).await;
    let url = app.url(&format!("/mcp/connectors/{id}"));
    let token = app.token("alice");

    for (mode, protocol) in [("", "2026-07-28"), ("legacy", "2025-11-25")] {
        let (ok, report) = python(&url, Some(&token), &[("PROXY_MODE", mode)]).await;
        assert!(ok, "{report}");
        assert_eq!(report["protocol"], protocol, "{report}");
        let tools = report["tools"].as_array().unwrap();
        assert!(
            tools.contains(&json!("test_simple_text")) && tools.len() == 13,
            "the server's own names, unprefixed: {report}"
        );
        assert_eq!(report["text"], json!(["This is a simple text response for testing."]));
        assert_eq!(report["resource"], "This is the content of the static text resource.");
        assert_eq!(report["prompt"], "Prompt with arguments: arg1='one', arg2='two'");
        assert_eq!(report["progress"], json!([0.0, 50.0, 100.0]), "{mode}: {report}");
        assert_eq!(
            report["logs"],
            json!([
                "Tool execution started",
                "Tool processing data",
                "Tool execution completed"
            ]),
            "{mode}: {report}"
        );
        let elicited = report["elicitation"][0].as_str().unwrap_or_default();
        assert!(
            elicited.contains("action=accept") && elicited.contains("proxied"),
            "the user's answer reached the server: {report}"
        );
        if mode == "legacy" {
            assert_eq!(report["subscribed"], true, "the resource update was relayed: {report}");
        }
    }

    // A client that cannot answer the server's question hears why.
    for mode in ["", "legacy"] {
        let (_, report) = python(&url, Some(&token), &[("PROXY_MODE", mode), ("PROXY_ELICIT", "none")]).await;
        let error = report["elicitation"]["error"].as_str().unwrap_or_default();
        assert!(error.contains("did not declare"), "{mode}: {report}");
        assert!(error.contains("elicitation"), "{mode}: {report}");
    }

    // Bob's token does not open Alice's connector.
    let (ok, report) = python(&url, Some(&app.token("bob")), &[]).await;
    assert!(!ok, "{report}");
    let refused = app
        .http
        .post(&url)
        .bearer_auth(app.token("bob"))
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

/// rmcp's client in a session (2025-11-25) through the proxy as `token`.
async fn session(url: &str, token: &str) -> RunningService<RoleClient, ClientConfig> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    config.auth_header = Some(token.to_owned());
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let client = ClientConfig::default().with_protocol_version(ProtocolVersion::V_2025_11_25);
    client
        .serve(StreamableHttpClientTransport::with_client(http, config))
        .await
        .expect("a session through the proxy")
}

#[tokio::test]
async fn the_proxy_answers_only_its_user_and_only_on_their_connector() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let server = Everything.spawn().await;
    let alice = app.user("alice");
    let first = save_connector(&alice, "First", &server.url).await;
    let second = save_connector(&alice, "Second", &server.url).await;
    let post = |id: &str, token: Option<String>| {
        let request = app.http.post(app.url(&format!("/mcp/connectors/{id}")));
        let request = request.header("accept", "application/json, text/event-stream");
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    };
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(post(&first, None).json(&initialize()).send().await.unwrap()),
        401
    );
    assert_eq!(
        status(
            post(&first, Some(app.token("bob")))
                .json(&initialize())
                .send()
                .await
                .unwrap()
        ),
        404
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        status(
            post(&unknown, Some(app.token("alice")))
                .json(&initialize())
                .send()
                .await
                .unwrap()
        ),
        404
    );
    assert_eq!(
        status(
            post("not-a-uuid", Some(app.token("alice")))
                .json(&initialize())
                .send()
                .await
                .unwrap()
        ),
        404
    );

    // A session belongs to the connector it was opened on, and to its user.
    let opened = post(&first, Some(app.token("alice")))
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let session_id = opened.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    for (id, user) in [(&second, "alice"), (&first, "bob")] {
        let reused = post(id, Some(app.token(user)))
            .header("mcp-session-id", &session_id)
            .header("mcp-protocol-version", "2025-11-25")
            .json(&list)
            .send()
            .await
            .unwrap();
        assert_eq!(
            reused.status(),
            404,
            "a session opened on {first} by alice, used on {id} by {user}"
        );
    }

    // An edit ends what the open sessions may do: they were opened with the old settings.
    let client = session(&app.url(&format!("/mcp/connectors/{first}")), &app.token("alice")).await;
    let before = client
        .peer()
        .call_tool(CallToolRequestParams::new("test_simple_text"))
        .await;
    assert!(before.is_ok(), "{before:?}");
    let edited = alice
        .put(
            &format!("/api/connectors/{first}"),
            json!({"name": "Renamed", "server_url": server.url, "auth_type": "none", "tool_policy": "allow"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let after = client
        .peer()
        .call_tool(CallToolRequestParams::new("test_simple_text"))
        .await;
    let error = after.expect_err("refused after the edit").to_string();
    assert!(error.contains("open a new session"), "{error}");

    // A switched-off connector is not served, but its sessions can still be closed.
    let off = alice
        .post(&format!("/api/connectors/{first}/toggle"), json!({"enabled": false}))
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let refused = post(&first, Some(app.token("alice")))
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    let closed = app
        .http
        .delete(app.url(&format!("/mcp/connectors/{first}")))
        .bearer_auth(app.token("alice"))
        .header("mcp-session-id", &session_id)
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
}

#[tokio::test]
async fn switched_off_tools_are_hidden_and_refused_and_calls_are_logged() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let server = Everything.spawn().await;
    let alice = app.user("alice");
    let id = save_connector(&alice, "Everything", &server.url).await;
    let off = alice
        .put(
            &format!("/api/connectors/{id}/tools/test_image_content"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);

    let client = session(&app.url(&format!("/mcp/connectors/{id}")), &app.token("alice")).await;
    let tools = client.peer().list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    assert!(names.contains(&"test_simple_text".to_owned()), "{names:?}");
    assert!(!names.contains(&"test_image_content".to_owned()), "hidden: {names:?}");
    let refused = client
        .peer()
        .call_tool(CallToolRequestParams::new("test_image_content"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("switched on"), "{refused}");
    let called = client
        .peer()
        .call_tool(CallToolRequestParams::new("test_error_handling"))
        .await
        .unwrap();
    assert_eq!(called.is_error, Some(true));
    client.cancel().await.unwrap();

    // The log is written just after the answer (and nothing more comes).
    let since = chrono::Utc::now() - chrono::Duration::minutes(5);
    let (store, owner) = (&app.state.services.store, UserId::parse("alice").unwrap());
    for _ in 0..50 {
        if !store.invocations(&owner, since, 10).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let logged = store.invocations(&owner, since, 10).await.unwrap();
    assert_eq!(logged.len(), 1, "only the call that was sent: {logged:?}");
    assert_eq!(logged[0].tool_name, "test_error_handling");
    assert_eq!(logged[0].outcome, "tool_error");
    assert_eq!(logged[0].connector_id.map(|c| c.to_string()), Some(id));
}

#[tokio::test]
async fn an_oauth_token_is_refreshed_in_the_middle_of_a_session() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let server = OAuthMcp::builder().access_ttl(Duration::from_secs(2)).spawn().await;
    let alice = app.user("alice");
    let id = authorized_connector(&app, &alice, &server).await;
    let refreshed_before = server.refreshes();

    let client = session(&app.url(&format!("/mcp/connectors/{id}")), &app.token("alice")).await;
    server.mcp.take_methods();
    let call = || {
        let mut arguments = serde_json::Map::new();
        arguments.insert("text".into(), json!("hi"));
        CallToolRequestParams::new("tool_1").with_arguments(arguments)
    };
    let first = client.peer().call_tool(call()).await.unwrap();
    assert_ne!(first.is_error, Some(true), "{first:?}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = client.peer().call_tool(call()).await.unwrap();
    assert_ne!(
        second.is_error,
        Some(true),
        "the call after the token expired: {second:?}"
    );
    assert!(server.refreshes() > refreshed_before, "the token was refreshed");
    let methods = server.mcp.take_methods();
    assert_eq!(
        methods.iter().filter(|m| *m == "initialize").count(),
        0,
        "one upstream session throughout: {methods:?}"
    );
    assert_eq!(methods.iter().filter(|m| *m == "tools/call").count(), 2, "{methods:?}");
    client.cancel().await.unwrap();
}

/// Records what a relayed session's server sends its client.
#[derive(Default)]
struct Recording(Mutex<Vec<ServerNotification>>);

#[async_trait]
impl Downstream for Recording {
    fn capabilities(&self) -> ClientCapabilities {
        ClientCapabilities::default()
    }
    async fn notify(&self, notification: ServerNotification) {
        self.0.lock().unwrap().push(notification);
    }
    async fn ask(
        &self,
        _: ServerRequest,
        _: Option<RequestId>,
        _: CancellationToken,
    ) -> Result<ClientResult, ErrorData> {
        Err(ErrorData::internal_error("not asked in this test", None))
    }
}

/// rmcp delivers a 2026-07-28 session's notifications only on sessions it
/// discovered: a relayed session to a remembered server discovers again, and
/// its requests carry the revision's `_meta`.
#[tokio::test]
async fn a_relayed_session_hears_its_server_in_every_era() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let fixture = Everything.spawn().await;
    let url = ServerUrl::parse(&fixture.url).unwrap();
    let recording = Arc::new(Recording::default());
    // Detected, then remembered (stateless both times), then a session asked for.
    for (session, era) in [(false, "2026-07-28"), (false, "2026-07-28"), (true, "2025-11-25")] {
        recording.0.lock().unwrap().clear();
        let opening = Opening {
            side: ClientSide::relayed(recording.clone()),
            token: None,
            session,
        };
        let (up, info) = app
            .state
            .services
            .mcp
            .open(
                &url,
                &Credentials::None,
                &CustomHeaders::default(),
                Duration::from_secs(5),
                &opening,
            )
            .await
            .unwrap();
        assert_eq!(info.unwrap().protocol_version, era);
        let mut params = CallToolRequestParams::new("test_tool_with_progress");
        params.meta = stateless_meta(&up);
        up.peer().call_tool(params).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let heard = recording.0.lock().unwrap().len();
        assert_eq!(heard, 3, "three progress notifications on {era} (session: {session})");
        up.cancel().await.unwrap();
    }
}
