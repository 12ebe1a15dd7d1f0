//! Databases as an older Switchboard left them: the schema migrations up to a
//! version, rows written the way that version wrote them, then today's
//! `migrate` (schema and data), and what the rows read as afterwards.

use std::borrow::Cow;

use chrono::Utc;
use serde_json::json;
use sqlx::migrate::Migrator;
use sqlx::types::Json;
use switchboard_core::Secret;
use switchboard_core::approvals::Policy;
use switchboard_core::config::Database;
use switchboard_core::domain::UserId;
use switchboard_core::store::{ConnectorStore as _, PolicyStore as _, SqlStore, UserToolStore as _};
use uuid::Uuid;

use crate::Backend;
use crate::postgres::PgTestDb;

/// `migrator` without the migrations after `version`.
fn up_to(mut migrator: Migrator, version: i64) -> Migrator {
    migrator.migrations = Cow::Owned(migrator.iter().filter(|m| m.version <= version).cloned().collect());
    migrator
}

/// Version 7's rows: a connector with a tool switched off, Gmail connected.
macro_rules! seed_version_7 {
    ($pool:expr, $connector:expr) => {{
        let now = Utc::now();
        let tools = json!([
            {"name": "write", "input_schema": {"type": "object"}},
            {"name": "off", "input_schema": {"type": "object"}},
        ]);
        sqlx::query(
            "insert into connectors (id, owner, name, name_key, server_url, auth_type, tools, created_at, \
             updated_at) values ($1, 'legacy', 'Old', 'old', 'http://127.0.0.1:9/mcp', 'none', $2, $3, $3)",
        )
        .bind($connector)
        .bind(Json(tools))
        .bind(now)
        .execute($pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into tool_switches (connector_id, owner, tool_name, enabled, created_at, updated_at) \
             values ($1, 'legacy', 'off', false, $2, $2)",
        )
        .bind($connector)
        .bind(now)
        .execute($pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into user_tools (owner, tool_id, connected, connected_at, created_at, updated_at) \
             values ('legacy', 'gmail', true, $1, $1, $1)",
        )
        .bind(now)
        .execute($pool)
        .await
        .unwrap();
    }};
}

/// Migration 0008 (tool policies): what worked before still runs without
/// asking — connectors and connected system tools default to `allow`, a
/// switched-off tool is `block`.
pub async fn policies_migrate_to_allow(backend: Backend) {
    let connector = Uuid::now_v7();
    let dir = tempfile::tempdir().unwrap();
    let pg = match backend {
        Backend::Postgres => Some(PgTestDb::create_empty().await),
        Backend::Sqlite => None,
    };
    let database = match &pg {
        Some(db) => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            up_to(sqlx::migrate!("../migrations/postgres"), 7)
                .run(&pool)
                .await
                .unwrap();
            seed_version_7!(&pool, connector);
            pool.close().await;
            Database::Postgres(Secret::new(db.url.clone()))
        }
        None => {
            let path = dir.path().join("old.db");
            let url = format!("sqlite:{}?mode=rwc", path.display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            up_to(sqlx::migrate!("../migrations/sqlite"), 7)
                .run(&pool)
                .await
                .unwrap();
            seed_version_7!(&pool, connector);
            pool.close().await;
            Database::Sqlite(path)
        }
    };
    let store = SqlStore::connect(&database, 2).await.unwrap();
    store.migrate().await.unwrap();
    let owner = UserId::parse("legacy").unwrap();
    assert_eq!(store.connectors(&owner).await.unwrap()[0].tool_policy, "allow");
    let gmail = store.user_tools(&owner).await.unwrap();
    assert_eq!(
        (gmail[0].tool_id.as_str(), gmail[0].tool_policy.as_str()),
        ("gmail", "allow")
    );
    let policies = store.policies(&owner).await.unwrap();
    assert_eq!(policies.own_of_tool(connector, "off"), Some(Policy::Block));
    let catalog = switchboard_plugins::catalog::load(&store, &owner).await.unwrap();
    let policy = |tool: &str| catalog.entries().iter().find(|e| e.tool == tool).map(|e| e.policy);
    assert_eq!(
        policy("write"),
        Some(Policy::Allow),
        "a tool that ran before runs without asking"
    );
    assert_eq!(
        policy("send_email"),
        Some(Policy::Allow),
        "Gmail's send for a user connected before"
    );
    assert_eq!(policy("off"), None, "a switched-off tool stays off");
    store.close().await;
}
