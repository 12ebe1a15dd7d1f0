//! Another user's objects answer 404 on every id-bearing route and stay unchanged.

use serde_json::json;
use switchboard_tests::{Backend, TestApp};

both_backends!(another_users_connector_is_invisible_and_untouchable);

async fn another_users_connector_is_invisible_and_untouchable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = crate::connectors::server().await;
    let alice = app.user("alice");
    let bob = app.user("bob");
    let created = alice
        .post("/api/connectors", crate::connectors::body("Alice's", &mcp.url))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/connectors/{id}");

    assert_eq!(bob.get("/api/connectors").await.body["connectors"], json!([]));
    let attempts = [
        bob.get(&path).await,
        bob.put(&path, crate::connectors::body("Bob's now", &mcp.url)).await,
        bob.post(&format!("{path}/toggle"), json!({"enabled": false})).await,
        bob.post_empty(&format!("{path}/toggle")).await,
        bob.delete(&path).await,
    ];
    for r in &attempts {
        assert_eq!((r.status, r.code()), (404, "NOT_FOUND"), "{}", r.text);
        assert!(!r.text.contains("Alice"), "leaks the name: {}", r.text);
    }
    // The 404 for Alice's id is the same as for an id that never existed.
    let missing = bob.get(&format!("/api/connectors/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(missing.body, attempts[0].body);

    let after = alice.get(&path).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body, created.body, "Alice's connector is unchanged");
}
