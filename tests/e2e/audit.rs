//! The audit log (`GET /api/audit`): each kind of change a user makes, or
//! Switchboard makes for them, is written once, holds no secret (canary
//! token and header value, checked in responses, logs and storage), is
//! visible only to its owner, pages by cursor and is part of the Export
//! tool's output; a key rotation is an operator's event with no owner.
//! (OAuth's kinds — authorized, revoked, refused — are checked in `oauth`.)

use std::collections::BTreeMap;

use serde_json::{Value, json};
use switchboard_tests::fixtures::mcp::{McpFixture, numbered_tools};
use switchboard_tests::runs::refresh;
use switchboard_tests::{Backend, TestApp, UserClient};

use crate::invocations::invoke;

both_backends!(each_change_is_audited_once_without_secrets);

const TOKEN: &str = "canary-audit-token-5d1c";
const HEADER: &str = "canary-audit-header-9e4a";

/// Every event of `user`, newest first, read page by page.
pub async fn audit_events(user: &UserClient<'_>) -> Vec<Value> {
    let mut events = Vec::new();
    let mut path = "/api/audit?limit=3".to_owned();
    loop {
        let page = user.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        events.extend(page.body["events"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/audit?limit=3&before={cursor}"),
            None => return events,
        }
    }
}

/// How many events of each kind `user` has.
pub async fn audit_kinds(user: &UserClient<'_>) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for event in audit_events(user).await {
        *kinds.entry(event["kind"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    kinds
}

async fn each_change_is_audited_once_without_secrets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 10)
        .require_bearer(TOKEN)
        .require_header("x-api-key", HEADER);
    let server = fixture.clone().spawn().await;
    let alice = app.user("alice");

    let body = json!({"name": "Notes", "server_url": server.url, "auth_type": "bearer",
        "auth_config": {"token": TOKEN}, "headers": {"X-Api-Key": HEADER}});
    let created = alice.post("/api/connectors", body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let connector = format!("/api/connectors/{id}");
    let renamed = json!({"name": "Notebook", "server_url": server.url, "auth_type": "bearer"});
    assert_eq!(alice.put(&connector, renamed).await.status, 200);
    alice
        .post(&format!("{connector}/toggle"), json!({"enabled": false}))
        .await;
    alice
        .post(&format!("{connector}/toggle"), json!({"enabled": true}))
        .await;
    let off = alice
        .put(&format!("{connector}/tools/tool_0"), json!({"enabled": false}))
        .await;
    assert_eq!(off.status, 200, "{}", off.text);

    // The server adds a tool (held), then another (held): one approved, one rejected.
    fixture.set_tools(numbered_tools(3));
    refresh(&alice, &id).await;
    let approve = crate::pins::decide(&alice, &id, json!({"decision": "approve"})).await;
    assert_eq!(approve.status, 200, "{}", approve.text);
    fixture.set_tools(numbered_tools(4));
    refresh(&alice, &id).await;
    let reject = crate::pins::decide(&alice, &id, json!({"decision": "reject"})).await;
    assert_eq!(reject.status, 200, "{}", reject.text);

    alice.post_empty("/api/tools/export/connect").await;
    let export = invoke(
        &alice,
        "export__export_data",
        json!({"format": "json", "include": ["audit"]}),
    )
    .await;
    assert_eq!(export.body["status"], "succeeded", "{}", export.text);
    alice.post_empty("/api/tools/export/disconnect").await;
    assert_eq!(alice.delete(&connector).await.status, 204);

    let kinds = audit_kinds(&alice).await;
    let expected: BTreeMap<String, usize> = [
        ("connector.created", 1),
        ("connector.updated", 1),
        ("connector.toggled", 2),
        ("tool.switched", 1),
        ("tool_changes.held", 2),
        ("tool_changes.approved", 1),
        ("tool_changes.rejected", 1),
        ("system_tool.connected", 1),
        ("system_tool.disconnected", 1),
        ("connector.deleted", 1),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_owned(), n))
    .collect();
    assert_eq!(kinds, expected);

    let events = audit_events(&alice).await;
    assert_eq!(events[0]["kind"], "connector.deleted", "newest first");
    let held = events.iter().find(|e| e["kind"] == "tool_changes.held").unwrap();
    assert_eq!(held["actor"], "switchboard", "Switchboard's own check held it");
    assert_eq!(held["summary"]["changes"][0]["tool"], "tool_3");
    let created = events.iter().find(|e| e["kind"] == "connector.created").unwrap();
    assert_eq!(created["actor"], "alice");
    assert_eq!(created["object"], format!("connector:{id}"));
    assert_eq!(created["summary"]["auth_type"], "bearer");

    // The export carries the log as it was then.
    let exported = export.body["result"]["structuredContent"]["audit"].as_array().unwrap();
    assert!(
        exported.iter().any(|e| e["kind"] == "tool_changes.rejected"),
        "{exported:?}"
    );

    // Nobody else sees it.
    assert!(audit_events(&app.user("bob")).await.is_empty());
    let junk = alice.get("/api/audit?before=not-a-cursor").await;
    assert_eq!(junk.status, 422);

    // No secret in the log, its log lines, the metrics or storage.
    let page = alice.get("/api/audit?limit=200").await.text;
    let logs = switchboard_tests::logs::captured();
    assert!(
        logs.contains(r#""event":"connector.created""#),
        "one structured line per event"
    );
    let stored = app.stored_text().await;
    for canary in [TOKEN, HEADER] {
        assert!(
            !page.contains(canary) && !export.text.contains(canary),
            "a secret in the audit log"
        );
        assert!(!logs.contains(canary), "a secret was logged");
        assert!(!stored.contains(canary), "a secret is stored in plaintext");
    }
}

/// A key rotation is recorded as the operator's, with no owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_is_an_operator_event() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let key = switchboard_core::vault::Vault::generate_key_entry("next").unwrap();
    let vault = switchboard_core::vault::Vault::from_spec(&key).unwrap();
    switchboard_core::rotation::rotate_all(&*app.state.store, &vault)
        .await
        .unwrap();
    let rows = app
        .query_strings("select actor || ' ' || kind || ' ' || coalesce(owner, '-') from audit_events")
        .await;
    assert_eq!(rows, ["operator keys.rotated -"]);
}
