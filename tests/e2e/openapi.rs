//! The OpenAPI document describes the API: the mismatches schemathesis found
//! once, each as a fast check (the whole document is held to the server by
//! schemathesis in `.ci/run`: ops/ci/api-fuzz.sh).

use serde_json::{Value, json};
use switchboard_tests::{Backend, TestApp};

fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is documented");
    op
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_says_what_the_server_does() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = app.anonymous().get("/openapi.json").await.body;
    let schemas = &doc["components"]["schemas"];

    // Every reference resolves (a schema named only by a parameter is not
    // collected on its own: the TypeScript generator refuses such a document).
    let text = doc.to_string();
    for reference in text.split(r##""$ref":"#/"##).skip(1) {
        let pointer = reference.split('"').next().unwrap();
        assert!(
            doc.pointer(&format!("/{pointer}")).is_some(),
            "dangling $ref #/{pointer}"
        );
    }

    // A 422's details are a list of fields, and the document says so.
    let alice = app.user("alice");
    let invalid = alice.post("/api/connectors", json!({})).await;
    assert!(invalid.body["error"]["details"].is_array());
    let details = schemas["ErrorDetail"]["properties"]["details"].to_string();
    assert!(details.contains(r#""type":"array""#), "{details}");

    // Required fields are declared.
    let required = &schemas["ConnectorInput"]["required"];
    assert_eq!(required, &json!(["name", "server_url"]));

    // Every API operation documents 401 and 503; every one with a body, the
    // answers of the body extractor.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            let mut expected = vec!["503"];
            if path.starts_with("/api/") {
                expected.push("401");
            }
            if op.get("requestBody").is_some() {
                expected.extend(["400", "413", "415", "422"]);
            }
            for status in expected {
                assert!(responses.get(status).is_some(), "{method} {path} documents {status}");
            }
        }
    }

    // A documented `null` body is taken (it used to answer 422).
    let mcp = switchboard_tests::fixtures::mcp::McpFixture::with_tools(1, 10)
        .spawn()
        .await;
    let id = crate::invocations::save_connector(&alice, "Notes", &mcp.url).await;
    let toggle = operation(&doc, "/api/connectors/{id}/toggle", "post");
    assert!(toggle["requestBody"].to_string().contains("null"));
    let toggled = alice
        .request(reqwest::Method::POST, &format!("/api/connectors/{id}/toggle"))
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(toggled.status(), 200);

    // Enums, patterns and types of parameters.
    let format = &operation(&doc, "/api/agent/tools", "get")["parameters"][0]["schema"];
    assert_eq!(format["enum"], json!(["openai", "mcp"]));
    let key = &schemas["Invocation"]["properties"]["idempotency_key"];
    assert!(key["pattern"].is_string() && key["maxLength"] == 255, "{key}");
    let events = operation(&doc, "/api/runs/{id}/events", "get")["parameters"]
        .as_array()
        .unwrap();
    let last_event_id = events.iter().find(|p| p["name"] == "Last-Event-ID").unwrap();
    assert_eq!(last_event_id["schema"]["type"], "string");
    assert_eq!(
        alice
            .send_with(
                reqwest::Method::GET,
                "/api/runs/00000000-0000-7000-8000-000000000000/events",
                None,
                &[("last-event-id", "1")]
            )
            .await
            .status,
        404
    );

    // Links: a stateful client can go from a created connector to its operations.
    let created = &operation(&doc, "/api/connectors", "post")["responses"]["201"]["links"];
    assert_eq!(created["get_connector"]["parameters"]["id"], "$response.body#/id");
    let started = &operation(&doc, "/api/connectors/test", "post")["responses"]["202"]["links"];
    assert_eq!(started["get_run"]["operationId"], "get_run");
}
