//! `GET /api/agent/tools`: enabled connectors' tools and connected system
//! tools under model-safe names, minus switched-off tools; and the tool switch
//! `PUT /api/connectors/{id}/tools/{tool_name}`.

use rmcp::model::Tool;
use serde_json::{Value, json};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp, UserClient};

use crate::invocations::{invoke, save_connector};

both_backends!(
    names_are_safe_unique_and_stable,
    switched_off_tools_leave_the_catalog_and_are_refused,
);

fn tool(name: &str) -> Tool {
    Tool::new(
        name.to_owned(),
        "A tool",
        json!({"type": "object"}).as_object().unwrap().clone(),
    )
}

async fn names(user: &UserClient<'_>) -> Vec<String> {
    let catalog = user.get("/api/agent/tools").await;
    assert_eq!(catalog.status, 200, "{}", catalog.text);
    assert_eq!(catalog.body["format"], "openai");
    catalog.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn names_are_safe_unique_and_stable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let awkward = [
        "search.docs",
        "search docs",
        "search_docs",
        "créer-événement",
        &"x".repeat(128),
        &format!("{}a", "x".repeat(127)),
    ];
    let fixture = McpFixture::with_tools(0, 10).tools(awkward.iter().map(|n| tool(n)).collect());
    let server = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let a = save_connector(&alice, "A very long connector name indeed", &server.url).await;
    save_connector(&alice, "A very long connector name indeed!", &server.url).await;
    alice.post_empty("/api/tools/analytics/connect").await;

    let listed = names(&alice).await;
    assert_eq!(listed.len(), 2 * awkward.len() + 1, "{listed:?}");
    let valid =
        |n: &str| (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    assert!(listed.iter().all(|n| valid(n)), "{listed:?}");
    let unique: std::collections::HashSet<_> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "{listed:?}");
    assert!(listed.contains(&"analytics__tool_usage".to_owned()));

    // Both formats carry the way back to the source.
    let mcp = alice.get("/api/agent/tools?format=mcp").await;
    let entry = mcp.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["_meta"]["switchboard"]["tool"] == "créer-événement")
        .unwrap()
        .clone();
    assert_eq!(entry["_meta"]["switchboard"]["source"]["kind"], "connector");
    assert!(entry["inputSchema"].is_object());
    let bad = alice.get("/api/agent/tools?format=xml").await;
    assert_eq!(bad.status, 422);

    // Stable across re-discovery and a restart of the catalog.
    switchboard_tests::runs::refresh(&alice, &a).await;
    assert_eq!(names(&alice).await, listed);
    assert!(names(&app.user("bob")).await.is_empty(), "bob has no tools");
}

async fn switched_off_tools_leave_the_catalog_and_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let id = save_connector(&alice, "Notes", &server.url).await;

    let off = alice
        .put(&format!("/api/connectors/{id}/tools/tool_1"), json!({"enabled": false}))
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body["disabled_tools"], json!(["tool_1"]));
    assert_eq!(names(&alice).await, ["notes__tool_0"]);
    let refused = invoke(&alice, "notes__tool_1", json!({"text": "x"})).await;
    assert_eq!((refused.status, refused.code()), (404, "TOOL_NOT_FOUND"));
    assert!(fixture.calls().is_empty());

    // The switch survives re-discovery and shows in the connector.
    alice
        .send_with(
            reqwest::Method::POST,
            &format!("/api/connectors/{id}/refresh"),
            None,
            &[("prefer", "wait=10")],
        )
        .await;
    let connector = alice.get(&format!("/api/connectors/{id}")).await;
    assert_eq!(connector.body["disabled_tools"], json!(["tool_1"]));
    assert_eq!(names(&alice).await, ["notes__tool_0"]);

    let missing = alice
        .put(&format!("/api/connectors/{id}/tools/nope"), json!({"enabled": false}))
        .await;
    assert_eq!(missing.status, 404);
    let bob = app
        .user("bob")
        .put(&format!("/api/connectors/{id}/tools/tool_0"), json!({"enabled": false}))
        .await;
    assert_eq!(bob.status, 404, "another user's connector");

    let on = alice
        .put(&format!("/api/connectors/{id}/tools/tool_1"), json!({"enabled": true}))
        .await;
    assert_eq!(on.body["disabled_tools"], json!(Vec::<Value>::new()));
    assert_eq!(names(&alice).await, ["notes__tool_0", "notes__tool_1"]);

    // A disabled connector's tools are gone.
    alice
        .post(&format!("/api/connectors/{id}/toggle"), json!({"enabled": false}))
        .await;
    assert!(names(&alice).await.is_empty());
}
