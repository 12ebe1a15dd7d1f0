//! The IDOR matrix, generated from the served OpenAPI document: every
//! operation with a path parameter is called by another user with the
//! owner's values, and must answer exactly what it answers for values that
//! name nothing, and change nothing. An operation with a path parameter this
//! file has no rule for fails the test, so a new route cannot skip it.

use reqwest::Method;
use serde_json::{Value, json};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp, UserClient};

use crate::invocations::save_connector;

both_backends!(another_users_ids_are_answered_like_unknown_ones);

/// Operations whose path parameter names something every user shares (a
/// system tool's id or function): there is no owner to protect.
const SHARED_BY_ALL: [&str; 3] = ["connect_tool", "disconnect_tool", "set_function_policy"];

/// The owner's value of a path parameter, and one that names nothing.
fn values(path: &str, param: &str, owned: &Owned) -> Option<(String, String)> {
    let unknown_id = uuid::Uuid::now_v7().to_string();
    match (path.split('/').nth(2), param) {
        (Some("connectors"), "id") => Some((owned.connector.clone(), unknown_id)),
        (Some("connectors"), "tool_name") => Some((owned.tool.clone(), "no_such_tool".into())),
        (Some("runs"), "id") => Some((owned.run.clone(), unknown_id)),
        (Some("approvals"), "id") => Some((owned.approval.clone(), unknown_id)),
        _ => None,
    }
}

/// A valid body for the operations that need one.
fn body(operation_id: &str, mcp_url: &str) -> Option<Value> {
    match operation_id {
        "update_connector" => Some(json!({"name": "Renamed", "server_url": mcp_url})),
        "switch_tool" => Some(json!({"enabled": false})),
        "set_default_policy" => Some(json!({"policy": "block"})),
        "decide_approval" => Some(json!({"decision": "approve"})),
        "decide_changes" => Some(json!({"decision": "approve", "review": ""})),
        _ => None,
    }
}

struct Owned {
    connector: String,
    tool: String,
    run: String,
    approval: String,
}

/// Everything the owner can read about their objects.
async fn snapshot(owner: &UserClient<'_>, owned: &Owned) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in [
        format!("/api/connectors/{}", owned.connector),
        format!("/api/runs/{}", owned.run),
        format!("/api/approvals/{}", owned.approval),
        "/api/approvals".to_owned(),
        format!("/api/connectors/{}/changes", owned.connector),
        "/api/audit".to_owned(),
        "/api/connectors".to_owned(),
        "/api/agent/tools".to_owned(),
    ] {
        seen.push(owner.get(&path).await.body);
    }
    seen
}

async fn another_users_ids_are_answered_like_unknown_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = McpFixture::with_tools(2, 10).spawn().await;
    let (alice, mallory) = (app.user("alice"), app.user("mallory"));
    let connector = save_connector(&alice, "Notes", &mcp.url).await;
    let view = alice.get(&format!("/api/connectors/{connector}")).await.body;
    let run = alice
        .send_with(
            Method::POST,
            "/api/connectors/test",
            Some(json!({"server_url": mcp.url})),
            &[("prefer", "wait=10")],
        )
        .await;
    assert_eq!(run.body["status"], "succeeded", "{}", run.text);
    let tool_1 = format!("/api/connectors/{connector}/tools/tool_1");
    assert_eq!(alice.put(&tool_1, json!({"policy": "ask"})).await.status, 200);
    let waiting = alice
        .post(
            "/api/agent/invocations",
            json!({"tool": "notes__tool_1", "arguments": {"text": "x"}}),
        )
        .await;
    assert_eq!(waiting.body["status"], "awaiting_approval", "{}", waiting.text);
    let owned = Owned {
        connector,
        tool: view["tools"][0]["name"].as_str().unwrap().to_owned(),
        run: run.body["id"].as_str().unwrap().to_owned(),
        approval: waiting.body["approval_id"].as_str().unwrap().to_owned(),
    };
    let before = snapshot(&alice, &owned).await;

    let doc = app.anonymous().get("/openapi.json").await.body;
    let (mut checked, mut uncovered) = (Vec::new(), Vec::new());
    for (path, item) in doc["paths"].as_object().unwrap() {
        let params: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        if params.is_empty() {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let id = op["operationId"].as_str().unwrap().to_owned();
            if SHARED_BY_ALL.contains(&id.as_str()) {
                continue;
            }
            let Some(pairs) = params
                .iter()
                .map(|p| values(path, p, &owned).map(|v| (*p, v)))
                .collect::<Option<Vec<_>>>()
            else {
                uncovered.push(id);
                continue;
            };
            let fill = |pick: fn(&(String, String)) -> &String| {
                pairs
                    .iter()
                    .fold(path.clone(), |p, (name, v)| p.replace(&format!("{{{name}}}"), pick(v)))
            };
            let (owners, unknown) = (fill(|v| &v.0), fill(|v| &v.1));
            let body = body(&id, &mcp.url);
            let foreign = mallory.send(method.clone(), &owners, body.clone()).await;
            let nothing = mallory.send(method.clone(), &unknown, body).await;
            assert_eq!(
                (foreign.status, &foreign.body),
                (nothing.status, &nothing.body),
                "{id}: another user's {owners} is answered unlike an unknown one"
            );
            assert_eq!(foreign.status, 404, "{id}: {}", foreign.text);
            checked.push(id);
        }
    }
    assert!(
        uncovered.is_empty(),
        "operations with path parameters and no IDOR rule: {uncovered:?}"
    );
    assert!(
        checked.len() >= 10,
        "the document lists the id-bearing operations: {checked:?}"
    );
    assert_eq!(snapshot(&alice, &owned).await, before, "nothing of Alice's changed");
}
