//! Start-up in both modes: embedded generates its secrets once and reuses them;
//! PostgreSQL refuses to start without keys, JWT configuration or migrations.

use std::os::unix::fs::PermissionsExt as _;

use switchboard_core::keys::{ENCRYPTION_KEYS_FILE, JWT_SECRET_FILE};
use switchboard_tests::{Backend, TestApp, UserClient};

/// An embedded app on `dir` with no secrets configured: it must find or make its own.
async fn embedded_on(dir: &std::path::Path) -> TestApp {
    let dir = dir.to_path_buf();
    TestApp::builder(Backend::Sqlite)
        .configure(move |s| {
            s.data_dir = dir;
            s.encryption_keys = None;
            s.jwt_secret = None;
        })
        .spawn()
        .await
}

fn token_from_file(dir: &std::path::Path, user: &str) -> String {
    let secret = switchboard_core::keys::jwt_secret(dir).unwrap().value;
    switchboard_api::auth::mint_token(&secret, user, std::time::Duration::from_secs(60), None, None).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_mode_starts_twice_from_an_empty_data_dir_reusing_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let mcp = crate::connectors::server().await;
    let first = embedded_on(&data).await;
    let keys_before = std::fs::read_to_string(data.join(ENCRYPTION_KEYS_FILE)).unwrap();
    let jwt_before = std::fs::read_to_string(data.join(JWT_SECRET_FILE)).unwrap();
    for file in [ENCRYPTION_KEYS_FILE, JWT_SECRET_FILE] {
        let mode = std::fs::metadata(data.join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    assert!(data.join("switchboard.db").exists());
    let alice = UserClient::new(&first, Some(token_from_file(&data, "alice")));
    let created = alice
        .post("/api/connectors", crate::connectors::body("Kept", &mcp.url))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    first.stop().await;

    let second = embedded_on(&data).await;
    assert_eq!(
        std::fs::read_to_string(data.join(ENCRYPTION_KEYS_FILE)).unwrap(),
        keys_before,
        "key regenerated"
    );
    assert_eq!(
        std::fs::read_to_string(data.join(JWT_SECRET_FILE)).unwrap(),
        jwt_before,
        "JWT secret regenerated"
    );
    let alice = UserClient::new(&second, Some(token_from_file(&data, "alice")));
    let list = alice.get("/api/connectors").await;
    assert_eq!(list.body["connectors"][0]["name"], "Kept");
    // The stored token still decrypts with the reused key.
    let id = uuid::Uuid::parse_str(created.body["id"].as_str().unwrap()).unwrap();
    let record = second
        .state
        .store
        .connector(&switchboard_core::domain::UserId::parse("alice").unwrap(), id)
        .await
        .unwrap();
    assert!(switchboard_core::connector_secrets::open_credentials(&second.state.vault, &record).is_ok());
    let logs = switchboard_tests::logs::captured();
    assert!(
        logs.contains("generated a new encryption key"),
        "first start announces the key: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_mode_refuses_to_start_without_keys_jwt_or_migrations() {
    let no_keys = TestApp::builder(Backend::Postgres)
        .configure(|s| s.encryption_keys = None)
        .try_spawn()
        .await;
    let err = format!("{:#}", no_keys.expect_err("refused"));
    assert!(
        err.contains("SWITCHBOARD_ENCRYPTION_KEYS") && err.contains("keys generate"),
        "{err}"
    );

    let no_jwt = TestApp::builder(Backend::Postgres)
        .configure(|s| s.jwt_secret = None)
        .try_spawn()
        .await;
    let err = format!("{:#}", no_jwt.expect_err("refused"));
    assert!(
        err.contains("SWITCHBOARD_JWT_SECRET") && err.contains("SWITCHBOARD_JWKS_URL"),
        "{err}"
    );

    let bad_keys = TestApp::builder(Backend::Postgres)
        .configure(|s| s.encryption_keys = Some(switchboard_core::Secret::new("k1:tooshort")))
        .try_spawn()
        .await;
    assert!(format!("{:#}", bad_keys.expect_err("refused")).contains("SWITCHBOARD_ENCRYPTION_KEYS"));

    let unmigrated = TestApp::builder(Backend::Postgres).unmigrated().try_spawn().await;
    let err = format!("{:#}", unmigrated.expect_err("refused"));
    assert!(err.contains("switchboard migrate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_mode_starts_with_keys_from_the_environment_and_generates_nothing() {
    let app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(app.state.store.backend(), "postgres");
    assert!(!app.data_dir.path().join(ENCRYPTION_KEYS_FILE).exists());
    assert!(!app.data_dir.path().join(JWT_SECRET_FILE).exists());
    assert_eq!(app.user("alice").get("/api/connectors").await.status, 200);
}
