//! `GET /api/tools` and connect / disconnect.

use serde_json::{Value, json};
use switchboard_tests::{Backend, TestApp};

both_backends!(tools_are_listed_sorted_with_per_user_status, connect_rules_by_tool_kind);

fn status_of<'a>(tools: &'a Value, id: &str) -> &'a str {
    tools.as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["status"]
        .as_str()
        .unwrap()
}

async fn tools_are_listed_sorted_with_per_user_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let tools = alice.get("/api/tools").await;
    assert_eq!(tools.status, 200);
    let ids: Vec<&str> = tools
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["analytics", "calendar", "export", "gmail"]);
    let gmail = tools
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "gmail")
        .unwrap();
    for field in ["name", "description", "icon", "category"] {
        assert!(gmail[field].as_str().is_some_and(|s| !s.is_empty()), "{field}");
    }
    assert_eq!(gmail["auth_type"], "oauth");
    assert_eq!(gmail["is_beta"], false);
    assert_eq!(gmail["functions"].as_array().unwrap().len(), 3);
    assert_eq!(status_of(&tools.body, "calendar"), "coming_soon");
    assert_eq!(status_of(&tools.body, "analytics"), "available");
    // Without Google credentials on this server, Gmail says so before anyone clicks.
    assert_eq!(status_of(&tools.body, "gmail"), "unavailable");
    assert_eq!(
        gmail["needs_settings"],
        json!(["SWITCHBOARD_GOOGLE_CLIENT_ID", "SWITCHBOARD_GOOGLE_CLIENT_SECRET"])
    );

    assert_eq!(
        alice.post_empty("/api/tools/analytics/connect").await.body["status"],
        "connected"
    );
    assert_eq!(status_of(&alice.get("/api/tools").await.body, "analytics"), "connected");
    assert_eq!(
        status_of(&app.user("bob").get("/api/tools").await.body, "analytics"),
        "available"
    );
}

async fn connect_rules_by_tool_kind(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let beta = alice.post_empty("/api/tools/calendar/connect").await;
    assert_eq!((beta.status, beta.code()), (409, "COMING_SOON"));
    let oauth = alice.post_empty("/api/tools/gmail/connect").await;
    assert_eq!((oauth.status, oauth.code()), (409, "OAUTH_NOT_CONFIGURED"));
    assert!(oauth.body["error"]["message"].as_str().unwrap().contains("Gmail"));
    for path in ["/api/tools/nope/connect", "/api/tools/nope/disconnect"] {
        let r = alice.post_empty(path).await;
        assert_eq!((r.status, r.code()), (404, "NOT_FOUND"), "{path}");
    }

    let connected = alice.post_empty("/api/tools/export/connect").await;
    assert_eq!(
        (connected.status, connected.body["status"].as_str()),
        (200, Some("connected"))
    );
    for _ in 0..2 {
        let r = alice.post_empty("/api/tools/export/disconnect").await;
        assert_eq!(
            (r.status, r.body["status"].as_str()),
            (200, Some("available")),
            "disconnect is idempotent"
        );
    }
    // Disconnecting something never connected is fine too.
    assert_eq!(alice.post_empty("/api/tools/analytics/disconnect").await.status, 200);
    assert_eq!(status_of(&alice.get("/api/tools").await.body, "export"), "available");
}
