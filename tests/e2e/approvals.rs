//! Allow, ask or block per tool, and approvals: an `ask` call never reaches
//! its server before the owner approves it — through
//! `POST /api/agent/invocations` (its run waits, with no job), an agent turn
//! (parked, resumed by the decision; a denial reaches the model), the MCP
//! gateway (elicitation with the official Python SDK in its default mode and
//! in legacy mode, or a tool error naming the approval and a single-use
//! grant) and the proxy. Denied calls fail `APPROVAL_DENIED`, unanswered ones
//! `APPROVAL_TIMEOUT`; another user's approval answers 404; arguments stay
//! out of events, logs and queues; waiting approvals hold no worker and do
//! not delay anyone's calls; the runs list pages the user's own runs; and
//! the migration leaves every tool saved before it allowed.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::fixtures::Fixture;
use switchboard_tests::fixtures::llm::{ScriptedModel, text, tool_call, use_model};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, Resp, TestApp, UserClient, logs};

use crate::gateway::{Sdk, rpc, run_sdk};

both_backends!(
    an_ask_call_waits_for_its_owner_and_runs_once_approved,
    denied_and_expired_calls_fail_and_are_never_sent,
    always_and_the_policy_routes_set_what_agents_may_do,
    an_agent_turn_parks_on_an_ask_tool_and_resumes_with_the_decision,
    arguments_of_waiting_calls_stay_out_of_events_logs_and_queues,
    waiting_approvals_hold_no_worker_and_delay_nobody,
    the_runs_list_pages_the_users_own_runs,
    tools_saved_before_policies_keep_running_without_approval,
);

/// Saves `url` as "Notes" with the default policy (`auto`): `notes__tool_0`
/// is read-only (allowed), `notes__tool_1` is not (asks).
async fn save_asking(user: &UserClient<'_>, url: &str) -> String {
    let created = user
        .post("/api/connectors", json!({"name": "Notes", "server_url": url}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["tool_policy"], "auto");
    assert_eq!(
        created.body["tool_policies"],
        json!({"tool_0": "allow", "tool_1": "ask"}),
        "auto: read-only tools run, the rest ask"
    );
    created.body["id"].as_str().unwrap().to_owned()
}

/// Two tools: `tool_0` read-only, `tool_1` neither read-only nor idempotent.
async fn app_asking(backend: Backend) -> (TestApp, McpFixture, Fixture, String) {
    app_asking_with(backend, |_| {}).await
}

async fn app_asking_with(
    backend: Backend,
    configure: impl FnOnce(&mut switchboard_core::config::Settings) + Send + 'static,
) -> (TestApp, McpFixture, Fixture, String) {
    let app = TestApp::builder(backend).configure(configure).spawn().await;
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;
    let id = save_asking(&app.user("alice"), &server.url).await;
    (app, fixture, server, id)
}

async fn call(user: &UserClient<'_>, tool: &str, arguments: Value, wait: &str) -> Resp {
    user.send_with(
        reqwest::Method::POST,
        "/api/agent/invocations",
        Some(json!({"tool": tool, "arguments": arguments})),
        &[("prefer", wait)],
    )
    .await
}

async fn decide(user: &UserClient<'_>, approval: &str, decision: &str) -> Resp {
    user.post(&format!("/api/approvals/{approval}"), json!({"decision": decision}))
        .await
}

/// Polls the run until `check` holds (or fails after 15 s).
async fn run_until(user: &UserClient<'_>, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let run = user.get(&format!("/api/runs/{id}")).await.body;
        if check(&run) {
            return run;
        }
        assert!(tokio::time::Instant::now() < deadline, "run never got there: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn an_ask_call_waits_for_its_owner_and_runs_once_approved(backend: Backend) {
    let (app, fixture, _server, connector) = app_asking(backend).await;
    let (alice, bob) = (app.user("alice"), app.user("bob"));

    // A read-only tool runs at once.
    let read = call(&alice, "notes__tool_0", json!({"text": "r"}), "wait=15").await;
    assert_eq!(read.body["status"], "succeeded", "{}", read.text);

    let waiting = call(&alice, "notes__tool_1", json!({"text": "send it"}), "wait=1").await;
    assert_eq!(waiting.status, 202, "{}", waiting.text);
    assert_eq!(waiting.body["status"], "awaiting_approval");
    let run_id = waiting.body["id"].as_str().unwrap().to_owned();
    let approval = waiting.body["approval_id"].as_str().unwrap().to_owned();
    assert_eq!(waiting.body["tool"], "notes__tool_1");
    assert_eq!(fixture.calls().len(), 1, "only the read-only call reached the server");

    let pending = alice.get("/api/approvals?state=pending").await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    let listed = &pending.body["approvals"][0];
    assert_eq!(listed["id"], approval.as_str());
    assert_eq!(listed["run_id"], run_id.as_str());
    assert_eq!(listed["connector_id"], connector.as_str());
    assert_eq!(listed["origin"], "invocation");
    assert!(listed.get("arguments").is_none(), "lists carry no arguments: {listed}");
    let one = alice.get(&format!("/api/approvals/{approval}")).await;
    assert_eq!(one.body["arguments"], json!({"text": "send it"}), "{}", one.text);
    assert_eq!(one.body["state"], "pending");

    // Another user: 404 for reading and deciding, and nothing moves.
    assert_eq!(bob.get(&format!("/api/approvals/{approval}")).await.status, 404);
    assert_eq!(decide(&bob, &approval, "approve").await.status, 404);
    assert_eq!(bob.get("/api/approvals").await.body["approvals"], json!([]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fixture.calls().len(), 1, "nothing is sent before the owner decides");

    let decided = decide(&alice, &approval, "approve").await;
    assert_eq!(decided.status, 200, "{}", decided.text);
    assert_eq!(decided.body["state"], "approved");
    assert_eq!(decided.body["how"], "api");
    let done = run_until(&alice, &run_id, |r| r["status"] == "succeeded").await;
    assert_eq!(done["result"]["structuredContent"]["arguments"]["text"], "send it");
    assert_eq!(fixture.calls().len(), 2);
    assert_eq!(fixture.calls()[1], ("tool_1".to_owned(), json!({"text": "send it"})));

    let again = decide(&alice, &approval, "deny").await;
    assert_eq!(
        (again.status, again.code()),
        (409, "APPROVAL_SETTLED"),
        "{}",
        again.text
    );
    let unknown = decide(&alice, &uuid::Uuid::now_v7().to_string(), "approve").await;
    assert_eq!(unknown.status, 404);
    let bad = decide(&alice, &approval, "maybe").await;
    assert_eq!(bad.status, 422, "{}", bad.text);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"switchboard_approvals_total{outcome="approved",origin="invocation"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"switchboard_approval_decision_seconds_bucket{outcome="approved",le="5"} 1"#),
        "time to a decision, in a person's scale: {metrics}"
    );
}

async fn denied_and_expired_calls_fail_and_are_never_sent(backend: Backend) {
    let (app, fixture, _server, _) =
        app_asking_with(backend, |s| s.limits.approval_timeout = Duration::from_secs(1)).await;
    let alice = app.user("alice");

    // A waiter with `Prefer: wait` sees the denial.
    let first = call(&alice, "notes__tool_1", json!({"text": "no"}), "wait=0").await;
    let approval = first.body["approval_id"].as_str().unwrap().to_owned();
    let waiter = call(&alice, "notes__tool_1", json!({"text": "later"}), "wait=20");
    let deny = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        decide(&alice, &approval, "deny").await
    };
    let (waited, denied) = tokio::join!(waiter, deny);
    assert_eq!(denied.body["state"], "denied", "{}", denied.text);
    let run = run_until(&alice, first.body["id"].as_str().unwrap(), |r| r["status"] == "failed").await;
    assert_eq!(run["error_code"], "APPROVAL_DENIED", "{run}");

    // The second call nobody decided: it expires.
    assert_eq!(waited.status, 200, "waited until it ended: {}", waited.text);
    assert_eq!(waited.body["error_code"], "APPROVAL_TIMEOUT", "{}", waited.text);
    let expired = alice
        .get(&format!(
            "/api/approvals/{}",
            waited.body["approval_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (expired.body["state"].as_str(), expired.body["how"].as_str()),
        (Some("expired"), Some("timeout"))
    );
    assert!(
        expired.body.get("arguments").is_none(),
        "a settled approval keeps no arguments"
    );
    let late = decide(&alice, waited.body["approval_id"].as_str().unwrap(), "approve").await;
    assert_eq!((late.status, late.code()), (409, "APPROVAL_SETTLED"));
    assert!(fixture.calls().is_empty(), "no call was sent: {:?}", fixture.calls());
}

async fn always_and_the_policy_routes_set_what_agents_may_do(backend: Backend) {
    let (app, fixture, _server, connector) = app_asking(backend).await;
    let alice = app.user("alice");
    let waiting = call(&alice, "notes__tool_1", json!({"text": "a"}), "wait=0").await;
    let approval = waiting.body["approval_id"].as_str().unwrap();
    assert_eq!(decide(&alice, approval, "always").await.body["how"], "always");
    run_until(&alice, waiting.body["id"].as_str().unwrap(), |r| {
        r["status"] == "succeeded"
    })
    .await;
    let next = call(&alice, "notes__tool_1", json!({"text": "b"}), "wait=15").await;
    assert_eq!(next.body["status"], "succeeded", "allowed from now on: {}", next.text);
    assert_eq!(fixture.calls().len(), 2);

    let path = format!("/api/connectors/{connector}");
    let view = alice.get(&path).await.body;
    assert_eq!(view["tool_policies"]["tool_1"], "allow");
    assert_eq!(view["own_policies"], json!(["tool_1"]));

    // A tool's own policy, by name; `enabled` still works.
    let asked = alice
        .put(&format!("{path}/tools/tool_0"), json!({"policy": "ask"}))
        .await;
    assert_eq!(asked.body["tool_policies"]["tool_0"], "ask", "{}", asked.text);
    let off = alice
        .put(&format!("{path}/tools/tool_0"), json!({"enabled": false}))
        .await;
    assert_eq!(off.body["disabled_tools"], json!(["tool_0"]));
    let tools = alice.get("/api/agent/tools").await.text;
    assert!(
        !tools.contains("notes__tool_0") && tools.contains("notes__tool_1"),
        "{tools}"
    );
    let blocked = call(&alice, "notes__tool_0", json!({"text": "x"}), "wait=5").await;
    assert_eq!((blocked.status, blocked.code()), (404, "TOOL_NOT_FOUND"));
    let both = alice
        .put(
            &format!("{path}/tools/tool_0"),
            json!({"policy": "allow", "enabled": true}),
        )
        .await;
    assert_eq!(both.status, 422, "{}", both.text);
    let unknown = alice
        .put(&format!("{path}/tools/tool_0"), json!({"policy": "sometimes"}))
        .await;
    assert_eq!(unknown.status, 422);

    // The connector's default governs tools without their own policy.
    alice
        .put(&format!("{path}/tools/tool_0"), json!({"policy": "allow"}))
        .await;
    let default = alice
        .put(&format!("{path}/tool-policy"), json!({"policy": "block"}))
        .await;
    assert_eq!(default.body["tool_policy"], "block", "{}", default.text);
    assert_eq!(
        default.body["tool_policies"],
        json!({"tool_0": "allow", "tool_1": "allow"})
    );
    let bob = app.user("bob");
    assert_eq!(
        bob.put(&format!("{path}/tool-policy"), json!({"policy": "allow"}))
            .await
            .status,
        404
    );
    assert_eq!(
        bob.put(&format!("{path}/tools/tool_0"), json!({"policy": "allow"}))
            .await
            .status,
        404
    );

    // System tools: one route per function.
    alice.post_empty("/api/tools/export/connect").await;
    let set = alice
        .put("/api/tools/export/functions/export_data", json!({"policy": "ask"}))
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["functions"][0]["policy"], "ask");
    let export = call(&alice, "export__export_data", json!({}), "wait=1").await;
    assert_eq!(export.body["status"], "awaiting_approval", "{}", export.text);
    let missing = alice
        .put("/api/tools/export/functions/nope", json!({"policy": "ask"}))
        .await;
    assert_eq!(missing.status, 404);
}

async fn an_agent_turn_parks_on_an_ask_tool_and_resumes_with_the_decision(backend: Backend) {
    let model = ScriptedModel::new([
        tool_call("call_1", "notes__tool_1", json!({"text": "approved one"})),
        text("Sent."),
        tool_call("call_2", "notes__tool_1", json!({"text": "denied one"})),
        text("You did not approve it, so I did not send it."),
    ]);
    let llm = model.spawn().await;
    let (app, fixture, _server, _) = app_asking_with(backend, use_model(&llm.url)).await;
    let alice = app.user("alice");
    let mut turns = Vec::new();
    for (message, decision) in [("send", "approve"), ("send again", "deny")] {
        let started = alice
            .post(
                "/api/agent/runs",
                json!({"messages": [{"role": "user", "content": message}]}),
            )
            .await;
        assert_eq!(started.status, 202, "{}", started.text);
        let id = started.body["id"].as_str().unwrap().to_owned();
        let parked = run_until(&alice, &id, |r| r["status"] == "awaiting_approval").await;
        let approval = parked["approval_id"]
            .as_str()
            .expect("the parked turn names its approval")
            .to_owned();
        let listed = alice.get(&format!("/api/approvals/{approval}")).await.body;
        assert_eq!(
            (listed["origin"].as_str(), listed["turn_id"].as_str()),
            (Some("agent"), Some(id.as_str()))
        );
        assert_eq!(
            model.requests().len(),
            turns.len() * 2 + 1,
            "a parked turn asks the model nothing more"
        );
        assert_eq!(decide(&alice, &approval, decision).await.status, 200);
        turns.push(run_until(&alice, &id, |r| r["status"] == "succeeded" || r["status"] == "failed").await);
    }
    assert_eq!(turns[0]["status"], "succeeded", "{}", turns[0]);
    assert_eq!(turns[0]["result"]["message"], "Sent.");
    assert_eq!(turns[0]["result"]["tool_calls"][0]["outcome"], "ok");
    assert_eq!(turns[1]["status"], "succeeded", "{}", turns[1]);
    assert_eq!(turns[1]["result"]["tool_calls"][0]["outcome"], "APPROVAL_DENIED");
    let requests = model.requests();
    let fed_back = |request: &Value| request["messages"].as_array().unwrap().last().unwrap()["content"].clone();
    assert!(
        fed_back(&requests[1]).as_str().unwrap().contains("approved one"),
        "{}",
        requests[1]
    );
    assert_eq!(
        fed_back(&requests[3]),
        "the user did not approve this call, so it was not made",
        "the denial reaches the model as the tool's result"
    );
    assert_eq!(
        fixture.calls(),
        [("tool_1".to_owned(), json!({"text": "approved one"}))]
    );
}

async fn arguments_of_waiting_calls_stay_out_of_events_logs_and_queues(backend: Backend) {
    const CANARY: &str = "canary-approval-3b1f07d2";
    let (app, fixture, _server, _) = app_asking(backend).await;
    let alice = app.user("alice");
    let waiting = call(&alice, "notes__tool_1", json!({"text": CANARY}), "wait=0").await;
    assert!(!waiting.text.contains(CANARY), "{}", waiting.text);
    let id = waiting.body["id"].as_str().unwrap();
    let mut events = switchboard_tests::runs::read_events(&alice, id, None, 1).await;
    events.extend(switchboard_tests::runs::read_events(&alice, id, Some(0), 1).await);
    let shown = format!("{events:?}");
    assert!(shown.contains("awaiting_approval"), "the events name the wait: {shown}");
    assert!(shown.contains(waiting.body["approval_id"].as_str().unwrap()), "{shown}");
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(!alice.get("/api/approvals").await.text.contains(CANARY));
    assert!(!alice.get("/api/runs").await.text.contains(CANARY));
    assert!(!logs::captured().contains(CANARY), "the log holds an argument");
    assert!(
        !app.stored_text().await.contains(CANARY),
        "a queue or database file holds an argument"
    );
    assert!(!app.metrics().await.contains(CANARY));
    assert!(fixture.calls().is_empty());
}

async fn waiting_approvals_hold_no_worker_and_delay_nobody(backend: Backend) {
    let (app, fixture, server, _) = app_asking_with(backend, |s| {
        s.limits.running_calls = 2;
        s.limits.backlog = 20;
    })
    .await;
    let alice = app.user("alice");
    for i in 0..20 {
        let waiting = call(&alice, "notes__tool_1", json!({"text": format!("{i}")}), "wait=0").await;
        assert_eq!(waiting.body["status"], "awaiting_approval", "{}", waiting.text);
    }
    let over = call(&alice, "notes__tool_1", json!({"text": "21"}), "wait=0").await;
    assert_eq!((over.status, over.code()), (429, "TOO_MANY_APPROVALS"), "{}", over.text);

    // Twenty waiting calls take none of Alice's two running slots, nor anyone else's.
    let read = call(&alice, "notes__tool_0", json!({"text": "r"}), "wait=15").await;
    assert_eq!(read.body["status"], "succeeded", "{}", read.text);
    let bob = app.user("bob");
    let created = bob
        .post(
            "/api/connectors",
            json!({"name": "Notes", "server_url": server.url, "tool_policy": "allow"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let bobs = call(&bob, "notes__tool_1", json!({"text": "bob"}), "wait=15").await;
    assert_eq!(bobs.body["status"], "succeeded", "{}", bobs.text);
    assert_eq!(fixture.calls().len(), 2);
}

async fn the_runs_list_pages_the_users_own_runs(backend: Backend) {
    let (app, _fixture, _server, connector) = app_asking(backend).await;
    let alice = app.user("alice");
    let mut ids = Vec::new();
    for i in 0..3 {
        let done = call(&alice, "notes__tool_0", json!({"text": format!("{i}")}), "wait=15").await;
        ids.push(done.body["id"].as_str().unwrap().to_owned());
    }
    let waiting = call(&alice, "notes__tool_1", json!({"text": "w"}), "wait=0").await;
    let all = alice.get("/api/runs").await;
    assert_eq!(all.status, 200, "{}", all.text);
    let kinds: Vec<&str> = all.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "invoke_tool",
            "invoke_tool",
            "invoke_tool",
            "invoke_tool",
            "connection_test"
        ]
    );
    assert_eq!(all.body["runs"][0]["id"], waiting.body["id"], "newest first");
    assert!(
        all.body["runs"][1].get("result").is_none_or(Value::is_null),
        "lists carry no results"
    );

    let page = alice.get("/api/runs?kind=invoke_tool&state=succeeded&limit=2").await;
    let first: Vec<&str> = page.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(first, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = alice
        .get(&format!(
            "/api/runs?kind=invoke_tool&state=succeeded&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest.body["runs"][0]["id"], ids[0].as_str());
    assert!(rest.body["next_cursor"].is_null());
    let waiting_only = alice.get("/api/runs?state=awaiting_approval").await;
    assert_eq!(waiting_only.body["runs"].as_array().unwrap().len(), 1);
    let of_connector = alice.get(&format!("/api/runs?connector_id={connector}")).await;
    assert_eq!(
        of_connector.body["runs"].as_array().unwrap().len(),
        4,
        "{}",
        of_connector.text
    );
    assert_eq!(app.user("bob").get("/api/runs").await.body["runs"], json!([]));
    for bad in ["kind=nope", "state=done", "connector_id=x", "cursor=x", "limit=0"] {
        assert_eq!(alice.get(&format!("/api/runs?{bad}")).await.status, 422, "{bad}");
    }
}

async fn tools_saved_before_policies_keep_running_without_approval(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixture = McpFixture::with_tools(2, 10);
    let server = fixture.clone().spawn().await;
    let alice = app.user("alice");
    let id = save_asking(&alice, &server.url).await;
    // As the migration leaves a connector saved before it: default `allow`.
    app.execute_sql(&format!(
        "update connectors set tool_policy = 'allow' where server_url = '{}'",
        server.url
    ))
    .await;
    let run = call(&alice, "notes__tool_1", json!({"text": "old"}), "wait=15").await;
    assert_eq!(run.body["status"], "succeeded", "{}", run.text);
    assert_eq!(
        alice.get(&format!("/api/connectors/{id}")).await.body["tool_policy"],
        "allow"
    );
    // The migration itself: every connector and connected system tool to
    // `allow`, switched-off tools to `block` (tests/src/migrations.rs).
    switchboard_tests::migrations::policies_migrate_to_allow(backend).await;
}

/// Through the MCP gateway with the official Python SDK: in its default mode
/// (2026-07-28, where asking is an `input_required` answer) and in legacy
/// mode (asked mid-call), approving and denying there; and a client without
/// elicitation, which gets a tool error naming the approval: approved in the
/// API, the same call runs once — a grant is single-use.
#[tokio::test]
async fn through_the_gateway_elicitation_asks_and_otherwise_a_grant_waits() {
    let (app, fixture, _server, _) = app_asking(Backend::Sqlite).await;
    let token = app.token("alice");
    let gateway = |elicit: Option<&'static str>, text: &'static str| {
        let mut env = vec![("GATEWAY_CALL", "notes__tool_1")];
        env.push(("GATEWAY_ARGS", text));
        if let Some(answer) = elicit {
            env.push(("GATEWAY_ELICIT", answer));
        }
        env
    };
    for sdk in [Sdk::Python, Sdk::PythonLegacy] {
        let (ok, lines) = run_sdk(sdk, &app, Some(&token), &gateway(Some("approve"), r#"{"text": "yes"}"#)).await;
        assert!(ok, "{sdk:?}: {lines:?}");
        let result = &lines[0]["result"];
        assert_eq!(result["isError"], false, "{sdk:?}: {result}");
        let asked = lines[0]["asked"][0].as_str().unwrap();
        assert!(asked.contains("notes__tool_1") && asked.contains("yes"), "{asked}");
        let (_, lines) = run_sdk(sdk, &app, Some(&token), &gateway(Some("deny"), r#"{"text": "no"}"#)).await;
        let result = &lines[0]["result"];
        assert_eq!(result["isError"], true, "{sdk:?}: {result}");
        assert!(result.to_string().contains("APPROVAL_DENIED"), "{result}");
    }
    assert_eq!(
        fixture.calls().len(),
        2,
        "the approved calls ran, the denied ones did not"
    );

    let (_, lines) = run_sdk(Sdk::Python, &app, Some(&token), &gateway(None, r#"{"text": "later"}"#)).await;
    let refusal = lines[0]["result"]["content"][0]["text"].as_str().unwrap().to_owned();
    assert!(refusal.starts_with("APPROVAL_REQUIRED"), "{refusal}");
    let pending = app.user("alice").get("/api/approvals?state=pending").await.body;
    let approval = pending["approvals"][0]["id"].as_str().unwrap();
    assert!(refusal.contains(approval), "the error names the approval: {refusal}");
    assert_eq!(pending["approvals"][0]["origin"], "gateway");
    assert_eq!(fixture.calls().len(), 2, "nothing runs that nobody awaits");
    assert_eq!(decide(&app.user("alice"), approval, "approve").await.status, 200);
    let (_, lines) = run_sdk(Sdk::Python, &app, Some(&token), &gateway(None, r#"{"text": "later"}"#)).await;
    assert_eq!(lines[0]["result"]["isError"], false, "{lines:?}");
    assert_eq!(fixture.calls().len(), 3);
    let (_, lines) = run_sdk(Sdk::Python, &app, Some(&token), &gateway(None, r#"{"text": "later"}"#)).await;
    assert_eq!(lines[0]["result"]["isError"], true, "a grant is used once: {lines:?}");
    assert_eq!(fixture.calls().len(), 3);
}

/// The proxy (`/mcp/connectors/{id}`) keeps the same rule under the server's own names.
#[tokio::test]
async fn through_the_proxy_an_ask_tool_waits_for_approval_too() {
    let (app, fixture, _server, connector) = app_asking(Backend::Sqlite).await;
    let token = app.token("alice");
    let url = app.url(&format!("/mcp/connectors/{connector}"));
    let run = |elicit: Option<&'static str>| {
        let mut command = switchboard_tests::scripts::python_sdk("client.py");
        command
            .env("GATEWAY_URL", &url)
            .env("GATEWAY_TOKEN", &token)
            .env("GATEWAY_MODE", "legacy")
            .env("GATEWAY_CALL", "tool_1")
            .env("GATEWAY_ARGS", r#"{"text": "proxied"}"#);
        if let Some(answer) = elicit {
            command.env("GATEWAY_ELICIT", answer);
        }
        switchboard_tests::scripts::json_lines(switchboard_tests::scripts::spawn(command))
    };
    let (_, lines) = run(None).await;
    let refusal = lines[0]["result"]["content"][0]["text"].to_string();
    assert!(refusal.contains("APPROVAL_REQUIRED"), "{lines:?}");
    assert!(fixture.calls().is_empty());
    let (ok, lines) = run(Some("approve")).await;
    assert!(ok, "{lines:?}");
    assert_eq!(lines[0]["result"]["isError"], false, "{lines:?}");
    assert_eq!(fixture.calls().len(), 1);
    let origins = app.user("alice").get("/api/approvals").await.body;
    assert!(origins.to_string().contains(r#""origin":"proxy""#), "{origins}");
}

/// A 2026-07-28 client answers only the question it was asked: an answer
/// naming another approval (one waiting in the UI for a run) is ignored and
/// the client is asked anew; the right answer runs the call once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_answers_only_its_own_question() {
    let (app, fixture, _server, _) = app_asking(Backend::Sqlite).await;
    let alice = app.user("alice");
    let waiting = call(&alice, "notes__tool_1", json!({"text": "x"}), "wait=0").await;
    let theirs = waiting.body["approval_id"].as_str().unwrap().to_owned();
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "notes__tool_1"),
    ];
    let approve = json!({"switchboard_approval": {"action": "accept", "content": {"decision": "approve"}}});
    let request = |state: &str| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "_meta": meta, "name": "notes__tool_1", "arguments": {"text": "x"},
            "inputResponses": approve, "requestState": state}})
    };

    let (_, forged, _) = rpc(&app, &headers, request(&theirs)).await;
    assert_eq!(forged["result"]["resultType"], "input_required", "{forged}");
    let question = &forged["result"]["inputRequests"]["switchboard_approval"];
    assert_eq!(question["method"], "elicitation/create", "{forged}");
    assert!(
        question["params"]["message"]
            .as_str()
            .unwrap()
            .contains(r#"{"text":"x"}"#),
        "{question}"
    );
    let untouched = alice.get(&format!("/api/approvals/{theirs}")).await.body;
    assert_eq!(
        untouched["state"], "pending",
        "a run's approval is decided in the UI only"
    );
    assert!(fixture.calls().is_empty());

    let ours = forged["result"]["requestState"].as_str().unwrap().to_owned();
    assert_ne!(ours, theirs);
    let (_, answered, _) = rpc(&app, &headers, request(&ours)).await;
    assert_eq!(answered["result"]["resultType"], "complete", "{answered}");
    assert_eq!(answered["result"]["isError"], false, "{answered}");
    assert_eq!(fixture.calls().len(), 1);
    let (_, replayed, _) = rpc(&app, &headers, request(&ours)).await;
    assert_eq!(replayed["result"]["isError"], true, "an answer works once: {replayed}");
    assert_eq!(fixture.calls().len(), 1);
}

/// Through the proxy in 2026-07-28 (the Python SDK's default mode): approved
/// in the API, the call runs even when the server asks its own question
/// (`input_required`): the client's next round is the same approved call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_proxy_the_servers_own_questions_follow_an_approval() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let server = switchboard_tests::fixtures::everything::Everything.spawn().await;
    let alice = app.user("alice");
    let created = alice
        .post(
            "/api/connectors",
            json!({"name": "Everything", "server_url": server.url}),
        )
        .await;
    assert_eq!(
        created.body["tool_policies"]["test_elicitation"], "ask",
        "{}",
        created.text
    );
    let id = created.body["id"].as_str().unwrap();
    let url = app.url(&format!("/mcp/connectors/{id}"));
    let token = app.token("alice");
    let run = || {
        let mut command = switchboard_tests::scripts::python_sdk("client.py");
        command
            .env("GATEWAY_URL", &url)
            .env("GATEWAY_TOKEN", &token)
            .env("GATEWAY_CALL", "test_elicitation")
            .env("GATEWAY_ARGS", r#"{"message": "Who are you?"}"#)
            .env("GATEWAY_ELICIT", "approve");
        switchboard_tests::scripts::json_lines(switchboard_tests::scripts::spawn(command))
    };
    let (_, lines) = run().await;
    assert_eq!(lines[0]["protocol"], "2026-07-28", "{lines:?}");
    let refusal = lines[0]["result"]["content"][0]["text"].to_string();
    assert!(refusal.contains("APPROVAL_REQUIRED"), "decided in the UI: {lines:?}");
    let pending = alice.get("/api/approvals?state=pending").await.body;
    let approval = pending["approvals"][0]["id"].as_str().unwrap();
    assert_eq!(decide(&alice, approval, "approve").await.status, 200);

    let (ok, lines) = run().await;
    assert!(ok, "{lines:?}");
    assert_eq!(lines[0]["result"]["isError"], false, "{lines:?}");
    assert_eq!(
        lines[0]["asked"][0], "Who are you?",
        "the server's question reached the client"
    );
    let (_, lines) = run().await;
    assert!(
        lines[0]["result"].to_string().contains("APPROVAL_REQUIRED"),
        "the grant was used: {lines:?}"
    );
}
