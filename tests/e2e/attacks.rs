//! Findings of an attacker's pass over the API, each as a test: dev sign-in
//! from a rebound DNS name or a foreign page, the API answering any `Host`,
//! one user's gateway session used by another, absurd header and query
//! values (one of which used to panic a handler), a handler that panics
//! anyway, and OAuth sign-ins started without limit.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_tests::{Backend, TestApp};

both_backends!(
    a_foreign_host_is_answered_only_on_the_operator_routes,
    a_gateway_session_belongs_to_the_user_who_opened_it,
    absurd_headers_and_queries_never_break_a_handler,
);

/// An embedded app that made its own JWT secret and listens on loopback: dev sign-in is on.
async fn dev_app() -> TestApp {
    TestApp::builder(Backend::Sqlite)
        .configure(|s| s.jwt_secret = None)
        .spawn()
        .await
}

async fn sign_in(app: &TestApp, host: Option<&str>, origin: Option<&str>) -> u16 {
    let mut request = app
        .http
        .post(app.url("/ui/dev-sign-in"))
        .json(&json!({"user": "mallory"}));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_sign_in_answers_only_this_machines_own_page() {
    let app = dev_app().await;
    let port = app.base_url.rsplit(':').next().unwrap().to_owned();
    let own = format!("http://127.0.0.1:{port}");
    assert_eq!(sign_in(&app, None, None).await, 200, "curl on this machine");
    assert_eq!(sign_in(&app, None, Some(&own)).await, 200, "the page itself");
    let localhost = format!("localhost:{port}");
    assert_eq!(
        sign_in(&app, Some(&localhost), Some(&format!("http://{localhost}"))).await,
        200
    );
    // A page elsewhere, or a DNS name rebound to 127.0.0.1.
    assert_eq!(sign_in(&app, None, Some("https://evil.example")).await, 403);
    let rebound = format!("evil.example:{port}");
    assert_eq!(
        sign_in(&app, Some(&rebound), Some(&format!("http://{rebound}"))).await,
        421
    );
    assert_eq!(sign_in(&app, Some("127.0.0.1.evil.example"), None).await, 421);
}

async fn a_foreign_host_is_answered_only_on_the_operator_routes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token("alice");
    let with_host = |path: &str, host: &str| {
        app.http
            .get(app.url(path))
            .header("host", host)
            .bearer_auth(&token)
            .send()
    };
    for path in [
        "/",
        "/api/connectors",
        "/api/tools",
        "/openapi.json",
        "/oauth/client-metadata.json",
    ] {
        let refused = with_host(path, "evil.example").await.unwrap();
        assert_eq!(refused.status(), 421, "{path}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "HOST_NOT_ALLOWED", "{path}");
    }
    // Prometheus and orchestrators reach the API by its service name.
    for path in ["/metrics", "/healthz", "/readyz"] {
        assert_eq!(with_host(path, "api:8080").await.unwrap().status(), 200, "{path}");
    }
    assert_eq!(with_host("/api/connectors", "localhost").await.unwrap().status(), 200);
}

/// A gateway request with a session id, as `token`'s user.
async fn gateway(app: &TestApp, token: &str, method: Method, session: &str, body: Option<Value>) -> (u16, String) {
    let mut request = app
        .http
        .request(method, app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

async fn a_gateway_session_belongs_to_the_user_who_opened_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (alice, bob) = (app.token("alice"), app.token("bob"));
    let opened = app
        .http
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(&alice)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}))
        .send()
        .await
        .unwrap();
    let session = opened.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        gateway(&app, &alice, Method::POST, &session, Some(initialized)).await.0,
        202
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});

    // Bob with alice's session id is answered exactly like an unknown id.
    let unknown = uuid::Uuid::new_v4().simple().to_string();
    for (method, body) in [
        (Method::POST, Some(list.clone())),
        (Method::GET, None),
        (Method::DELETE, None),
    ] {
        let as_bob = gateway(&app, &bob, method.clone(), &session, body.clone()).await;
        let as_nobody = gateway(&app, &bob, method.clone(), &unknown, body).await;
        assert_eq!(as_bob, as_nobody, "{method}");
        if method != Method::DELETE {
            assert_ne!(as_bob.0 / 100, 2, "{method}: {as_bob:?}");
        }
    }
    // ... and alice's session is untouched (bob's DELETE ended nothing).
    let (status, body) = gateway(&app, &alice, Method::POST, &session, Some(list)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"tools\""), "{body}");
}

async fn absurd_headers_and_queries_never_break_a_handler(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let mcp = switchboard_tests::fixtures::mcp::McpFixture::with_tools(1, 10)
        .spawn()
        .await;
    let created = alice
        .post("/api/connectors", json!({"name": "Notes", "server_url": mcp.url}))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let run = alice.post("/api/connectors/test", json!({"server_url": mcp.url})).await;
    let run_id = run.body["id"].as_str().unwrap().to_owned();
    let long = "9".repeat(4000);
    let absurd = [
        "1e20",
        "1e309",
        "-1",
        "NaN",
        "inf",
        "18446744073709551616",
        "",
        "\u{202e}gnp.exe",
        long.as_str(),
    ];
    let mut answered = Vec::new();
    for value in absurd {
        for (method, path, header) in [
            (Method::POST, "/api/connectors/test".to_owned(), "prefer"),
            (Method::POST, format!("/api/connectors/{id}/refresh"), "prefer"),
            (Method::GET, format!("/api/runs/{run_id}/events"), "last-event-id"),
            (Method::GET, "/api/connectors".to_owned(), "authorization"),
            (Method::POST, "/api/agent/invocations".to_owned(), "content-type"),
            (Method::GET, "/api/tools".to_owned(), "cookie"),
            (Method::POST, "/mcp".to_owned(), "mcp-session-id"),
            (Method::POST, "/mcp".to_owned(), "mcp-protocol-version"),
            (Method::GET, "/mcp".to_owned(), "last-event-id"),
            (Method::POST, "/ui/dev-sign-in".to_owned(), "origin"),
        ] {
            let mut request = alice
                .request(method.clone(), &path)
                .timeout(std::time::Duration::from_secs(70));
            request = match header {
                "prefer" => request
                    .header("prefer", format!("wait={value}"))
                    .json(&json!({"server_url": mcp.url})),
                "content-type" => request
                    .header("content-type", value)
                    .body(r#"{"tool":"x","arguments":{}}"#),
                name => match reqwest::header::HeaderValue::from_str(value) {
                    Ok(v) => request.header(name, v),
                    Err(_) => request,
                },
            };
            let status = request.send().await.map(|r| r.status().as_u16());
            answered.push((header, value.chars().take(12).collect::<String>(), status));
        }
        for query in [
            format!("/api/agent/tools?format={value}"),
            format!("/oauth/callback?state={value}&code={value}&iss={value}&error={value}"),
            format!("/api/runs/{value}"),
            format!("/api/connectors/{value}"),
        ] {
            let status = alice
                .request(Method::GET, &query)
                .send()
                .await
                .map(|r| r.status().as_u16());
            answered.push(("query", query.chars().take(40).collect(), status));
        }
    }
    let broken: Vec<_> = answered
        .iter()
        .filter(|(_, _, status)| status.as_ref().map_or(true, |s| *s >= 500))
        .collect();
    assert!(broken.is_empty(), "a 5xx or a dropped connection: {broken:?}");
    assert_eq!(app.anonymous().get("/healthz").await.status, 200, "still serving");
}

/// Each OAuth sign-in may register a client at someone else's authorization
/// server: a user may start only so many a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_sign_ins_are_rate_limited_per_user() {
    use std::sync::atomic::Ordering;

    let app = TestApp::builder(Backend::Sqlite)
        .configure(|s| s.agent.authorize_rate_limit = 2)
        .spawn()
        .await;
    let server = switchboard_tests::fixtures::oauth::OAuthMcp::builder().spawn().await;
    let alice = app.user("alice");
    let id = crate::oauth::save_oauth_connector(&alice, &server).await;
    let path = format!("/api/connectors/{id}/authorize");
    for _ in 0..2 {
        assert_eq!(alice.post_empty(&path).await.status, 200);
    }
    let limited = alice.post_empty(&path).await;
    assert_eq!(
        (limited.status, limited.code()),
        (429, "RATE_LIMITED"),
        "{}",
        limited.text
    );
    assert!(limited.header("retry-after").is_some());
    assert_eq!(
        server.server.registrations.load(Ordering::SeqCst),
        2,
        "no registration past the limit"
    );
    // Another user has a budget of their own.
    let bob = app.user("bob");
    let bobs = crate::oauth::save_oauth_connector(&bob, &server).await;
    assert_eq!(
        bob.post_empty(&format!("/api/connectors/{bobs}/authorize"))
            .await
            .status,
        200
    );
}

/// A handler that panics anyway is answered like any internal error: 500
/// JSON, the cause logged once and never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_json_and_is_logged_once() {
    switchboard_tests::logs::capture();
    switchboard_core::telemetry::install_crypto_provider();
    let app = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                panic!("handler-panic-7c1f");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .layer(switchboard_api::routes::catch_panics());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/boom", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INTERNAL");
    assert!(
        !body.to_string().contains("handler-panic-7c1f"),
        "the cause is not sent: {body}"
    );
    let logged = switchboard_tests::logs::captured();
    assert_eq!(logged.matches("handler-panic-7c1f").count(), 1, "{logged}");
}
