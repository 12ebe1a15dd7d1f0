//! `keys rotate`: every sealed column moves to the first key, re-runs are
//! no-ops, an interrupted run finishes, and a misplaced blob is reported.

use switchboard_core::domain::UserId;
use switchboard_core::rotation::rotate_all;
use switchboard_core::store::{SealedColumn, SealedStore, UserToolRecord, now};
use switchboard_core::vault::{Aad, Vault, key_id_of};
use switchboard_core::{Secret, connector_secrets};
use switchboard_tests::{Backend, TestApp};

both_backends!(
    rotation_reseals_everything_once_and_reports_misplaced_values,
    every_encrypted_column_is_in_the_rotation_registry,
);

/// `table.column` of every binary column of the schema that is not a key.
async fn binary_columns(app: &TestApp) -> Vec<String> {
    match &app.settings.database_url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url.expose()).await.unwrap();
            let rows: Vec<(String, String)> = sqlx::query_as(
                "select table_name::text, column_name::text from information_schema.columns \
                 where table_schema = 'public' and data_type = 'bytea' and table_name <> '_sqlx_migrations'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            pool.close().await;
            rows.into_iter().map(|(t, c)| format!("{t}.{c}")).collect()
        }
        None => {
            let path = app.data_dir.path().join("switchboard.db");
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display()))
                .await
                .unwrap();
            let tables: Vec<(String,)> = sqlx::query_as(
                "select name from sqlite_master where type = 'table' and name not like '\\_%' escape '\\'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            let mut columns = Vec::new();
            for (table,) in tables {
                let info: Vec<(i64, String, String, i64, Option<String>, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("pragma table_info({table})")))
                        .fetch_all(&pool)
                        .await
                        .unwrap();
                for (_, name, kind, _, _, _) in info {
                    // UUIDs are stored as blobs in SQLite: ids are keys, not secrets.
                    let is_key = name == "id" || name.ends_with("_id");
                    if kind.eq_ignore_ascii_case("blob") && !is_key {
                        columns.push(format!("{table}.{name}"));
                    }
                }
            }
            pool.close().await;
            columns
        }
    }
}

async fn every_encrypted_column_is_in_the_rotation_registry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut schema = binary_columns(&app).await;
    schema.sort();
    let mut registry: Vec<String> = SealedColumn::ALL.iter().map(|c| c.field().to_owned()).collect();
    registry.sort();
    assert_eq!(
        schema, registry,
        "a binary column rotation does not know, or a registry entry the schema lacks"
    );
}

/// The drill: rotate while runs wait in the queue with sealed credentials,
/// drop the old key, and every run still succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_queued_across_a_rotation_still_succeed() {
    let old = Vault::generate_key_entry("old").unwrap();
    let new = Vault::generate_key_entry("new").unwrap();
    let old_spec = old.clone();
    let app = TestApp::builder(Backend::Postgres)
        .without_workers()
        .configure(move |s| s.encryption_keys = Some(old_spec))
        .spawn()
        .await;
    let mcp = switchboard_tests::fixtures::mcp::McpFixture::with_tools(1, 10)
        .require_bearer("drill-token")
        .spawn()
        .await;
    let alice = app.user("alice");
    let mut runs = Vec::new();
    for _ in 0..5 {
        let run = alice
            .post(
                "/api/connectors/test",
                serde_json::json!({"server_url": mcp.url, "auth_type": "bearer", "auth_config": {"token": "drill-token"}}),
            )
            .await;
        assert!(
            ["queued", "waiting"].contains(&run.body["status"].as_str().unwrap()),
            "{}",
            run.text
        );
        runs.push(run.body["id"].as_str().unwrap().to_owned());
    }
    let both = Vault::from_spec(&Secret::new(format!("{},{}", new.expose(), old.expose()))).unwrap();
    let report = rotate_all(&*app.state.store, &both).await.unwrap();
    assert_eq!(report.rotated, 5, "every queued run's sealed input: {report:?}");
    let only_new = new.expose().to_owned();
    let _worker = switchboard_tests::workers::WorkerProcess::spawn(
        env!("CARGO_BIN_EXE_test-worker"),
        &app,
        &[("SWITCHBOARD_ENCRYPTION_KEYS", only_new.as_str())],
    )
    .await;
    for id in &runs {
        let done = switchboard_tests::runs::wait_for_run(&alice, id, std::time::Duration::from_secs(30)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
}

async fn key_ids(store: &dyn SealedStore) -> Vec<String> {
    let mut ids = Vec::new();
    for column in SealedColumn::ALL {
        for row in store.sealed_page(column, None, 100).await.unwrap() {
            ids.push(key_id_of(&row.blob).unwrap().to_owned());
        }
    }
    ids
}

async fn rotation_reseals_everything_once_and_reports_misplaced_values(backend: Backend) {
    let old = Vault::generate_key_entry("old").unwrap();
    let new = Vault::generate_key_entry("new").unwrap();
    let old_spec = old.clone();
    let app = TestApp::builder(backend)
        .configure(move |s| s.encryption_keys = Some(old_spec))
        .spawn()
        .await;
    let mcp = crate::connectors::server().await;
    let alice = app.user("alice");
    let mut ids = Vec::new();
    for name in ["One", "Two"] {
        ids.push(
            alice
                .post("/api/connectors", crate::connectors::body(name, &mcp.url))
                .await
                .body["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let sealed_tool = app.state.vault.seal(
        Aad {
            field: SealedColumn::UserToolCredentials.field(),
            owner: "alice",
            row: "gmail",
        },
        b"{}",
    );
    let t = now();
    let tool = UserToolRecord {
        owner: "alice".into(),
        tool_id: "gmail".into(),
        connected: true,
        credentials: Some(sealed_tool),
        connected_at: Some(t),
        tool_policy: "allow".into(),
        created_at: t,
        updated_at: t,
    };
    app.state.store.put_user_tool(&tool).await.unwrap();

    let store: &dyn switchboard_core::store::Store = &*app.state.store;
    assert_eq!(
        key_ids(store).await,
        vec!["old"; 5],
        "connectors and the tool (their test runs ended)"
    );

    // Pretend an earlier run was interrupted after re-sealing one value.
    let both = Vault::from_spec(&Secret::new(format!("{},{}", new.expose(), old.expose()))).unwrap();
    let first = store
        .sealed_page(SealedColumn::ConnectorCredentials, None, 1)
        .await
        .unwrap()
        .remove(0);
    assert!(
        store
            .replace_sealed(&first, &both.reseal(first.aad(), &first.blob).unwrap().unwrap())
            .await
            .unwrap()
    );

    let report = rotate_all(store, &both).await.unwrap();
    assert_eq!((report.rotated, report.current, report.raced), (4, 1, 0), "{report:?}");
    assert!(report.failed.is_empty());
    assert_eq!(key_ids(store).await, vec!["new"; 5]);
    let again = rotate_all(store, &both).await.unwrap();
    assert_eq!((again.rotated, again.current), (0, 5), "a second run changes nothing");

    // The old key can now be dropped: everything opens with the new one alone.
    let only_new = Vault::from_spec(&new).unwrap();
    let alice_id = UserId::parse("alice").unwrap();
    for id in &ids {
        let record = app.state.store.connector(&alice_id, id.parse().unwrap()).await.unwrap();
        assert!(connector_secrets::open_credentials(&only_new, &record).is_ok());
        assert!(connector_secrets::open_headers(&only_new, &record).is_ok());
    }

    // A blob copied into another row is refused (bound to its row), and reported.
    let rows = store
        .sealed_page(SealedColumn::ConnectorCredentials, None, 10)
        .await
        .unwrap();
    assert!(store.replace_sealed(&rows[1], &rows[0].blob).await.unwrap());
    let newest = Vault::from_spec(&Secret::new(format!(
        "{},{}",
        Vault::generate_key_entry("newest").unwrap().expose(),
        new.expose()
    )))
    .unwrap();
    let report = rotate_all(store, &newest).await.unwrap();
    assert_eq!(report.rotated, 4);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].1, rows[1].row);
}
