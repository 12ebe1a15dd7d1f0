//! Credentials stay home: each stored secret goes only where it was issued
//! for (core/src/binding.rs), through every path — a test with a changed URL,
//! a call, a refresh, a redirect. A recording server on another port must
//! never see one.

use std::time::Duration;

use serde_json::json;
use switchboard_core::egress::AllowList;
use switchboard_core::egress::http::{Deadline, EgressHttp};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::fixtures::oauth::OAuthMcp;
use switchboard_tests::fixtures::recorder::Recorder;
use switchboard_tests::runs::run_and_wait;
use switchboard_tests::{Backend, TestApp};

use crate::invocations::invoke;
use crate::oauth::{authorized_connector, wait_for_status};

both_backends!(
    an_access_token_goes_only_to_its_resource,
    a_refresh_token_and_client_secret_go_only_to_the_token_endpoint,
    a_bearer_token_and_header_values_stay_on_their_origin,
);

const TOKEN: &str = "bearer-canary-7f3a91";
const HEADER_VALUE: &str = "header-canary-c0ffee";

async fn an_access_token_goes_only_to_its_resource(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder().spawn().await;
    let recorder = Recorder::spawn().await;
    let alice = app.user("alice");
    let id = authorized_connector(&app, &alice, &server).await;
    let edited = |url: &str| json!({"name": "Notes", "tool_policy": "allow", "server_url": url, "auth_type": "oauth", "auth_config": {}});

    // Testing the saved connector against another host: no grant goes along.
    let test = run_and_wait(
        &alice,
        &format!("/api/connectors/{id}/test"),
        Some(edited(&recorder.url)),
    )
    .await;
    assert_eq!(test.status, 200, "{}", test.text);
    assert!(!recorder.saw_header("authorization"), "{:?}", recorder.requests());
    for token in server.issued_tokens() {
        assert!(!recorder.saw(&token), "an issued token reached another host");
    }

    // Another path on the same server is not the resource either.
    let other_path = format!("{}/v2/mcp", server.base);
    let test = run_and_wait(&alice, &format!("/api/connectors/{id}/test"), Some(edited(&other_path))).await;
    assert_eq!(test.status, 200, "{}", test.text);
    assert!(
        server.authorization_on("/v2/mcp").is_empty(),
        "the grant went to another path"
    );

    // The saved URL itself is tested with the grant, and calls use it.
    let test = run_and_wait(&alice, &format!("/api/connectors/{id}/test"), None).await;
    assert_eq!(test.body["status"], "succeeded", "{}", test.text);
    let called = invoke(&alice, "notes__tool_1", json!({"text": "x"})).await;
    assert_eq!(called.body["status"], "succeeded", "{}", called.text);
    assert!(!server.authorization_on("/mcp").is_empty());
}

async fn a_refresh_token_and_client_secret_go_only_to_the_token_endpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let server = OAuthMcp::builder()
        .preregistered("sb-client", "client-secret-canary")
        .access_ttl(Duration::from_secs(2))
        .spawn()
        .await;
    let recorder = Recorder::spawn().await;
    let alice = app.user("alice");
    let created = alice
        .post(
            "/api/connectors",
            json!({"name": "Notes", "tool_policy": "allow", "server_url": server.mcp_url, "auth_type": "oauth",
                   "auth_config": {"client_id": "sb-client", "client_secret": "client-secret-canary"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let callback = crate::oauth::start_authorization(&alice, &id).await;
    assert_eq!(
        crate::oauth::finish(&app, &callback, Some(&callback.cookie)).await.0,
        200
    );
    wait_for_status(&alice, &id, "active").await;

    // The token endpoint now redirects elsewhere: a refresh is never re-sent there.
    server.redirect_token_endpoint(&recorder.url);
    tokio::time::sleep(Duration::from_millis(1100)).await; // the access token is stale
    let called = invoke(&alice, "notes__tool_1", json!({"text": "x"})).await;
    assert_eq!(called.body["status"], "failed", "{}", called.text);
    assert!(recorder.requests().is_empty(), "{:?}", recorder.requests());
    assert!(!recorder.saw("client-secret-canary"));
}

async fn a_bearer_token_and_header_values_stay_on_their_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 10)
        .require_bearer(TOKEN)
        .require_header("X-Api-Key", HEADER_VALUE);
    let mcp = fixture.clone().spawn().await;
    let recorder = Recorder::spawn().await;
    let alice = app.user("alice");
    let created = alice
        .post(
            "/api/connectors",
            json!({"name": "Notes", "tool_policy": "allow", "server_url": mcp.url, "auth_type": "bearer",
                   "auth_config": {"token": TOKEN}, "headers": {"X-Api-Key": HEADER_VALUE}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let edited = |url: &str| json!({"name": "Notes", "tool_policy": "allow", "server_url": url, "auth_type": "bearer", "auth_config": {}, "headers": {"X-Api-Key": null}});

    // An edited path on the same server is tested with the stored secrets.
    let same_origin = format!("{}?v=2", mcp.url);
    let test = run_and_wait(
        &alice,
        &format!("/api/connectors/{id}/test"),
        Some(edited(&same_origin)),
    )
    .await;
    assert_eq!(test.body["status"], "succeeded", "{}", test.text);

    // Another origin: the stored secrets are refused, not sent.
    let test = run_and_wait(
        &alice,
        &format!("/api/connectors/{id}/test"),
        Some(edited(&recorder.url)),
    )
    .await;
    assert_eq!((test.status, test.code()), (409, "SECRET_NOT_STORED"), "{}", test.text);
    // ... and a token typed for it is the only one it gets.
    let typed = json!({"name": "Notes", "tool_policy": "allow", "server_url": recorder.url, "auth_type": "bearer",
                       "auth_config": {"token": "typed-for-the-recorder"}, "headers": {}});
    let test = run_and_wait(&alice, &format!("/api/connectors/{id}/test"), Some(typed)).await;
    assert_eq!(test.status, 200, "{}", test.text);
    assert!(recorder.saw("typed-for-the-recorder"));

    // The server starts redirecting to another origin: neither a refresh nor a
    // call follows it with the secrets.
    fixture.redirect_to(&recorder.url);
    let refresh = run_and_wait(&alice, &format!("/api/connectors/{id}/refresh"), None).await;
    assert_eq!(refresh.body["status"], "failed", "{}", refresh.text);
    let called = invoke(&alice, "notes__tool_1", json!({"text": "x"})).await;
    assert_eq!(called.body["status"], "failed", "{}", called.text);
    assert!(
        !recorder.saw(TOKEN) && !recorder.saw(HEADER_VALUE),
        "{:?}",
        recorder.requests()
    );
}

/// Requests Switchboard sends itself (the legacy transport, OAuth) follow a
/// cross-origin redirect only without `Authorization`, cookies and custom
/// headers; a same-origin one keeps them.
#[tokio::test]
async fn a_cross_origin_hop_drops_every_secret_header() {
    let recorder = Recorder::spawn().await;
    let redirecting = McpFixture::with_tools(1, 10);
    let mcp = redirecting.clone().spawn().await;
    redirecting.redirect_to(&recorder.url);
    let http = EgressHttp::new(switchboard_tests::probe::test_guard(AllowList::loopback())).unwrap();
    let request = http
        .request(reqwest::Method::POST, mcp.url.parse().unwrap())
        .bearer_auth(TOKEN)
        .header("X-Api-Key", HEADER_VALUE)
        .header("Cookie", "session=cookie-canary")
        .json(&json!({"hello": "world"}));
    let response = http
        .send(request, Deadline::after(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "the recorder answered");
    let seen = recorder.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].body, r#"{"hello":"world"}"#, "a 307 keeps the body");
    for secret in [TOKEN, HEADER_VALUE, "cookie-canary"] {
        assert!(!recorder.saw(secret), "{secret} followed the redirect: {seen:?}");
    }
    assert!(!recorder.saw_header("x-api-key"));
}
