//! Every field's validation, and the HTTP-level error policy (400/413/415/404/405).

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_tests::{Backend, TestApp};

both_backends!(
    each_invalid_field_is_reported_at_its_location,
    http_errors_are_json_with_the_right_status
);

fn with(field: &str, value: Value) -> Value {
    let mut body = json!({"name": "Valid", "server_url": "https://mcp.example.com/mcp"});
    body[field] = value;
    body
}

async fn each_invalid_field_is_reported_at_its_location(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({"server_url": "https://mcp.example.com"}), &["body.name"]),
        (with("name", json!("")), &["body.name"]),
        (with("name", json!("   ")), &["body.name"]),
        (with("name", json!("x".repeat(65))), &["body.name"]),
        (with("name", json!("tab\there")), &["body.name"]),
        (with("name", json!(42)), &["body.name"]),
        (with("description", json!("d".repeat(501))), &["body.description"]),
        (json!({"name": "No URL"}), &["body.server_url"]),
        (with("server_url", json!("ftp://mcp.example.com")), &["body.server_url"]),
        (with("server_url", json!("mcp.example.com/mcp")), &["body.server_url"]),
        (
            with("server_url", json!("https://user:pass@mcp.example.com")),
            &["body.server_url"],
        ),
        (
            with("server_url", json!("https://mcp.example.com/#x")),
            &["body.server_url"],
        ),
        (with("auth_type", json!("basic")), &["body.auth_type"]),
        (with("auth_type", json!("bearer")), &["body.auth_config.token"]),
        (
            json!({"name": "V", "server_url": "https://e.com", "auth_type": "bearer", "auth_config": {"token": "has space"}}),
            &["body.auth_config.token"],
        ),
        (
            json!({"name": "V", "server_url": "https://e.com", "auth_type": "bearer", "auth_config": {"tokn": "x"}}),
            &["body.auth_config"],
        ),
        (
            json!({"name": "V", "server_url": "https://e.com", "auth_type": "none", "auth_config": {"token": "x"}}),
            &["body.auth_config"],
        ),
        (
            json!({"name": "V", "server_url": "https://e.com", "auth_type": "oauth", "auth_config": {"client_secret": "s"}}),
            &["body.auth_config.client_secret"],
        ),
        (
            with("headers", json!({"Authorization": "Bearer x"})),
            &["body.headers.Authorization"],
        ),
        (
            with("headers", json!({"Mcp-Session-Id": "x"})),
            &["body.headers.Mcp-Session-Id"],
        ),
        (with("headers", json!({"Bad Name": "x"})), &["body.headers.Bad Name"]),
        (
            with("headers", json!({"X-Ok": "line\r\nbreak"})),
            &["body.headers.X-Ok"],
        ),
        (with("headers", json!({"X-Ok": null})), &["body.headers.X-Ok"]),
        (with("headers", json!(["not", "an", "object"])), &["body.headers"]),
        (with("enabled", json!("yes")), &["body.enabled"]),
        (with("surprise", json!(1)), &["body.surprise"]),
        (
            json!({"name": "", "server_url": "nope", "auth_type": "basic"}),
            &["body.name", "body.server_url", "body.auth_type"],
        ),
    ];
    for (body, locs) in cases {
        let r = alice.post("/api/connectors", body.clone()).await;
        assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"), "{body}: {}", r.text);
        assert_eq!(r.locs(), locs, "{body}: {}", r.text);
        for detail in r.body["error"]["details"].as_array().unwrap() {
            assert!(!detail["msg"].as_str().unwrap().is_empty());
        }
    }
    assert_eq!(
        alice.get("/api/connectors").await.body["connectors"],
        json!([]),
        "nothing was created"
    );

    // Update validates the same way.
    let mcp = crate::connectors::server().await;
    let real = json!({"name": "Real", "server_url": mcp.url});
    let id = alice.post("/api/connectors", real).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = alice
        .put(
            &format!("/api/connectors/{id}"),
            with("server_url", json!("javascript:alert(1)")),
        )
        .await;
    assert_eq!((r.status, r.locs()), (422, vec!["body.server_url".to_owned()]));
    assert!(mcp.hits.posts() > 0, "the valid create was verified against the server");
}

async fn http_errors_are_json_with_the_right_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = alice.request(Method::POST, "/api/connectors").body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        async move { switchboard_tests::client::read(request.send().await.unwrap()).await }
    };

    let malformed = raw("{\"name\": ", Some("application/json")).await;
    assert_eq!((malformed.status, malformed.code()), (400, "MALFORMED_JSON"));
    let trailing = raw("{} {}", Some("application/json")).await;
    assert_eq!((trailing.status, trailing.code()), (400, "MALFORMED_JSON"));
    let form = raw("name=x", Some("application/x-www-form-urlencoded")).await;
    assert_eq!((form.status, form.code()), (415, "UNSUPPORTED_MEDIA_TYPE"));
    let untyped = raw("{}", None).await;
    assert_eq!(untyped.status, 415);

    let huge = json!({"name": "Big", "server_url": "https://e.com", "description": "x".repeat(70 * 1024)});
    let too_large = alice.post("/api/connectors", huge).await;
    assert_eq!((too_large.status, too_large.code()), (413, "PAYLOAD_TOO_LARGE"));
    // Just under the limit is parsed (and then fails validation for its length).
    let big_but_ok = alice
        .post(
            "/api/connectors",
            json!({"name": "Big", "server_url": "https://e.com", "description": "x".repeat(60 * 1024)}),
        )
        .await;
    assert_eq!(big_but_ok.status, 422);

    let unknown = alice.get("/api/nothing-here").await;
    assert_eq!((unknown.status, unknown.code()), (404, "NOT_FOUND"));
    let wrong_method = alice.send(Method::PATCH, "/api/connectors", None).await;
    assert_eq!((wrong_method.status, wrong_method.code()), (405, "METHOD_NOT_ALLOWED"));
    let bad_id = alice.get("/api/connectors/not-a-uuid").await;
    assert_eq!((bad_id.status, bad_id.code()), (404, "NOT_FOUND"));
}
