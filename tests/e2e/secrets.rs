//! A planted canary secret appears in no response, no log line and no
//! plaintext column, while the operations are still logged.

use serde_json::json;
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
    let alice = app.user("alice");
    let bearer = json!({
        "name": "Bearer", "server_url": "https://mcp.example.com/mcp", "auth_type": "bearer",
        "auth_config": {"token": TOKEN}, "headers": {"X-Api-Key": HEADER}
    });
    let oauth = json!({
        "name": "OAuth", "server_url": "https://oauth.example.com/mcp", "auth_type": "oauth",
        "auth_config": {"client_id": "public-client", "client_secret": CLIENT_SECRET, "access_token": ACCESS_TOKEN, "scopes": ["read"]}
    });
    let mut responses = Vec::new();
    let first = alice.post("/api/connectors", bearer.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/connectors/{id}");
    responses.push(first);
    responses.push(alice.post("/api/connectors", oauth).await);
    responses.push(alice.post("/api/connectors", bearer.clone()).await); // 409: name taken
    responses.push(alice.get("/api/connectors").await);
    responses.push(alice.get(&path).await);
    responses.push(alice.put(&path, json!({"name": "Bearer", "server_url": "https://mcp.example.com/v2", "auth_type": "bearer", "headers": {"X-Api-Key": null}})).await);
    responses.push(alice.put(&path, json!({"name": "Bearer", "server_url": "https://mcp.example.com", "auth_type": "bearer", "auth_config": TOKEN})).await);
    responses.push(alice.put(&path, json!({"name": "Bearer", "server_url": "https://mcp.example.com", "auth_type": "bearer", "enabled": HEADER})).await);
    responses.push(alice.post_empty(&format!("{path}/toggle")).await);
    responses.push(app.user("bob").get(&path).await);
    responses.push(alice.post_empty("/api/tools/export/connect").await);
    assert_eq!(responses[2].status, 409);
    assert_eq!(responses[6].status, 422);
    assert_eq!(responses[7].status, 422);
    for r in &responses {
        assert_clean("a response", &r.text);
        for (name, value) in &r.headers {
            assert_clean(&format!("response header {name}"), value.to_str().unwrap_or_default());
        }
    }

    let logs = logs::captured();
    assert!(
        logs.contains(r#""operation":"connector.create""#),
        "operations are logged: {logs}"
    );
    assert!(logs.contains(r#""operation":"connector.update""#));
    assert!(logs.contains(r#""operation":"tool.connect""#));
    assert!(logs.contains(&format!(r#""object_id":"{id}""#)));
    assert_clean("the log", &logs);

    // Stored only as ciphertext.
    for record in app
        .state
        .store
        .connectors(&switchboard_core::domain::UserId::parse("alice").unwrap())
        .await
        .unwrap()
    {
        let stored = format!("{record:?}");
        assert_clean("a stored row", &stored);
        for blob in [&record.credentials, &record.headers].into_iter().flatten() {
            assert_clean("a sealed column", &String::from_utf8_lossy(blob));
        }
    }
    if backend == Backend::Sqlite {
        for entry in std::fs::read_dir(app.data_dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("switchboard.db")
            {
                assert_clean(
                    &path.display().to_string(),
                    &String::from_utf8_lossy(&std::fs::read(&path).unwrap()),
                );
            }
        }
    }
}
