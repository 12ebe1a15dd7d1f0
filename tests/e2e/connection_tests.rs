//! Connection tests through the API and the queue, in both modes: run shape,
//! polling and `Prefer: wait`, error codes, test before save, stored
//! credentials, refresh, rate limits and isolation of runs.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::fixtures::{broken, legacy};
use switchboard_tests::runs::{run_and_wait, wait_for_run};
use switchboard_tests::{Backend, TestApp};

both_backends!(
    a_test_is_a_run_that_can_be_polled_or_awaited,
    error_codes_reach_the_client,
    a_malformed_url_is_a_failed_run_but_create_answers_422,
    saving_requires_a_passed_test_of_the_same_settings,
    stored_credentials_are_tested_and_edits_reverified,
    refresh_updates_the_tool_snapshot,
    tests_are_rate_limited_per_user,
    another_users_runs_are_invisible,
    finished_runs_are_pruned_after_the_retention,
    a_failure_says_what_the_server_answered_and_what_to_do,
);

fn form(url: &str) -> Value {
    json!({"server_url": url, "auth_type": "bearer", "auth_config": {"token": "tok-1"}, "headers": {"X-Tenant": "acme"}})
}

async fn a_test_is_a_run_that_can_be_polled_or_awaited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = McpFixture::with_tools(12, 5).spawn().await;
    let alice = app.user("alice");

    let queued = alice.post("/api/connectors/test", form(&mcp.url)).await;
    assert_eq!(queued.status, 202, "{}", queued.text);
    let id = queued.body["id"].as_str().unwrap().to_owned();
    assert_eq!(queued.body["kind"], "connection_test");
    assert_eq!(queued.body["status_url"], format!("/api/runs/{id}"));
    assert_eq!(queued.body["events_url"], format!("/api/runs/{id}/events"));
    assert_eq!(queued.header("location"), Some(format!("/api/runs/{id}").as_str()));
    let run = wait_for_run(&alice, &id, Duration::from_secs(10)).await;
    assert_eq!(run["status"], "succeeded");
    let result = &run["result"];
    assert_eq!(result["success"], true);
    assert_eq!(result["error_code"], Value::Null);
    assert_eq!(result["tools"].as_array().unwrap().len(), 12, "all pages");
    let tool = &result["tools"][0];
    assert_eq!(tool["name"], "tool_0");
    assert_eq!(tool["description"], "Tool number 0");
    assert_eq!(tool["input_schema"]["required"], json!(["text"]));
    assert_eq!(tool["annotations"]["readOnlyHint"], true);
    assert_eq!(
        result["server"],
        json!({"name": "fixture-server", "version": "1.2.3", "protocol_version": "2025-11-25", "transport": "streamable_http", "era": "session"})
    );
    let steps: Vec<(&str, &str)> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("parse_url", "ok"),
            ("egress_check", "ok"),
            ("connect", "ok"),
            ("handshake", "ok"),
            ("list_tools", "ok")
        ]
    );
    assert!(
        run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["duration_ms"].as_f64().is_some()),
        "per-step timings"
    );
    assert_eq!(run["attempts"], 1);

    let awaited = run_and_wait(&alice, "/api/connectors/test", Some(form(&mcp.url))).await;
    assert_eq!(awaited.status, 200, "{}", awaited.text);
    assert_eq!(awaited.header("preference-applied"), Some("wait=10"));
    assert_eq!(awaited.body["status"], "succeeded");
    assert_eq!(awaited.body["result"]["tools"], result["tools"]);
}

async fn error_codes_reach_the_client(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| s.jobs.test_budget = Duration::from_millis(700))
        .spawn()
        .await;
    let alice = app.user("alice");
    let legacy = legacy::legacy_server(vec![json!({"name": "old", "inputSchema": {"type": "object"}})]).await;
    let servers = [
        (broken::plain_unauthorized().await, "AUTH_FAILED", false),
        (broken::html_page().await, "INVALID_MCP_SERVER", false),
        (broken::not_json_rpc().await, "INVALID_MCP_SERVER", false),
        (
            broken::server_error(axum::http::StatusCode::BAD_GATEWAY).await,
            "CONNECTION_FAILED",
            false,
        ),
        (broken::never_answers().await, "TIMEOUT", false),
        (McpFixture::with_tools(0, 5).spawn().await, "NO_TOOLS", true),
    ];
    let mut cases: Vec<(String, &str, bool)> = servers
        .iter()
        .map(|(f, code, ok)| (f.url.clone(), *code, *ok))
        .collect();
    cases.push(("http://10.1.2.3/mcp".to_owned(), "BLOCKED_DESTINATION", false));
    cases.push(("http://metadata.test/latest".to_owned(), "BLOCKED_DESTINATION", false));
    for (url, code, success) in cases {
        let run = run_and_wait(&alice, "/api/connectors/test", Some(json!({"server_url": url}))).await;
        assert_eq!(run.status, 200, "{url}: {}", run.text);
        assert_eq!(run.body["result"]["error_code"], code, "{url}: {}", run.text);
        assert_eq!(run.body["result"]["success"], success, "{url}");
        assert_eq!(
            run.body["status"],
            if success { "succeeded" } else { "failed" },
            "{url}"
        );
        let message = run.body["result"]["error_message"].as_str().unwrap();
        assert!(message.len() > 20, "the message says what to do: {message}");
    }
    let old = run_and_wait(&alice, "/api/connectors/test", Some(json!({"server_url": legacy.url}))).await;
    assert_eq!(old.body["result"]["server"]["transport"], "sse", "{}", old.text);
}

async fn a_malformed_url_is_a_failed_run_but_create_answers_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let run = run_and_wait(&alice, "/api/connectors/test", Some(json!({"server_url": "not a url"}))).await;
    assert_eq!(run.status, 200, "{}", run.text);
    assert_eq!(run.body["status"], "failed");
    assert_eq!(run.body["error_code"], "INVALID_URL");
    assert_eq!(run.body["result"]["error_code"], "INVALID_URL");
    assert_eq!(run.body["steps"][0]["status"], "failed");
    let created = alice
        .post("/api/connectors", json!({"name": "x", "server_url": "not a url"}))
        .await;
    assert_eq!(
        (created.status, created.locs()),
        (422, vec!["body.server_url".to_owned()])
    );
    // Other fields of a test body are validated as usual.
    let bad = alice
        .post(
            "/api/connectors/test",
            json!({"server_url": "http://a.test", "auth_type": "bearer"}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.locs()),
        (422, vec!["body.auth_config.token".to_owned()])
    );
    let missing = alice.post("/api/connectors/test", json!({})).await;
    assert_eq!(
        (missing.status, missing.locs()),
        (422, vec!["body.server_url".to_owned()])
    );
}

async fn saving_requires_a_passed_test_of_the_same_settings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = McpFixture::with_tools(2, 5).require_bearer("tok-1").spawn().await;
    let alice = app.user("alice");

    let passed = run_and_wait(&alice, "/api/connectors/test", Some(form(&mcp.url))).await;
    assert_eq!(passed.body["status"], "succeeded", "{}", passed.text);
    let test_run_id = passed.body["id"].clone();

    // The test vouches for exactly its settings.
    let mut other_token = form(&mcp.url);
    other_token["name"] = json!("Other token");
    other_token["auth_config"] = json!({"token": "tok-2"});
    other_token["test_run_id"] = test_run_id.clone();
    let refused = alice.post("/api/connectors", other_token).await;
    assert_eq!(
        (refused.status, refused.code()),
        (400, "CONNECTION_NOT_VERIFIED"),
        "{}",
        refused.text
    );
    let bob = app.user("bob");
    let mut bobs = form(&mcp.url);
    bobs["name"] = json!("Bob's");
    bobs["test_run_id"] = test_run_id.clone();
    assert_eq!(
        bob.post("/api/connectors", bobs).await.code(),
        "CONNECTION_NOT_VERIFIED",
        "another user's test"
    );

    let mut body = form(&mcp.url);
    body["name"] = json!("Verified");
    body["test_run_id"] = test_run_id;
    let posts = mcp.hits.posts();
    let created = alice.post("/api/connectors", body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        mcp.hits.posts(),
        posts,
        "a passed test_run_id saves without testing again"
    );
    assert_eq!(created.body["tool_count"], 2);
    assert_eq!(created.body["tools_discovered_at"], passed.body["finished_at"]);

    // Without a test_run_id the server tests; a failing server is not saved.
    let failed = alice
        .post("/api/connectors", json!({"name": "Broken", "server_url": mcp.url}))
        .await;
    assert_eq!(
        (failed.status, failed.code()),
        (400, "CONNECTION_NOT_VERIFIED"),
        "{}",
        failed.text
    );
    assert_eq!(
        failed.body["error"]["details"]["run"]["result"]["error_code"],
        "AUTH_FAILED"
    );
    let failed_run = failed.body["error"]["details"]["run"]["id"].clone();
    let mut retry = json!({"name": "Broken", "server_url": mcp.url, "test_run_id": failed_run});
    assert_eq!(
        alice.post("/api/connectors", retry.take()).await.code(),
        "CONNECTION_NOT_VERIFIED",
        "a failed test vouches for nothing"
    );
    assert_eq!(
        alice.get("/api/connectors").await.body["connectors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // NO_TOOLS is a warning: saving is allowed and the warning kept.
    let empty = McpFixture::with_tools(0, 5).spawn().await;
    let saved = alice
        .post("/api/connectors", json!({"name": "Empty", "server_url": empty.url}))
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_eq!(saved.body["last_error_code"], "NO_TOOLS");
}

async fn stored_credentials_are_tested_and_edits_reverified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = McpFixture::with_tools(2, 5).require_bearer("tok-1").spawn().await;
    let alice = app.user("alice");
    let mut body = form(&mcp.url);
    body["name"] = json!("Guarded");
    let id = alice.post("/api/connectors", body.clone()).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let stored = run_and_wait(&alice, &format!("/api/connectors/{id}/test"), None).await;
    assert_eq!(
        stored.body["status"], "succeeded",
        "the stored token is used: {}",
        stored.text
    );
    assert_eq!(stored.body["connector_id"], id.as_str());

    let mut edited = body.clone();
    edited["auth_config"] = json!({"token": "wrong"});
    let tested = run_and_wait(&alice, &format!("/api/connectors/{id}/test"), Some(edited.clone())).await;
    assert_eq!(tested.body["result"]["error_code"], "AUTH_FAILED", "{}", tested.text);

    // A PUT that changes the auth re-verifies, and a failure leaves the connector as it was.
    let put = alice.put(&format!("/api/connectors/{id}"), edited).await;
    assert_eq!(
        (put.status, put.code()),
        (400, "CONNECTION_NOT_VERIFIED"),
        "{}",
        put.text
    );
    let still = run_and_wait(&alice, &format!("/api/connectors/{id}/test"), None).await;
    assert_eq!(still.body["status"], "succeeded");

    // Omitted secrets are kept in an edited test, as in an update.
    let mut renamed = body.clone();
    renamed["auth_config"] = json!({});
    renamed["headers"] = json!({"X-Tenant": null});
    let kept = run_and_wait(&alice, &format!("/api/connectors/{id}/test"), Some(renamed.clone())).await;
    assert_eq!(kept.body["status"], "succeeded", "{}", kept.text);
    // ... and its run vouches for the update (same effective settings).
    let moved_url = format!("{}?edition=2", mcp.url);
    renamed["server_url"] = json!(moved_url);
    let retest = run_and_wait(&alice, &format!("/api/connectors/{id}/test"), Some(renamed.clone())).await;
    renamed["test_run_id"] = retest.body["id"].clone();
    let posts = mcp.hits.posts();
    let updated = alice.put(&format!("/api/connectors/{id}"), renamed).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["server_url"], moved_url);
    assert_eq!(mcp.hits.posts(), posts);
}

async fn refresh_updates_the_tool_snapshot(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 5);
    let mcp = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let created = alice
        .post("/api/connectors", json!({"name": "Growing", "server_url": mcp.url}))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["tool_count"], 2);

    fixture.set_tools(switchboard_tests::fixtures::mcp::numbered_tools(4));
    let refreshed = run_and_wait(&alice, &format!("/api/connectors/{id}/refresh"), None).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(refreshed.body["kind"], "discover_tools");
    assert_eq!(refreshed.body["status"], "succeeded");
    let connector = alice.get(&format!("/api/connectors/{id}")).await;
    assert_eq!(connector.body["tool_count"], 2, "new tools wait for review");
    assert_eq!(connector.body["changes_pending"], 2);
    let approved = crate::pins::decide(&alice, &id, serde_json::json!({"decision": "approve"})).await;
    assert_eq!(approved.body["tool_count"], 4, "{}", approved.text);
    assert_ne!(
        connector.body["tools_discovered_at"],
        created.body["tools_discovered_at"]
    );
}

async fn tests_are_rate_limited_per_user(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| s.jobs.test_rate_limit = 2)
        .spawn()
        .await;
    let mcp = McpFixture::with_tools(1, 5).spawn().await;
    let alice = app.user("alice");
    for _ in 0..2 {
        assert_eq!(alice.post("/api/connectors/test", form(&mcp.url)).await.status, 202);
    }
    let limited = alice.post("/api/connectors/test", form(&mcp.url)).await;
    assert_eq!((limited.status, limited.code()), (429, "RATE_LIMITED"));
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(
        app.user("bob")
            .post("/api/connectors/test", form(&mcp.url))
            .await
            .status,
        202,
        "per user"
    );
}

async fn another_users_runs_are_invisible(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = McpFixture::with_tools(1, 5).spawn().await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));
    let run = run_and_wait(&alice, "/api/connectors/test", Some(form(&mcp.url))).await;
    let run_id = run.body["id"].as_str().unwrap().to_owned();
    let connector = alice
        .post("/api/connectors", json!({"name": "Mine", "server_url": mcp.url}))
        .await;
    let connector_id = connector.body["id"].as_str().unwrap().to_owned();
    for r in [
        bob.get(&format!("/api/runs/{run_id}")).await,
        bob.get(&format!("/api/runs/{run_id}/events")).await,
        bob.post_empty(&format!("/api/connectors/{connector_id}/test")).await,
        bob.post_empty(&format!("/api/connectors/{connector_id}/refresh")).await,
        bob.get("/api/runs/not-a-uuid").await,
    ] {
        assert_eq!((r.status, r.code()), (404, "NOT_FOUND"), "{}", r.text);
    }
    assert_eq!(alice.get(&format!("/api/runs/{run_id}")).await.status, 200);
}

async fn finished_runs_are_pruned_after_the_retention(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| s.jobs.run_retention = Duration::from_secs(1))
        .spawn()
        .await;
    let mcp = McpFixture::with_tools(1, 5).spawn().await;
    let alice = app.user("alice");
    let run = run_and_wait(&alice, "/api/connectors/test", Some(form(&mcp.url))).await;
    let id = run.body["id"].as_str().unwrap().to_owned();
    assert_eq!(alice.get(&format!("/api/runs/{id}")).await.status, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while alice.get(&format!("/api/runs/{id}")).await.status != 404 {
        assert!(tokio::time::Instant::now() < deadline, "the run was never pruned");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A connector saved from a test keeps its tools after the run is gone.
    let saved = alice
        .post("/api/connectors", json!({"name": "Kept", "server_url": mcp.url}))
        .await;
    assert_eq!(saved.status, 201, "{}", saved.text);
}

/// What a user reads when the address is wrong: the HTTP status the server
/// answered and where MCP servers usually are, "needs authentication" when
/// no credentials were sent, and plain words for a URL without a scheme.
async fn a_failure_says_what_the_server_answered_and_what_to_do(backend: Backend) {
    use axum::routing::get;
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let page = || async { axum::response::Html("<html><body>Welcome</body></html>") };
    let site = axum::Router::new()
        .route("/", get(page).post(page))
        .route("/healthz", get(|| async { "ok" }));
    let site = switchboard_tests::fixtures::serve(site, "").await;
    let locked = McpFixture::with_tools(1, 10).require_bearer("the-token").spawn().await;
    let test = |body: Value| run_and_wait(&alice, "/api/connectors/test", Some(body));
    let message = |run: &switchboard_tests::Resp| run.body["error_message"].as_str().unwrap_or_default().to_owned();

    for (path, said) in [
        ("/nope", "HTTP 404 (not found) at /nope"),
        ("/healthz", "HTTP 405 (method not allowed) at /healthz"),
    ] {
        let run = test(json!({"server_url": format!("{}{path}", site.url)})).await;
        assert_eq!(run.body["error_code"], "INVALID_MCP_SERVER", "{}", run.text);
        let text = message(&run);
        assert!(text.contains(said), "{text}");
        assert!(text.contains("/mcp"), "a next step: {text}");
    }
    let run = test(json!({"server_url": format!("{}/", site.url)})).await;
    let text = message(&run);
    assert!(
        text.contains("text/html") && text.contains("not an MCP endpoint"),
        "{text}"
    );

    let run = test(json!({"server_url": locked.url})).await;
    assert_eq!(run.body["error_code"], "AUTH_FAILED", "{}", run.text);
    assert!(message(&run).contains("needs authentication"), "{}", run.text);
    let run = test(json!({"server_url": locked.url, "auth_type": "bearer", "auth_config": {"token": "wrong"}})).await;
    assert!(
        message(&run).contains("refused the credentials"),
        "a token was sent: {}",
        run.text
    );

    let run = test(json!({"server_url": ""})).await;
    assert_eq!(run.body["error_code"], "INVALID_URL", "{}", run.text);
    assert!(message(&run).contains("enter the server's address"), "{}", run.text);
    let run = test(json!({"server_url": "mcp.example.com/mcp"})).await;
    assert!(
        message(&run).contains("did you mean https://mcp.example.com/mcp?"),
        "{}",
        run.text
    );
}
