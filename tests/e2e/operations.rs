//! Health, readiness, metrics, the OpenAPI document and the docs page.

use switchboard_tests::{Backend, TestApp};

both_backends!(
    health_and_readiness,
    metrics_use_route_templates_not_paths_or_users,
    job_metrics_are_counted_without_user_or_url_labels,
    openapi_and_embedded_docs
);

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anon = app.anonymous();
    assert_eq!(anon.get("/healthz").await.body["status"], "ok");
    let ready = anon.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body["checks"]["database"].as_str()),
        (200, Some("ok"))
    );

    app.state.store.close().await;
    let down = anon.get("/readyz").await;
    assert_eq!((down.status, down.code()), (503, "NOT_READY"));
    assert_eq!(down.body["error"]["details"]["database"], "unreachable");
    assert_eq!(anon.get("/healthz").await.status, 200, "alive even when not ready");
}

async fn metrics_use_route_templates_not_paths_or_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = crate::connectors::server().await;
    let alice = app.user("metrics-user-canary");
    let id = alice
        .post("/api/connectors", crate::connectors::body("M", &mcp.url))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice.get(&format!("/api/connectors/{id}")).await;
    app.anonymous().get("/api/connectors").await;
    let metrics = app.anonymous().get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    let text = metrics.text;
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/connectors/{id}",status="200"}"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/api/connectors",status="401""#), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(!text.contains(&id), "raw path in metrics");
    assert!(!text.contains("metrics-user-canary"), "user id in metrics");
}

async fn openapi_and_embedded_docs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anon = app.anonymous();
    let spec = anon.get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec.body["paths"].as_object().unwrap();
    for path in [
        "/api/connectors",
        "/api/connectors/{id}",
        "/api/connectors/{id}/toggle",
        "/api/tools",
        "/api/tools/{id}/connect",
        "/api/tools/{id}/disconnect",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(spec.body["components"]["schemas"]["ConnectorView"].is_object());
    assert!(spec.body["components"]["securitySchemes"]["bearer"].is_object());

    let page = anon.get("/docs/").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger"), "{}", page.text);
    let initializer = anon.get("/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status, 200);
    assert!(initializer.text.contains("/openapi.json"));
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"] {
        let r = anon.get(asset).await;
        assert_eq!(r.status, 200, "{asset} is served from the binary");
        assert!(r.text.len() > 10_000, "{asset} is the real bundle");
    }
    for text in [&page.text, &initializer.text] {
        assert!(!text.contains("src=\"http"), "docs load assets from elsewhere: {text}");
        assert!(!text.contains("cdn."), "docs use a CDN: {text}");
    }
}

async fn job_metrics_are_counted_without_user_or_url_labels(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = crate::connectors::server().await;
    let alice = app.user("metrics-user-canary");
    let wait = [("prefer", "wait=10")];
    let ok = alice
        .send_with(
            reqwest::Method::POST,
            "/api/connectors/test",
            Some(serde_json::json!({"server_url": mcp.url})),
            &wait,
        )
        .await;
    assert_eq!(ok.body["status"], "succeeded");
    let blocked = serde_json::json!({"server_url": "http://10.9.8.7/mcp"});
    alice
        .send_with(reqwest::Method::POST, "/api/connectors/test", Some(blocked), &wait)
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let text = loop {
        let text = app.anonymous().get("/metrics").await.text;
        // The depth is sampled periodically: wait for a sample taken after both jobs left the queue.
        let settled = text.contains(r#"switchboard_queue_depth{kind="connection_test"} 0"#);
        if settled && text.contains("switchboard_worker_heartbeats_total") {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "gauges never reported: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    for expected in [
        r#"switchboard_jobs_total{kind="connection_test",outcome="succeeded"} 1"#,
        r#"switchboard_jobs_total{kind="connection_test",outcome="failed"} 1"#,
        r#"switchboard_connection_tests_total{code="OK"} 1"#,
        r#"switchboard_connection_tests_total{code="BLOCKED_DESTINATION"} 1"#,
        r#"switchboard_job_wait_seconds_bucket{kind="connection_test""#,
        r#"switchboard_job_run_seconds_bucket{kind="connection_test""#,
        r#"switchboard_queue_depth{kind="connection_test"} 0"#,
        "switchboard_degraded_connectors 0",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in {text}");
    }
    for private in ["metrics-user-canary", "127.0.0.1", "10.9.8.7"] {
        assert!(!text.contains(private), "`{private}` leaked into metrics");
    }
}
