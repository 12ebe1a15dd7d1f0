//! `POST /api/agent/invocations` end to end, in both modes, against rmcp
//! fixture servers: results pass through, arguments are checked first, the
//! retry policy sends a call twice only when that is safe, idempotency keys
//! never run a call twice, and the invocation log feeds the system tools.
//! (The crash-safety test with worker processes is in `workers.rs`.)

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, Resp, TestApp, UserClient, logs};

both_backends!(
    a_call_returns_the_tools_result,
    tool_errors_and_bad_arguments,
    an_idempotency_key_never_runs_twice,
    a_slow_tool_times_out_without_a_retry,
    an_unreached_server_is_retried_after_the_delay,
    a_500_on_an_unsafe_tool_is_not_retried,
    a_refused_call_and_a_dropped_read_only_call_are_retried,
    system_tools_answer_from_the_invocation_log,
    arguments_stay_out_of_logs_queues_and_metrics,
    calls_are_rate_limited_per_user,
    gmail_calls_the_gmail_api_with_the_users_token,
);

/// Saves a connector without auth named `name` for `url`, its tools allowed
/// (the tests about approvals save their own); returns its id.
pub async fn save_connector(user: &UserClient<'_>, name: &str, url: &str) -> String {
    let created = user
        .post(
            "/api/connectors",
            json!({"name": name, "server_url": url, "auth_type": "none", "tool_policy": "allow"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Calls `tool` and waits for the finished run.
pub async fn invoke(user: &UserClient<'_>, tool: &str, arguments: Value) -> Resp {
    invoke_with(user, json!({"tool": tool, "arguments": arguments})).await
}

async fn invoke_with(user: &UserClient<'_>, body: Value) -> Resp {
    user.send_with(
        reqwest::Method::POST,
        "/api/agent/invocations",
        Some(body),
        &[("prefer", "wait=30")],
    )
    .await
}

/// `(name, status, message)` of a run's steps.
fn steps(run: &Value) -> Vec<(String, String)> {
    run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn attempts(names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .enumerate()
        .map(|(i, status)| (format!("attempt_{}", i + 1), (*status).to_owned()))
        .collect()
}

/// An app with a fixture server saved as connector "Notes" (tools `notes__tool_0`
/// read-only, `notes__tool_1` neither read-only nor idempotent).
async fn app_with_notes(backend: Backend) -> (TestApp, McpFixture, switchboard_tests::fixtures::Fixture) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;
    save_connector(&app.user("alice"), "Notes", &server.url).await;
    (app, fixture, server)
}

async fn a_call_returns_the_tools_result(backend: Backend) {
    let (app, fixture, _server) = app_with_notes(backend).await;
    let alice = app.user("alice");
    let run = invoke(&alice, "notes__tool_1", json!({"text": "hello"})).await;
    assert_eq!(run.status, 200, "{}", run.text);
    assert_eq!(run.body["status"], "succeeded", "{}", run.text);
    assert_eq!(run.body["kind"], "invoke_tool");
    let result = &run.body["result"];
    assert_eq!(result["isError"], false);
    assert_eq!(result["content"][0]["type"], "text");
    assert_eq!(result["content"][0]["text"], r#"{"text":"hello"}"#);
    assert_eq!(
        result["structuredContent"],
        json!({"tool": "tool_1", "arguments": {"text": "hello"}})
    );
    assert_eq!(steps(&run.body), attempts(&["ok"]));
    assert_eq!(fixture.calls(), [("tool_1".to_owned(), json!({"text": "hello"}))]);

    // 202 without Prefer, then the run can be polled.
    let queued = alice
        .post(
            "/api/agent/invocations",
            json!({"tool": "notes__tool_0", "arguments": {"text": "x"}}),
        )
        .await;
    assert_eq!(queued.status, 202, "{}", queued.text);
    let id = queued.body["id"].as_str().unwrap();
    let done = switchboard_tests::runs::wait_for_run(&alice, id, Duration::from_secs(15)).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // Another user has no such tool.
    let bob = invoke(&app.user("bob"), "notes__tool_1", json!({"text": "hi"})).await;
    assert_eq!((bob.status, bob.code()), (404, "TOOL_NOT_FOUND"));
}

async fn tool_errors_and_bad_arguments(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(1, 10);
    let mut tools = switchboard_tests::fixtures::mcp::numbered_tools(1);
    tools.push(rmcp::model::Tool::new(
        "explode",
        "Always fails",
        json!({"type": "object"}).as_object().unwrap().clone(),
    ));
    fixture.set_tools(tools);
    let server = fixture.clone().spawn().await;
    let alice = app.user("alice");
    save_connector(&alice, "Notes", &server.url).await;

    let failed = invoke(&alice, "notes__explode", json!({})).await;
    assert_eq!(
        failed.body["status"], "succeeded",
        "a tool's own error is a result: {}",
        failed.text
    );
    assert_eq!(failed.body["result"]["isError"], true);
    assert_eq!(
        failed.body["result"]["content"][0]["text"],
        "the tool failed on purpose"
    );

    let missing = invoke(&alice, "notes__tool_0", json!({})).await;
    assert_eq!(
        (missing.status, missing.code()),
        (422, "VALIDATION_FAILED"),
        "{}",
        missing.text
    );
    assert_eq!(missing.locs(), ["body.arguments"]);
    assert!(missing.text.contains("text"), "{}", missing.text);
    let wrong_type = invoke(&alice, "notes__tool_0", json!({"text": 5})).await;
    assert_eq!(wrong_type.status, 422);
    assert_eq!(wrong_type.locs(), ["body.arguments.text"]);
    assert_eq!(fixture.calls().len(), 1, "invalid arguments never reach the server");

    let unknown = invoke(&alice, "notes__nope", json!({})).await;
    assert_eq!((unknown.status, unknown.code()), (404, "TOOL_NOT_FOUND"));
    let gmail = invoke(&alice, "gmail__send_email", json!({})).await;
    assert_eq!((gmail.status, gmail.code()), (409, "NOT_CONNECTED"), "{}", gmail.text);
}

async fn an_idempotency_key_never_runs_twice(backend: Backend) {
    let (app, fixture, _server) = app_with_notes(backend).await;
    let alice = app.user("alice");
    let body = json!({"tool": "notes__tool_1", "arguments": {"text": "once"}, "idempotency_key": "k-1"});
    let first = invoke_with(&alice, body.clone()).await;
    assert_eq!(first.body["status"], "succeeded", "{}", first.text);
    let replay = invoke_with(&alice, body).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.body["id"], first.body["id"], "the original run");
    assert_eq!(fixture.calls().len(), 1, "executed once");

    let other = invoke_with(
        &alice,
        json!({"tool": "notes__tool_1", "arguments": {"text": "twice"}, "idempotency_key": "k-1"}),
    )
    .await;
    assert_eq!((other.status, other.code()), (409, "IDEMPOTENCY_KEY_REUSED"));
    // Keys are per user.
    save_connector(&app.user("bob"), "Notes", &_server.url).await;
    let bob = invoke_with(
        &app.user("bob"),
        json!({"tool": "notes__tool_1", "arguments": {"text": "once"}, "idempotency_key": "k-1"}),
    )
    .await;
    assert_eq!(bob.body["status"], "succeeded", "{}", bob.text);
    assert_ne!(bob.body["id"], first.body["id"]);
    let bad = invoke_with(
        &alice,
        json!({"tool": "notes__tool_1", "arguments": {"text": "x"}, "idempotency_key": "has space"}),
    )
    .await;
    assert_eq!(bad.locs(), ["body.idempotency_key"]);
}

async fn a_slow_tool_times_out_without_a_retry(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| s.agent.invoke_timeout = Duration::from_millis(500))
        .spawn()
        .await;
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;
    let alice = app.user("alice");
    save_connector(&alice, "Notes", &server.url).await;
    fixture.set_call_delay(Duration::from_secs(3));
    let run = invoke(&alice, "notes__tool_1", json!({"text": "slow"})).await;
    assert_eq!(run.body["status"], "failed", "{}", run.text);
    assert_eq!(run.body["error_code"], "TIMEOUT");
    assert_eq!(
        steps(&run.body),
        attempts(&["failed"]),
        "the call may have had its effect: not re-sent"
    );
    assert_eq!(fixture.calls().len(), 1);
}

async fn an_unreached_server_is_retried_after_the_delay(backend: Backend) {
    let (app, fixture, server) = app_with_notes(backend).await;
    let port: u16 = url::Url::parse(&server.url).unwrap().port().unwrap();
    drop(server);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let alice = app.user("alice");
    let queued = alice
        .post(
            "/api/agent/invocations",
            json!({"tool": "notes__tool_1", "arguments": {"text": "late"}}),
        )
        .await;
    assert_eq!(queued.status, 202, "{}", queued.text);
    let id = queued.body["id"].as_str().unwrap().to_owned();
    // Wait for the first attempt to fail, then bring the server back within the 1 s delay.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let run = alice.get(&format!("/api/runs/{id}")).await;
        if steps(&run.body).first().is_some_and(|s| s.1 == "failed") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed attempt: {}",
            run.text
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _back = fixture.clone().spawn_on(port).await;
    let done = switchboard_tests::runs::wait_for_run(&alice, &id, Duration::from_secs(15)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(steps(&done), attempts(&["failed", "ok"]));
    let message = done["steps"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("CONNECTION_FAILED") && message.contains("retrying in 1 s"),
        "{message}"
    );
    assert_eq!(fixture.calls().len(), 1, "the call reached the tool once");
}

async fn a_500_on_an_unsafe_tool_is_not_retried(backend: Backend) {
    let (app, fixture, _server) = app_with_notes(backend).await;
    let alice = app.user("alice");
    // Open the session first so the 500 answers the call itself.
    assert_eq!(
        invoke(&alice, "notes__tool_1", json!({"text": "a"})).await.body["status"],
        "succeeded"
    );
    fixture.fail_calls(500, 1);
    let run = invoke(&alice, "notes__tool_1", json!({"text": "b"})).await;
    assert_eq!(run.body["status"], "failed", "{}", run.text);
    assert_eq!(run.body["error_code"], "UPSTREAM_ERROR");
    assert_eq!(steps(&run.body), attempts(&["failed"]));
    let next = invoke(&alice, "notes__tool_1", json!({"text": "c"})).await;
    assert_eq!(
        next.body["status"], "succeeded",
        "the server is fine again: {}",
        next.text
    );
    let texts: Vec<Value> = fixture.calls().into_iter().map(|c| c.1["text"].clone()).collect();
    assert_eq!(texts, ["a", "c"], "b was never re-sent");
}

async fn a_refused_call_and_a_dropped_read_only_call_are_retried(backend: Backend) {
    let (app, fixture, _server) = app_with_notes(backend).await;
    let alice = app.user("alice");
    fixture.fail_calls(429, 1);
    let refused = invoke(&alice, "notes__tool_1", json!({"text": "limited"})).await;
    assert_eq!(
        refused.body["status"], "succeeded",
        "429 means unprocessed: {}",
        refused.text
    );
    assert_eq!(steps(&refused.body), attempts(&["failed", "ok"]));

    fixture.drop_calls(1);
    let read_only = invoke(&alice, "notes__tool_0", json!({"text": "read"})).await;
    assert_eq!(read_only.body["status"], "succeeded", "{}", read_only.text);
    assert_eq!(steps(&read_only.body), attempts(&["failed", "ok"]));
    fixture.drop_calls(1);
    let unsafe_call = invoke(&alice, "notes__tool_1", json!({"text": "write"})).await;
    assert_eq!(unsafe_call.body["status"], "failed", "{}", unsafe_call.text);
    assert_eq!(steps(&unsafe_call.body), attempts(&["failed"]));
    let texts: Vec<Value> = fixture.calls().into_iter().map(|c| c.1["text"].clone()).collect();
    assert_eq!(texts, ["limited", "read", "read", "write"]);
}

async fn system_tools_answer_from_the_invocation_log(backend: Backend) {
    let (app, _fixture, _server) = app_with_notes(backend).await;
    let alice = app.user("alice");
    for tool in ["analytics", "export"] {
        assert_eq!(
            alice.post_empty(&format!("/api/tools/{tool}/connect")).await.status,
            200
        );
    }
    for text in ["a", "b", "c"] {
        invoke(&alice, "notes__tool_0", json!({"text": text})).await;
    }
    invoke(&alice, "notes__tool_1", json!({})).await; // 422: not a call, not logged
    let usage = invoke(&alice, "analytics__tool_usage", json!({"since_hours": 1})).await;
    assert_eq!(usage.body["status"], "succeeded", "{}", usage.text);
    let report = &usage.body["result"]["structuredContent"];
    assert_eq!(report["total_calls"], 3, "{report}");
    let group = &report["groups"][0];
    assert_eq!(
        (group["key"].as_str(), group["calls"].as_u64()),
        (Some("notes__tool_0"), Some(3))
    );
    assert_eq!(group["success_rate"], 1.0);
    assert!(group["p50_ms"].as_f64().unwrap() > 0.0);

    let export = invoke(&alice, "export__export_data", json!({"format": "csv"})).await;
    assert_eq!(export.body["status"], "succeeded", "{}", export.text);
    let csv = export.body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(csv.contains("Notes") && csv.contains("notes__tool_0"), "{csv}");
    let json_export = invoke(&alice, "export__export_data", json!({"format": "json"})).await;
    let data = &json_export.body["result"]["structuredContent"];
    assert_eq!(data["connectors"][0]["name"], "Notes", "{data}");
    assert!(data["invocations"].as_array().unwrap().len() >= 4, "{data}");

    // Bob's analytics see none of Alice's calls.
    let bob = app.user("bob");
    bob.post_empty("/api/tools/analytics/connect").await;
    let theirs = invoke(&bob, "analytics__tool_usage", json!({})).await;
    assert_eq!(
        theirs.body["result"]["structuredContent"]["total_calls"], 0,
        "{}",
        theirs.text
    );
}

async fn arguments_stay_out_of_logs_queues_and_metrics(backend: Backend) {
    const CANARY: &str = "canary-argument-5e8d1f0a77";
    let (app, fixture, _server) = app_with_notes(backend).await;
    let alice = app.user("alice");
    fixture.fail_calls(500, 1); // no echo: the canary must not come back in a result
    let run = invoke(&alice, "notes__tool_1", json!({"text": CANARY})).await;
    assert_eq!(run.body["status"], "failed", "{}", run.text);
    assert!(!run.text.contains(CANARY), "{}", run.text);
    let logs = logs::captured();
    assert!(logs.contains("tool invoked"), "one event per invocation: {logs}");
    assert!(logs.contains(r#""tool":"notes__tool_1""#), "{logs}");
    assert!(!logs.contains(CANARY), "the log holds an argument");
    let metrics = app.metrics().await;
    assert!(metrics.contains("switchboard_invocations_total"), "{metrics}");
    assert!(!metrics.contains(CANARY));
    let owner = switchboard_core::domain::UserId::parse("alice").unwrap();
    let stored = app
        .state
        .store
        .run(&owner, run.body["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    assert!(stored.sealed_input.is_none(), "a finished call keeps no arguments");
    assert!(!format!("{stored:?}").contains(CANARY));
    let queues = app.stored_text().await;
    assert!(!queues.is_empty());
    assert!(!queues.contains(CANARY), "a queue or database file holds an argument");
    assert_eq!(fixture.calls().len(), 0, "refused before the tool ran");
}

async fn calls_are_rate_limited_per_user(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| s.agent.invoke_rate_limit = 2)
        .spawn()
        .await;
    let server = McpFixture::with_tools(1, 10).spawn().await;
    let alice = app.user("alice");
    save_connector(&alice, "Notes", &server.url).await;
    for _ in 0..2 {
        assert_eq!(invoke(&alice, "notes__tool_0", json!({"text": "x"})).await.status, 200);
    }
    let limited = invoke(&alice, "notes__tool_0", json!({"text": "x"})).await;
    assert_eq!((limited.status, limited.code()), (429, "RATE_LIMITED"));
    assert!(limited.header("retry-after").is_some());
    save_connector(&app.user("bob"), "Notes", &server.url).await;
    let bob = invoke(&app.user("bob"), "notes__tool_0", json!({"text": "x"})).await;
    assert_eq!(bob.status, 200, "limits are per user");
}

/// Gmail: connected through Google sign-in (a wire-level fake of Google's
/// OAuth endpoints), then called with the user's token: send, search, read;
/// disconnecting revokes the token at Google.
async fn gmail_calls_the_gmail_api_with_the_users_token(backend: Backend) {
    use switchboard_tests::fixtures::gmail::{FakeGmail, FakeGoogle};
    let gmail = FakeGmail::new();
    let api = gmail.spawn().await;
    let google = FakeGoogle::new(&gmail, "google-client", "google-secret");
    google.set_access_ttl(2);
    let accounts = google.spawn().await;
    let base = url::Url::parse(&api.url).unwrap();
    let google_base = accounts.url.clone();
    let app = TestApp::builder(backend)
        .configure(move |s| {
            s.agent.gmail_api_base = base;
            s.google.client_id = Some("google-client".into());
            s.google.client_secret = Some(switchboard_core::Secret::new(String::from("google-secret")));
            s.google.auth_url = url::Url::parse(&format!("{google_base}/o/oauth2/v2/auth")).unwrap();
            s.google.token_url = url::Url::parse(&format!("{google_base}/token")).unwrap();
            s.google.revoke_url = url::Url::parse(&format!("{google_base}/revoke")).unwrap();
        })
        .spawn()
        .await;
    let alice = app.user("alice");
    let not_yet = invoke(&alice, "gmail__send_email", json!({})).await;
    assert_eq!((not_yet.status, not_yet.code()), (409, "NOT_CONNECTED"));

    let callback = crate::oauth::sign_in_via(&alice, "/api/tools/gmail/connect").await;
    let (status, page) = crate::oauth::finish(&app, &callback, Some(&callback.cookie)).await;
    assert_eq!(status, 200, "{page}");
    let asked = &google.authorize_queries()[0];
    assert_eq!(asked["access_type"], "offline", "a refresh token is asked for");
    assert_eq!(asked["code_challenge_method"], "S256");
    assert!(asked["scope"].contains("gmail.send") && asked["scope"].contains("gmail.readonly"));
    assert!(
        !asked.contains_key("resource"),
        "Google's endpoints take no RFC 8707 resource"
    );
    let tools = alice.get("/api/tools").await.body;
    let gmail_tool = tools.as_array().unwrap().iter().find(|t| t["id"] == "gmail").unwrap();
    assert_eq!(gmail_tool["status"], "connected");
    let policies: Vec<(&str, &str)> = gmail_tool["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["policy"].as_str().unwrap()))
        .collect();
    assert_eq!(
        policies,
        [
            ("send_email", "ask"),
            ("search_messages", "allow"),
            ("read_message", "allow")
        ],
        "a new Gmail connection asks before sending"
    );
    let body = json!({"to": ["x@example.com"], "subject": "s", "body": "b"});
    let asked = alice
        .post(
            "/api/agent/invocations",
            json!({"tool": "gmail__send_email", "arguments": body}),
        )
        .await;
    assert_eq!(asked.body["status"], "awaiting_approval", "{}", asked.text);
    assert!(gmail.sent().is_empty());
    let allowed = alice
        .put("/api/tools/gmail/functions/send_email", json!({"policy": "allow"}))
        .await;
    assert_eq!(allowed.body["functions"][0]["policy"], "allow", "{}", allowed.text);

    let sent = invoke(
        &alice,
        "gmail__send_email",
        json!({"to": ["bob@example.com"], "subject": "Roadmap", "body": "See you at ten."}),
    )
    .await;
    assert_eq!(sent.body["status"], "succeeded", "{}", sent.text);
    assert_eq!(sent.body["result"]["structuredContent"]["id"], "m0");
    let message = &gmail.sent()[0];
    assert!(
        message.contains("To: bob@example.com\r\n") && message.contains("Subject: Roadmap\r\n"),
        "{message}"
    );
    assert_eq!(switchboard_tests::fixtures::gmail::body_of(message), "See you at ten.");

    // The 2-second access token goes stale: refreshed with the refresh token, quietly.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = google.refreshes();
    let found = invoke(&alice, "gmail__search_messages", json!({"query": "subject:Roadmap"})).await;
    assert_eq!(google.refreshes(), before + 1, "{}", found.text);
    let messages = &found.body["result"]["structuredContent"]["messages"];
    assert_eq!(messages[0]["subject"], "Roadmap", "{}", found.text);
    let read = invoke(&alice, "gmail__read_message", json!({"message_id": "m0"})).await;
    assert_eq!(
        read.body["result"]["structuredContent"]["body"], "See you at ten.",
        "{}",
        read.text
    );
    let bobs = app.user("bob").get("/api/agent/tools").await;
    assert!(!bobs.text.contains("gmail__"), "Bob has not connected Gmail");

    assert_eq!(alice.post_empty("/api/tools/gmail/disconnect").await.status, 200);
    assert_eq!(google.revoked().len(), 1, "revoked at Google");
    let after = invoke(&alice, "gmail__search_messages", json!({"query": "x"})).await;
    assert_eq!(after.code(), "NOT_CONNECTED");

    // Connected again, then the user removes the app's access at Google: the
    // refresh is refused and Gmail shows that it needs a new sign-in.
    let callback = crate::oauth::sign_in_via(&alice, "/api/tools/gmail/connect").await;
    assert_eq!(
        crate::oauth::finish(&app, &callback, Some(&callback.cookie)).await.0,
        200
    );
    google.revoke_all();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refused = invoke(&alice, "gmail__search_messages", json!({"query": "x"})).await;
    assert_eq!(refused.body["error_code"], "NOT_CONNECTED", "{}", refused.text);
    let tools = alice.get("/api/tools").await.body;
    let gmail_tool = tools.as_array().unwrap().iter().find(|t| t["id"] == "gmail").unwrap();
    assert_eq!(gmail_tool["status"], "needs_authorization");
}
