//! Connector CRUD, the per-user limit and secret handling on update. Every
//! create and every change of URL or credentials is verified against a real
//! fixture server first (test before save; see `connection_tests.rs`).

use serde_json::{Value, json};
use switchboard_core::connector_secrets;
use switchboard_core::domain::{Credentials, UserId};
use switchboard_tests::fixtures::Fixture;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::{Backend, TestApp};
use uuid::Uuid;

/// A healthy fixture server with three tools.
pub async fn server() -> Fixture {
    McpFixture::with_tools(3, 10).spawn().await
}

/// A create body for `url` with a bearer token and a custom header.
pub fn body(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "description": "Team notes",
        "server_url": url,
        "auth_type": "bearer",
        "auth_config": {"token": "tok-0123456789-abcdef-WXYZ"},
        "headers": {"X-Tenant": "acme"}
    })
}

async fn stored_credentials(app: &TestApp, user: &str, id: &str) -> Credentials {
    let owner = UserId::parse(user).unwrap();
    let record = app
        .state
        .store
        .connector(&owner, Uuid::parse_str(id).unwrap())
        .await
        .unwrap();
    connector_secrets::open_credentials(&app.state.vault, &record).unwrap()
}

both_backends!(
    create_get_list_update_toggle_delete,
    update_keeps_omitted_secrets_unless_the_host_changes,
    names_are_unique_per_user_case_insensitively,
    look_alike_names_collide_and_saved_ones_are_rekeyed_once,
    the_limit_holds_under_concurrent_creates,
);

async fn create_get_list_update_toggle_delete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = server().await;
    let alice = app.user("alice");

    let created = alice.post("/api/connectors", body("Notes", &mcp.url)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/connectors/{id}").as_str())
    );
    let c = &created.body;
    assert_eq!(c["name"], "Notes");
    assert_eq!(c["auth_type"], "bearer");
    assert_eq!(c["auth"], json!({"configured": true, "hint": "••••WXYZ"}));
    assert_eq!(c["headers"], json!(["X-Tenant"]));
    assert_eq!(c["status"], "active");
    assert_eq!(c["enabled"], true);
    let tools: Vec<&str> = c["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["tool_0", "tool_1", "tool_2"], "the verified tools are kept");
    assert_eq!(c["tool_count"], 3);
    assert!(c["tools_discovered_at"].is_string());

    let fetched = alice.get(&format!("/api/connectors/{id}")).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, created.body);

    let second = alice
        .post("/api/connectors", json!({"name": "Second", "server_url": mcp.url}))
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let list = alice.get("/api/connectors").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["limit"], 10);
    let names: Vec<&str> = list.body["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Notes", "Second"], "oldest first");

    // Name and description only: no re-verification needed.
    let mut edited = body("Notes renamed", &mcp.url);
    edited["description"] = json!("new description");
    edited["auth_config"] = json!({});
    let posts_before = mcp.hits.posts();
    let updated = alice.put(&format!("/api/connectors/{id}"), edited).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["name"], "Notes renamed");
    assert_eq!(updated.body["description"], "new description");
    assert_eq!(updated.body["created_at"], created.body["created_at"]);
    assert_ne!(updated.body["updated_at"], created.body["updated_at"]);
    assert_eq!(
        mcp.hits.posts(),
        posts_before,
        "an edit that keeps the connection is not re-tested"
    );

    let off = alice
        .post(&format!("/api/connectors/{id}/toggle"), json!({"enabled": false}))
        .await;
    assert_eq!(
        (off.status, off.body["enabled"].clone(), off.body["status"].clone()),
        (200, json!(false), json!("disabled"))
    );
    let flipped = alice.post_empty(&format!("/api/connectors/{id}/toggle")).await;
    assert_eq!((flipped.status, flipped.body["enabled"].clone()), (200, json!(true)));
    let flipped = alice.post_empty(&format!("/api/connectors/{id}/toggle")).await;
    assert_eq!(flipped.body["enabled"], false);

    assert_eq!(alice.delete(&format!("/api/connectors/{id}")).await.status, 204);
    assert_eq!(alice.get(&format!("/api/connectors/{id}")).await.status, 404);
    assert_eq!(alice.delete(&format!("/api/connectors/{id}")).await.status, 404);
    assert_eq!(
        alice.get("/api/connectors").await.body["connectors"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn update_keeps_omitted_secrets_unless_the_host_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (mcp, other) = (server().await, server().await);
    let alice = app.user("alice");
    let id = alice.post("/api/connectors", body("Notes", &mcp.url)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/connectors/{id}");

    // Same origin, no token: the stored token is kept; a null header value keeps its value.
    let same_origin = format!("{}?v=2", mcp.url);
    let mut same_host = body("Notes", &same_origin);
    same_host["auth_config"] = json!({});
    same_host["headers"] = json!({"X-Tenant": null, "X-Extra": "1"});
    let kept = alice.put(&path, same_host).await;
    assert_eq!(kept.status, 200, "{}", kept.text);
    assert_eq!(kept.body["auth"]["hint"], "••••WXYZ");
    assert_eq!(kept.body["headers"], json!(["X-Extra", "X-Tenant"]));
    let Credentials::Bearer { token } = stored_credentials(&app, "alice", &id).await else {
        panic!("bearer")
    };
    assert_eq!(token.expose(), "tok-0123456789-abcdef-WXYZ");
    let owner = UserId::parse("alice").unwrap();
    let record = app
        .state
        .store
        .connector(&owner, Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    let headers = connector_secrets::open_headers(&app.state.vault, &record).unwrap();
    let values: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k, v.expose())).collect();
    assert_eq!(values, [("X-Extra", "1"), ("X-Tenant", "acme")]);

    // Another origin without a token: refused, nothing changes.
    let mut moved = body("Notes", &other.url);
    moved["auth_config"] = json!({});
    let refused = alice.put(&path, moved.clone()).await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "SECRET_NOT_STORED"),
        "a conflict with what is stored"
    );
    assert_eq!(refused.locs(), ["body.auth_config.token"]);
    assert_eq!(alice.get(&path).await.body["server_url"], same_origin);

    // Another origin, new token, headers omitted while some are stored: refused too.
    moved["auth_config"] = json!({"token": "new-token-for-the-new-host"});
    moved.as_object_mut().unwrap().remove("headers");
    assert_eq!(alice.put(&path, moved.clone()).await.locs(), ["body.headers"]);
    moved["headers"] = json!({});
    let ok = alice.put(&path, moved).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["headers"], json!([]));
    let Credentials::Bearer { token } = stored_credentials(&app, "alice", &id).await else {
        panic!("bearer")
    };
    assert_eq!(token.expose(), "new-token-for-the-new-host");

    // Switching to auth none drops the credentials.
    let none = alice
        .put(&path, json!({"name": "Notes", "server_url": other.url}))
        .await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(none.body["auth"], json!({"configured": false, "hint": null}));
    assert_eq!(stored_credentials(&app, "alice", &id).await, Credentials::None);
}

async fn names_are_unique_per_user_case_insensitively(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = server().await;
    let alice = app.user("alice");
    assert_eq!(
        alice.post("/api/connectors", body("GitHub", &mcp.url)).await.status,
        201
    );
    let dup = alice.post("/api/connectors", body("github", &mcp.url)).await;
    assert_eq!((dup.status, dup.code()), (409, "CONNECTOR_NAME_TAKEN"));
    // Another user may use the same name.
    assert_eq!(
        app.user("bob")
            .post("/api/connectors", body("GitHub", &mcp.url))
            .await
            .status,
        201
    );
    // Renaming onto an existing name conflicts too.
    let other = alice.post("/api/connectors", body("Other", &mcp.url)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rename = alice
        .put(&format!("/api/connectors/{other}"), body("GITHUB", &mcp.url))
        .await;
    assert_eq!((rename.status, rename.code()), (409, "CONNECTOR_NAME_TAKEN"));
}

async fn look_alike_names_collide_and_saved_ones_are_rekeyed_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = server().await;
    let alice = app.user("alice");
    let create = |name: &str| alice.post("/api/connectors", body(name, &mcp.url));
    assert_eq!(create("Carol").await.status, 201);
    for name in ["Ｃａｒｏｌ", "CAROL"] {
        let dup = create(name).await;
        assert_eq!((dup.status, dup.code()), (409, "CONNECTOR_NAME_TAKEN"), "{name}");
    }
    for name in ["Car\u{200B}ol", "\u{202E}loraC", "\u{3164}"] {
        let refused = create(name).await;
        assert_eq!(refused.status, 422, "{name:?}");
        assert_eq!(refused.locs(), ["body.name"], "{name:?}");
    }

    // What an older version left: names keyed by lowercasing alone, and a
    // look-alike of Carol it accepted.
    assert_eq!(create("Ｄａｖｅ").await.status, 201);
    let look_alike = create("Notes").await.body["id"].as_str().unwrap().to_owned();
    app.execute_sql(
        "update connectors set name_key = 'ｄａｖｅ' where name = 'Ｄａｖｅ'; \
         update connectors set name = 'Ｃａｒｏｌ', name_key = 'ｃａｒｏｌ' where name = 'Notes'; \
         delete from data_migrations",
    )
    .await;
    // `switchboard migrate`, as an upgrade runs it.
    let migrator = switchboard_core::store::SqlStore::connect(&app.settings.database().unwrap(), 2)
        .await
        .unwrap();
    migrator.migrate().await.unwrap();
    let store = &app.state.store;
    let owner = UserId::parse("alice").unwrap();
    let keys = || async {
        let mut keys: Vec<(String, String)> = store
            .connectors(&owner)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.name_key))
            .collect();
        keys.sort();
        keys
    };
    let rekeyed = keys().await;
    assert_eq!(
        rekeyed,
        [
            ("Carol".to_owned(), "carol".to_owned()),
            ("Ｃａｒｏｌ".to_owned(), format!("carol#{look_alike}")),
            ("Ｄａｖｅ".to_owned(), "dave".to_owned()),
        ],
        "the first Carol keeps the key, the look-alike is kept under one of its own"
    );
    assert!(switchboard_tests::logs::captured().contains("connector_names_collide"));
    migrator.migrate().await.unwrap();
    assert_eq!(keys().await, rekeyed, "once");
    assert!(migrator.is_migrated().await);

    let dup = create("DAVE").await;
    assert_eq!((dup.status, dup.code()), (409, "CONNECTOR_NAME_TAKEN"));
    // Both look-alikes stay editable; renaming one resolves the collision.
    let path = format!("/api/connectors/{look_alike}");
    assert_eq!(alice.put(&path, body("Ｃａｒｏｌ", &mcp.url)).await.status, 200);
    assert_eq!(alice.put(&path, body("Carol (work)", &mcp.url)).await.status, 200);
    assert!(
        keys()
            .await
            .contains(&("Carol (work)".to_owned(), "carol (work)".to_owned()))
    );
}

async fn the_limit_holds_under_concurrent_creates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mcp = server().await;
    let alice = app.user("alice");
    let attempts = (0..20).map(|i| alice.post("/api/connectors", body(&format!("Server {i}"), &mcp.url)));
    let results = futures::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let refused: Vec<&str> = results.iter().filter(|r| r.status != 201).map(|r| r.code()).collect();
    assert_eq!(created, 10, "{:?}", results.iter().map(|r| &r.text).collect::<Vec<_>>());
    assert_eq!(refused, vec!["CONNECTOR_LIMIT_REACHED"; 10]);
    assert_eq!(
        alice.get("/api/connectors").await.body["connectors"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    // The limit is per user.
    assert_eq!(
        app.user("bob")
            .post("/api/connectors", body("Mine", &mcp.url))
            .await
            .status,
        201
    );
    let message = results.iter().find(|r| r.status == 409).unwrap().body["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("10"), "{message}");
    // At the limit, a create is refused before any connection test runs.
    let posts = mcp.hits.posts();
    assert_eq!(
        alice.post("/api/connectors", body("Eleventh", &mcp.url)).await.code(),
        "CONNECTOR_LIMIT_REACHED"
    );
    assert_eq!(mcp.hits.posts(), posts);
}
