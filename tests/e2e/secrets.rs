//! A planted canary secret appears in no response, no log line, no plaintext
//! column, no run and no Redis key or value, while the operations are still
//! logged. The fixture server does receive it: that is where it belongs.

use serde_json::json;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp, logs};

both_backends!(canary_secrets_never_leave_the_vault);

const TOKEN: &str = "canary-bearer-7f3a9c2e51d04b8e";
const HEADER: &str = "canary-header-0c1d2e3f4a5b";
const CLIENT_SECRET: &str = "canary-client-secret-99aa";
const ACCESS_TOKEN: &str = "canary-access-token-77bb-long";
const CANARIES: [&str; 4] = [TOKEN, HEADER, CLIENT_SECRET, ACCESS_TOKEN];

fn assert_clean(what: &str, text: &str) {
    for canary in CANARIES {
        assert!(!text.contains(canary), "{what} contains a secret: {text}");
    }
}

async fn canary_secrets_never_leave_the_vault(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let guarded = McpFixture::with_tools(2, 10)
        .require_bearer(TOKEN)
        .require_header("X-Api-Key", HEADER)
        .spawn()
        .await;
    let open = McpFixture::with_tools(1, 10).spawn().await;
    let alice = app.user("alice");
    let bearer = json!({
        "name": "Bearer", "server_url": guarded.url, "auth_type": "bearer",
        "auth_config": {"token": TOKEN}, "headers": {"X-Api-Key": HEADER}
    });
    let oauth = json!({
        "name": "OAuth", "server_url": open.url, "auth_type": "oauth",
        "auth_config": {"client_id": "public-client", "client_secret": CLIENT_SECRET, "access_token": ACCESS_TOKEN, "scopes": ["read"]}
    });
    let wait = [("prefer", "wait=5")];
    let mut responses = Vec::new();
    let tested = alice
        .send_with(
            reqwest::Method::POST,
            "/api/connectors/test",
            Some(bearer.clone()),
            &wait,
        )
        .await;
    assert_eq!(tested.body["result"]["success"], true, "{}", tested.text);
    responses.push(tested);
    let first = alice.post("/api/connectors", bearer.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/connectors/{id}");
    responses.push(first);
    responses.push(alice.post("/api/connectors", oauth).await);
    responses.push(alice.post("/api/connectors", bearer.clone()).await); // 409: name taken
    responses.push(alice.get("/api/connectors").await);
    responses.push(alice.get(&path).await);
    let edit = json!({"name": "Bearer", "server_url": format!("{}?v=2", guarded.url), "auth_type": "bearer", "headers": {"X-Api-Key": null}});
    responses.push(
        alice
            .send_with(
                reqwest::Method::POST,
                &format!("{path}/test"),
                Some(edit.clone()),
                &wait,
            )
            .await,
    );
    responses.push(alice.put(&path, edit).await);
    responses.push(
        alice
            .put(
                &path,
                json!({"name": "Bearer", "server_url": guarded.url, "auth_type": "bearer", "auth_config": TOKEN}),
            )
            .await,
    );
    responses.push(
        alice
            .put(
                &path,
                json!({"name": "Bearer", "server_url": guarded.url, "auth_type": "bearer", "enabled": HEADER}),
            )
            .await,
    );
    responses.push(
        alice
            .send_with(reqwest::Method::POST, &format!("{path}/refresh"), None, &wait)
            .await,
    );
    responses.push(alice.post_empty(&format!("{path}/toggle")).await);
    responses.push(app.user("bob").get(&path).await);
    responses.push(alice.post_empty("/api/tools/export/connect").await);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 201, 201, 409, 200, 200, 200, 200, 422, 422, 200, 200, 404, 200],
        "{:?}",
        responses.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(
        responses[10].body["status"], "succeeded",
        "the stored secrets still work: {}",
        responses[10].text
    );
    for r in &responses {
        assert_clean("a response", &r.text);
        for (name, value) in &r.headers {
            assert_clean(&format!("response header {name}"), value.to_str().unwrap_or_default());
        }
    }
    // The events of a run carry no secret either.
    let run_id = responses[0].body["id"].as_str().unwrap();
    let events = alice.get(&format!("/api/runs/{run_id}/events")).await;
    assert!(events.text.contains("event: run"), "{}", events.text);
    assert_clean("an event stream", &events.text);

    let logs = logs::captured();
    assert!(
        logs.contains(r#""operation":"connector.create""#),
        "operations are logged: {logs}"
    );
    assert!(logs.contains(r#""operation":"connector.update""#));
    assert!(logs.contains(r#""operation":"connector.test""#));
    assert!(logs.contains(r#""operation":"tool.connect""#));
    assert!(logs.contains(&format!(r#""object_id":"{id}""#)));
    assert_clean("the log", &logs);

    // Stored only as ciphertext, and runs drop their sealed input when they end.
    let alice_id = switchboard_core::domain::UserId::parse("alice").unwrap();
    for listed in app.state.store.connectors(&alice_id).await.unwrap() {
        let record = app.state.store.connector(&alice_id, listed.id).await.unwrap();
        assert!(record.credentials.is_some() || record.auth_type == "none");
        assert_clean("a stored row", &format!("{record:?}"));
        for blob in [&record.credentials, &record.headers].into_iter().flatten() {
            assert_clean("a sealed column", &String::from_utf8_lossy(blob));
        }
    }
    let run = app.state.store.run(&alice_id, run_id.parse().unwrap()).await.unwrap();
    assert!(run.sealed_input.is_none(), "a finished run keeps no credentials");
    match backend {
        Backend::Sqlite => {
            for entry in std::fs::read_dir(app.data_dir.path()).unwrap() {
                let path = entry.unwrap().path();
                if path.file_name().unwrap().to_string_lossy().ends_with(".db")
                    || path.to_string_lossy().contains(".db-")
                {
                    assert_clean(
                        &path.display().to_string(),
                        &String::from_utf8_lossy(&std::fs::read(&path).unwrap()),
                    );
                }
            }
        }
        Backend::Postgres => {
            let dump = switchboard_tests::redis::dump(&app.redis.as_ref().unwrap().prefix).await;
            assert!(!dump.is_empty(), "the queues and event logs are in Redis");
            assert_clean("Redis", &dump);
        }
    }
}
