//! Agent turns (`POST /api/agent/runs`) against a scripted OpenAI-compatible
//! server: a selected tool is the only one offered and is forced with
//! `tool_choice`, the call runs on the fixture MCP server through the tool
//! queue, its result goes back to the model; a model that will not use the
//! selected tool fails the turn with `SELECTED_TOOL_NOT_USED`.

use serde_json::{Value, json};
use switchboard_tests::fixtures::Fixture;
use switchboard_tests::fixtures::llm::{ScriptedModel, text, tool_call, use_model};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, Resp, TestApp, UserClient};

use crate::invocations::save_connector;

both_backends!(
    a_selected_tool_is_forced_called_and_fed_back,
    without_a_selection_the_whole_catalog_is_offered,
    a_model_that_will_not_use_the_selected_tool_fails_the_turn,
    without_a_model_the_route_says_so,
);

/// An app whose agent talks to `model`, with Alice's "Notes" connector.
async fn app_with_model(backend: Backend, model: &ScriptedModel) -> (TestApp, McpFixture, Fixture, Fixture) {
    let llm = model.spawn().await;
    let app = TestApp::builder(backend).configure(use_model(&llm.url)).spawn().await;
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;
    save_connector(&app.user("alice"), "Notes", &server.url).await;
    (app, fixture, server, llm)
}

/// Runs an agent turn and waits for it to finish.
pub async fn turn(user: &UserClient<'_>, body: Value) -> Resp {
    user.send_with(
        reqwest::Method::POST,
        "/api/agent/runs",
        Some(body),
        &[("prefer", "wait=30")],
    )
    .await
}

fn offered(request: &Value) -> Vec<&str> {
    request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect()
}

async fn a_selected_tool_is_forced_called_and_fed_back(backend: Backend) {
    let model = ScriptedModel::new([
        tool_call("call_1", "notes__tool_1", json!({"text": "from the model"})),
        text("The tool echoed your text."),
    ]);
    let (app, fixture, _server, _llm) = app_with_model(backend, &model).await;
    let alice = app.user("alice");
    let run = turn(
        &alice,
        json!({"messages": [{"role": "user", "content": "[TOOL:notes__tool_1] echo this"}]}),
    )
    .await;
    assert_eq!(run.body["status"], "succeeded", "{}", run.text);
    assert_eq!(run.body["kind"], "agent_turn");
    assert_eq!(run.body["result"]["message"], "The tool echoed your text.");
    let call = &run.body["result"]["tool_calls"][0];
    assert_eq!(
        (call["tool"].as_str(), call["outcome"].as_str()),
        (Some("notes__tool_1"), Some("ok")),
        "{call}"
    );
    assert_eq!(
        fixture.calls(),
        [("tool_1".to_owned(), json!({"text": "from the model"}))]
    );

    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first["model"], "test-model");
    assert_eq!(offered(first), ["notes__tool_1"], "only the selected tool");
    assert_eq!(
        first["tool_choice"],
        json!({"type": "function", "function": {"name": "notes__tool_1"}})
    );
    let user_text = first["messages"].as_array().unwrap().last().unwrap()["content"].clone();
    assert_eq!(user_text, "echo this", "the marker is stripped");
    let second = &requests[1];
    assert_eq!(second["tool_choice"], "auto", "forced on the first request only");
    let tool_message = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("the tool result went back to the model");
    assert_eq!(tool_message["tool_call_id"], "call_1");
    assert!(tool_message["content"].as_str().unwrap().contains("from the model"));

    let steps: Vec<&str> = run.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["model_1", "tool_1", "model_2", "answer"]);
    let events = switchboard_tests::runs::read_events(&alice, run.body["id"].as_str().unwrap(), None, 100).await;
    assert!(
        events.iter().any(|e| e.data.contains("The tool echoed your text.")),
        "the answer streams over SSE"
    );
}

async fn without_a_selection_the_whole_catalog_is_offered(backend: Backend) {
    let model = ScriptedModel::new([text("Hello!")]);
    let (app, fixture, _server, _llm) = app_with_model(backend, &model).await;
    let run = turn(
        &app.user("alice"),
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(run.body["status"], "succeeded", "{}", run.text);
    assert_eq!(run.body["result"]["message"], "Hello!");
    let first = &model.requests()[0];
    assert_eq!(offered(first), ["notes__tool_0", "notes__tool_1"]);
    assert_eq!(first["tool_choice"], "auto");
    assert!(fixture.calls().is_empty());
}

async fn a_model_that_will_not_use_the_selected_tool_fails_the_turn(backend: Backend) {
    let model = ScriptedModel::new([text("I'd rather not."), text("Still no.")]);
    let (app, fixture, _server, _llm) = app_with_model(backend, &model).await;
    let run = turn(
        &app.user("alice"),
        json!({"messages": [{"role": "user", "content": "echo"}], "selected_tools": ["notes__tool_0"]}),
    )
    .await;
    assert_eq!(run.body["status"], "failed", "{}", run.text);
    assert_eq!(run.body["error_code"], "SELECTED_TOOL_NOT_USED");
    let requests = model.requests();
    assert_eq!(requests.len(), 2, "forced once more before giving up");
    for request in &requests {
        assert_eq!(request["tool_choice"]["function"]["name"], "notes__tool_0");
    }
    assert!(fixture.calls().is_empty());

    let unknown = turn(
        &app.user("alice"),
        json!({"messages": [{"role": "user", "content": "x"}], "selected_tools": ["notes__nope"]}),
    )
    .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.locs(), ["body.selected_tools.0"]);
    let bob = turn(
        &app.user("bob"),
        json!({"messages": [{"role": "user", "content": "[TOOL:notes__tool_0] x"}]}),
    )
    .await;
    assert_eq!(bob.status, 422, "not in Bob's catalog: {}", bob.text);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("switchboard_selected_tool_not_used_total"),
        "{metrics}"
    );
}

async fn without_a_model_the_route_says_so(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice");
    let r = turn(&alice, json!({"messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!((r.status, r.code()), (503, "AGENT_NOT_CONFIGURED"), "{}", r.text);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SWITCHBOARD_LLM_BASE_URL")
    );
    assert_eq!(
        alice.get("/api/agent/tools").await.status,
        200,
        "everything else keeps working"
    );
}
