//! MCP authorization for connectors, end to end: an OAuth-protected rmcp
//! server with its own authorization server (tests/src/fixtures/oauth.rs), the
//! API's authorize route and `/oauth/callback`, the worker's token use and
//! refresh. "The browser" follows the authorization URL without redirects and
//! brings the `sb_oauth` cookie back to the callback, as a real one would.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::fixtures::oauth::OAuthMcp;
pub use switchboard_tests::sign_in::{Callback, finish, sign_in_via};
use switchboard_tests::{Backend, TestApp, UserClient};

use crate::invocations::invoke;

both_backends!(
    an_oauth_connector_is_saved_authorized_and_used,
    callbacks_are_bound_to_one_use_and_one_browser,
    a_revoked_grant_asks_for_authorization_again,
    discovered_urls_pass_the_egress_guard,
    a_server_without_pkce_s256_is_refused,
    a_preregistered_client_is_used_as_given,
    a_metadata_document_is_the_client_id_when_the_server_supports_it,
    a_pasted_token_is_used_until_it_fails,
    more_scopes_are_asked_for_when_the_server_wants_them,
    an_edit_keeps_the_grant_only_for_the_same_server_and_client,
    an_oauth_session_is_reused_until_its_token_changes,
);

/// Authorize a connector: the API's answer, then the authorization server's redirect.
pub async fn start_authorization(user: &UserClient<'_>, id: &str) -> Callback {
    sign_in_via(user, &format!("/api/connectors/{id}/authorize")).await
}

/// Saves an OAuth connector for `server`, authorizes it and waits until it is active; its id.
pub async fn authorized_connector(app: &TestApp, user: &UserClient<'_>, server: &OAuthMcp) -> String {
    let id = save_oauth_connector(user, server).await;
    let callback = start_authorization(user, &id).await;
    assert_eq!(finish(app, &callback, Some(&callback.cookie)).await.0, 200);
    wait_for_status(user, &id, "active").await;
    id
}

/// POST with `Prefer: wait=10`: the finished run.
async fn post_and_wait(user: &UserClient<'_>, path: &str, body: Option<Value>) -> switchboard_tests::client::Resp {
    user.send_with(reqwest::Method::POST, path, body, &[("prefer", "wait=10")])
        .await
}

/// Saves an OAuth connector "Notes" for `server` (no client, no token); its id.
pub async fn save_oauth_connector(user: &UserClient<'_>, server: &OAuthMcp) -> String {
    let created = user
        .post(
            "/api/connectors",
            json!({"name": "Notes", "tool_policy": "allow", "server_url": server.mcp_url, "auth_type": "oauth", "auth_config": {}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// Polls a connector until its status is `status` (20 s at most).
pub async fn wait_for_status(user: &UserClient<'_>, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let connector = user.get(&format!("/api/connectors/{id}")).await.body;
        if connector["status"] == status {
            return connector;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "connector never became {status}: {connector}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_oauth_connector_is_saved_authorized_and_used(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder().access_ttl(Duration::from_secs(2)).spawn().await;
    let alice = app.user("alice");
    let mut seen = Vec::new();

    // The test finds the server and says it wants OAuth.
    let form = json!({"name": "Notes", "tool_policy": "allow", "server_url": server.mcp_url, "auth_type": "oauth", "auth_config": {}});
    let tested = post_and_wait(&alice, "/api/connectors/test", Some(form)).await;
    assert_eq!(tested.body["result"]["error_code"], "AUTH_REQUIRED", "{}", tested.text);

    // Saved at AUTH_REQUIRED: it waits for Authorize and offers no tools yet.
    let id = save_oauth_connector(&alice, &server).await;
    let created = alice.get(&format!("/api/connectors/{id}")).await.body;
    assert_eq!(created["status"], "needs_authorization");
    let stored_test = post_and_wait(&alice, &format!("/api/connectors/{id}/test"), None).await;
    assert_eq!(stored_test.body["result"]["error_code"], "AUTH_REQUIRED");
    assert_eq!(
        stored_test.body["result"]["authorize_url"],
        format!("/api/connectors/{id}/authorize"),
        "{}",
        stored_test.text
    );
    assert!(
        alice.get("/api/agent/tools").await.body["tools"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let callback = start_authorization(&alice, &id).await;
    let (status, page) = finish(&app, &callback, Some(&callback.cookie)).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("data-status=\"ok\"") && page.contains("/oauth/done.js"),
        "{page}"
    );
    assert!(
        page.contains("Switchboard account “alice”"),
        "the page names the account the grant lands in: {page}"
    );
    seen.push(page);

    // The tools are discovered with the new token and the connector is active.
    let connector = wait_for_status(&alice, &id, "active").await;
    assert_eq!(connector["tool_count"], 2, "{connector}");
    assert_eq!(
        connector["changes_pending"], 0,
        "the first discovery after sign-in is pinned as it is"
    );
    seen.push(connector.to_string());

    // The authorization request carried PKCE S256 and the resource; the code
    // exchange carried the verifier and the resource too (RFC 8707).
    let authorize = server.server.authorize_requests.lock().unwrap()[0].clone();
    assert_eq!(authorize["code_challenge_method"], "S256");
    assert_eq!(authorize["resource"], server.mcp_url);
    assert!(authorize["scope"].contains("tools.read"), "{authorize:?}");
    let exchange = server.server.token_requests.lock().unwrap()[0].clone();
    assert_eq!(exchange["grant_type"], "authorization_code");
    assert_eq!(exchange["resource"], server.mcp_url);
    assert!(!exchange["code_verifier"].is_empty());
    assert_eq!(
        server.server.registrations.load(Ordering::SeqCst),
        1,
        "dynamic registration"
    );

    // Invoked through the queue, with the connector's own token.
    let called = invoke(&alice, "notes__tool_1", json!({"text": "hello"})).await;
    assert_eq!(called.body["status"], "succeeded", "{}", called.text);
    assert_eq!(server.mcp.calls().len(), 1);
    seen.push(called.text.clone());

    // Access tokens live 2 s here: Switchboard refreshes one that is about to
    // expire before using it, quietly, once.
    // (A slow machine may already have refreshed once before this point.)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = server.refreshes();
    let called = invoke(&alice, "notes__tool_0", json!({"text": "again"})).await;
    assert_eq!(called.body["status"], "succeeded", "{}", called.text);
    seen.push(called.text.clone());
    assert_eq!(server.refreshes(), before + 1, "one refresh for a stale token");

    // And through the MCP gateway, with the connector's token, never the user's.
    let env = [
        ("GATEWAY_CALL", "notes__tool_1"),
        ("GATEWAY_ARGS", r#"{"text": "via gateway"}"#),
    ];
    let (ok, lines) = crate::gateway::run_client(&app, Some(&app.token("alice")), &env).await;
    assert!(ok, "{lines:?}");
    assert_eq!(lines[0]["result"]["isError"], false, "{lines:?}");
    assert_eq!(server.mcp.calls().len(), 3);
    let refresh = server
        .server
        .token_requests
        .lock()
        .unwrap()
        .iter()
        .find(|r| r["grant_type"] == "refresh_token")
        .cloned()
        .unwrap();
    assert_eq!(refresh["resource"], server.mcp_url, "resource on refresh too");

    // No token ever reached a response, a log line, the metrics, a queue or a
    // database file in plaintext.
    let logs = switchboard_tests::logs::captured();
    let metrics = app.metrics().await;
    let stored = app.stored_text().await;
    assert!(!stored.is_empty());
    for token in server.issued_tokens() {
        assert!(!logs.contains(&token), "a token was logged");
        assert!(!metrics.contains(&token), "a token is in the metrics");
        assert!(!stored.contains(&token), "a token is stored or queued in plaintext");
        for text in &seen {
            assert!(!text.contains(&token), "a token was in a response");
        }
    }

    // Deleting the connector revokes its tokens at the provider and deletes them.
    assert_eq!(alice.delete(&format!("/api/connectors/{id}")).await.status, 204);
    let kinds = crate::audit::audit_kinds(&alice).await;
    for kind in ["connector.authorized", "grant.revoked"] {
        assert_eq!(kinds.get(kind), Some(&1), "{kinds:?}");
    }
    let audit = alice.get("/api/audit?limit=200").await.text;
    for token in server.issued_tokens() {
        assert!(!audit.contains(&token), "a token in the audit log");
    }
    assert!(
        !server.server.revoked.lock().unwrap().is_empty(),
        "revoked at the provider"
    );
    assert!(
        app.state
            .oauth
            .grant("alice", oauth_target(&id))
            .await
            .unwrap()
            .is_none()
    );
}

fn oauth_target(id: &str) -> switchboard_core::oauth::OAuthTarget {
    switchboard_core::oauth::OAuthTarget::Connector(uuid::Uuid::parse_str(id).unwrap())
}

async fn callbacks_are_bound_to_one_use_and_one_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder().spawn().await;
    let alice = app.user("alice");
    let id = save_oauth_connector(&alice, &server).await;

    // Another user cannot start Alice's authorization.
    let foreign = app
        .user("bob")
        .post_empty(&format!("/api/connectors/{id}/authorize"))
        .await;
    assert_eq!(foreign.status, 404);

    // Without the cookie of the browser that started it, the callback is refused
    // (and the state is spent).
    let callback = start_authorization(&alice, &id).await;
    let (status, page) = finish(&app, &callback, None).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("another browser"), "{page}");
    let (status, page) = finish(&app, &callback, Some(&callback.cookie)).await;
    assert_eq!(status, 400, "a state works once: {page}");

    // A completed state cannot be replayed.
    let callback = start_authorization(&alice, &id).await;
    assert_eq!(finish(&app, &callback, Some(&callback.cookie)).await.0, 200);
    let (status, page) = finish(&app, &callback, Some(&callback.cookie)).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("already used"), "{page}");

    // Someone else's state with their own cookie gets them nothing: Bob's
    // browser cookie does not match Alice's flow.
    let bob_id = save_oauth_connector(&app.user("bob"), &server).await;
    let bobs = start_authorization(&app.user("bob"), &bob_id).await;
    let alices = start_authorization(&alice, &id).await;
    let (status, _) = finish(&app, &alices, Some(&bobs.cookie)).await;
    assert_eq!(status, 400);
    // Authorization can be repeated at any time (re-consent).
    let again = start_authorization(&alice, &id).await;
    assert_eq!(finish(&app, &again, Some(&again.cookie)).await.0, 200);
    wait_for_status(&alice, &id, "active").await;
}

async fn a_revoked_grant_asks_for_authorization_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder().access_ttl(Duration::from_secs(2)).spawn().await;
    let alice = app.user("alice");
    let id = authorized_connector(&app, &alice, &server).await;

    // The user revoked the app at the provider: the refresh answers invalid_grant.
    server.revoke_all_refresh_tokens();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let called = invoke(&alice, "notes__tool_1", json!({"text": "x"})).await;
    assert_eq!(called.body["status"], "failed", "{}", called.text);
    let connector = wait_for_status(&alice, &id, "needs_authorization").await;
    assert_eq!(connector["last_error_code"], "AUTH_REQUIRED");
    assert!(
        switchboard_tests::logs::captured().contains("oauth_needs_authorization"),
        "a structured event says so"
    );
    let refused = crate::audit::audit_events(&alice).await;
    let refused = refused.iter().find(|e| e["kind"] == "grant.refused").expect("audited");
    assert_eq!(refused["actor"], "switchboard");
    assert_eq!(refused["object"], format!("connector:{id}"));

    // Authorizing again brings it back.
    let callback = start_authorization(&alice, &id).await;
    assert_eq!(finish(&app, &callback, Some(&callback.cookie)).await.0, 200);
    wait_for_status(&alice, &id, "active").await;
}

async fn a_server_without_pkce_s256_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder().plain_pkce_only().spawn().await;
    let alice = app.user("alice");
    let id = save_oauth_connector(&alice, &server).await;
    let refused = alice.post_empty(&format!("/api/connectors/{id}/authorize")).await;
    assert_eq!(
        (refused.status, refused.code()),
        (502, "OAUTH_DISCOVERY_FAILED"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("PKCE"), "{}", refused.text);
    assert_eq!(
        server.server.registrations.load(Ordering::SeqCst),
        0,
        "refused before registering"
    );
}

async fn discovered_urls_pass_the_egress_guard(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The metadata names a token endpoint at 10.0.0.1: the guard refuses it
    // (the test resolver and the loopback fuse make sure nothing is sent).
    let server = OAuthMcp::builder().private_token_endpoint().spawn().await;
    let alice = app.user("alice");
    let id = save_oauth_connector(&alice, &server).await;
    let callback = start_authorization(&alice, &id).await;
    let (status, page) = finish(&app, &callback, Some(&callback.cookie)).await;
    assert_eq!(status, 502, "{page}");
    assert!(page.contains("Sign-in failed"), "{page}");
    assert_eq!(
        alice.get(&format!("/api/connectors/{id}")).await.body["status"],
        "needs_authorization"
    );
}

async fn a_preregistered_client_is_used_as_given(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder()
        .preregistered("sb-client", "sb-secret")
        .spawn()
        .await;
    let alice = app.user("alice");
    let created = alice
        .post(
            "/api/connectors",
            json!({"name": "Corp", "tool_policy": "allow", "server_url": server.mcp_url, "auth_type": "oauth",
                   "auth_config": {"client_id": "sb-client", "client_secret": "sb-secret", "scopes": ["tools.read"]}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(!created.text.contains("sb-secret"));
    let id = created.body["id"].as_str().unwrap().to_owned();
    let callback = start_authorization(&alice, &id).await;
    assert_eq!(finish(&app, &callback, Some(&callback.cookie)).await.0, 200);
    wait_for_status(&alice, &id, "active").await;
    assert_eq!(server.server.registrations.load(Ordering::SeqCst), 0, "no registration");
    let authorize = server.server.authorize_requests.lock().unwrap()[0].clone();
    assert_eq!(authorize["client_id"], "sb-client");
    assert_eq!(authorize["scope"], "tools.read offline_access", "the configured scopes");
}

async fn a_metadata_document_is_the_client_id_when_the_server_supports_it(backend: Backend) {
    let app = TestApp::builder(backend)
        .configure(|s| s.agent.public_url = url::Url::parse("https://switchboard.example").unwrap())
        .spawn()
        .await;
    let document = app
        .http
        .get(app.url("/oauth/client-metadata.json"))
        .send()
        .await
        .unwrap();
    let document: Value = document.json().await.unwrap();
    let client_id = "https://switchboard.example/oauth/client-metadata.json";
    assert_eq!(document["client_id"], client_id);
    assert_eq!(
        document["redirect_uris"],
        json!(["https://switchboard.example/oauth/callback"])
    );
    assert_eq!(document["grant_types"], json!(["authorization_code", "refresh_token"]));

    let server = OAuthMcp::builder().cimd().spawn().await;
    let alice = app.user("alice");
    authorized_connector(&app, &alice, &server).await;
    assert_eq!(server.server.registrations.load(Ordering::SeqCst), 0);
    assert_eq!(
        server.server.authorize_requests.lock().unwrap()[0]["client_id"],
        client_id
    );
}

async fn a_pasted_token_is_used_until_it_fails(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder().spawn().await;
    let token = server.issue_token();
    let alice = app.user("alice");
    let created = alice
        .post(
            "/api/connectors",
            json!({"name": "Notes", "tool_policy": "allow", "server_url": server.mcp_url, "auth_type": "oauth",
                   "auth_config": {"access_token": token}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["status"], "active");
    assert!(!created.text.contains(&token));
    let id = created.body["id"].as_str().unwrap().to_owned();
    let called = invoke(&alice, "notes__tool_1", json!({"text": "x"})).await;
    assert_eq!(called.body["status"], "succeeded", "{}", called.text);

    server.invalidate(&token);
    let refreshed = post_and_wait(&alice, &format!("/api/connectors/{id}/refresh"), None).await;
    assert_eq!(refreshed.body["error_code"], "AUTH_REQUIRED", "{}", refreshed.text);
    wait_for_status(&alice, &id, "needs_authorization").await;
}

async fn more_scopes_are_asked_for_when_the_server_wants_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder().spawn().await;
    let alice = app.user("alice");
    let id = authorized_connector(&app, &alice, &server).await;

    // Calls now need `tools.write`: 403 insufficient_scope.
    server.require_call_scope("tools.write");
    let refused = invoke(&alice, "notes__tool_1", json!({"text": "x"})).await;
    assert_eq!(refused.body["error_code"], "INSUFFICIENT_SCOPE", "{}", refused.text);
    wait_for_status(&alice, &id, "needs_authorization").await;

    // Authorizing again asks for the union of the granted and the wanted scopes.
    let callback = start_authorization(&alice, &id).await;
    let scope = server.server.authorize_requests.lock().unwrap()[1]["scope"].clone();
    let scopes: Vec<&str> = scope.split(' ').collect();
    assert!(
        scopes.contains(&"tools.read") && scopes.contains(&"tools.write"),
        "{scope}"
    );
    assert_eq!(finish(&app, &callback, Some(&callback.cookie)).await.0, 200);
    wait_for_status(&alice, &id, "active").await;
    let called = invoke(&alice, "notes__tool_1", json!({"text": "x"})).await;
    assert_eq!(called.body["status"], "succeeded", "{}", called.text);
}

async fn an_edit_keeps_the_grant_only_for_the_same_server_and_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder().spawn().await;
    let alice = app.user("alice");
    let id = authorized_connector(&app, &alice, &server).await;

    // A new header: re-tested with the same grant, still active.
    let edited = json!({"name": "Notes", "tool_policy": "allow", "server_url": server.mcp_url, "auth_type": "oauth",
                        "auth_config": {}, "headers": {"X-Team": "docs"}});
    let put = alice.put(&format!("/api/connectors/{id}"), edited).await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["status"], "active", "{}", put.text);
    assert!(
        app.state
            .oauth
            .grant("alice", oauth_target(&id))
            .await
            .unwrap()
            .is_some()
    );

    // Another server: its test never sees the old token, and the old grant is
    // revoked and deleted once the edit is saved.
    let other = OAuthMcp::builder().spawn().await;
    let moved =
        json!({"name": "Notes", "server_url": other.mcp_url, "auth_type": "oauth", "auth_config": {}, "headers": {}});
    let put = alice.put(&format!("/api/connectors/{id}"), moved).await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["status"], "needs_authorization");
    assert!(
        app.state
            .oauth
            .grant("alice", oauth_target(&id))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !server.server.revoked.lock().unwrap().is_empty(),
        "revoked at the old server"
    );
    let leaked: Vec<String> = server.issued_tokens();
    let seen = other.server.seen_tokens.lock().unwrap().clone();
    assert!(
        seen.iter().all(|t| !leaked.contains(t)),
        "a token went to another server: {seen:?}"
    );
}

async fn an_oauth_session_is_reused_until_its_token_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Refreshed 3 s before it expires: good for 3 s after it was issued.
    let server = OAuthMcp::builder().access_ttl(Duration::from_secs(6)).spawn().await;
    let alice = app.user("alice");
    authorized_connector(&app, &alice, &server).await;

    server.mcp.take_methods();
    for text in ["one", "two"] {
        let called = invoke(&alice, "notes__tool_0", json!({ "text": text })).await;
        assert_eq!(called.body["status"], "succeeded", "{}", called.text);
    }
    let methods = server.mcp.take_methods();
    let count = |name: &str| methods.iter().filter(|m| *m == name).count();
    assert_eq!(
        (count("initialize"), count("tools/call")),
        (1, 2),
        "one session for both calls: {methods:?}"
    );

    // A refreshed token opens a new session.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let before = server.refreshes();
    let called = invoke(&alice, "notes__tool_0", json!({"text": "three"})).await;
    assert_eq!(called.body["status"], "succeeded", "{}", called.text);
    assert_eq!(server.refreshes(), before + 1, "the token was refreshed");
    let methods = server.mcp.take_methods();
    assert!(methods.contains(&"initialize".to_owned()), "{methods:?}");
}
