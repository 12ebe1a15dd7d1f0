//! A fresh PostgreSQL database per test.
//!
//! The migrations (schema and data, as `switchboard migrate` applies them) are applied once to a template database (named after a
//! hash of the migrations, built under an advisory lock so parallel test
//! processes build it once); each test then gets `CREATE DATABASE … TEMPLATE`,
//! dropped when the test ends. A missing server fails the test loudly.

use std::hash::{DefaultHasher, Hash, Hasher};

use sqlx::{Connection, PgConnection};
use switchboard_core::Secret;
use switchboard_core::config::Database;
use switchboard_core::store::{DATA_MIGRATIONS, SqlStore};

/// Admin connection URL; override with `SWITCHBOARD_TEST_DATABASE_URL`.
pub fn admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn url_for(db: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{db}")
}

async fn admin() -> PgConnection {
    PgConnection::connect(&admin_url()).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for this test but is not reachable at {} ({e}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set \
             SWITCHBOARD_TEST_DATABASE_URL.",
            admin_url()
        )
    })
}

fn template_name() -> String {
    let mut hasher = DefaultHasher::new();
    for m in sqlx::migrate!("../migrations/postgres").iter() {
        m.version.hash(&mut hasher);
        m.checksum.hash(&mut hasher);
    }
    DATA_MIGRATIONS.hash(&mut hasher);
    format!("sbtest_template_{:016x}", hasher.finish())
}

/// A test database; dropped (forcibly) when this value is dropped.
#[derive(Debug)]
pub struct PgTestDb {
    pub name: String,
    pub url: String,
}

impl PgTestDb {
    pub async fn create() -> Self {
        let template = template_name();
        let mut admin = admin().await;
        sqlx::query("select pg_advisory_lock(74201)")
            .execute(&mut admin)
            .await
            .unwrap();
        let exists: Option<(i32,)> = sqlx::query_as("select 1 from pg_database where datname = $1")
            .bind(&template)
            .fetch_optional(&mut admin)
            .await
            .unwrap();
        if exists.is_none() {
            build_template(&mut admin, &template).await;
        }
        sqlx::query("select pg_advisory_unlock(74201)")
            .execute(&mut admin)
            .await
            .unwrap();

        Self::create_from(&mut admin, &template).await
    }

    /// A database with no tables at all.
    pub async fn create_empty() -> Self {
        Self::create_from(&mut admin().await, "template0").await
    }

    async fn create_from(admin: &mut PgConnection, template: &str) -> Self {
        let name = format!("sbtest_{}", uuid::Uuid::new_v4().simple());
        let create = format!("create database {name} template {template}");
        sqlx::query(sqlx::AssertSqlSafe(create)).execute(admin).await.unwrap();
        Self {
            url: url_for(&name),
            name,
        }
    }
}

async fn build_template(admin: &mut PgConnection, template: &str) {
    let building = format!("{template}_building");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {building} with (force)"
    )))
    .execute(&mut *admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {building}")))
        .execute(&mut *admin)
        .await
        .unwrap();
    {
        let database = Database::Postgres(Secret::new(url_for(&building)));
        let store = SqlStore::connect(&database, 1).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "alter database {building} rename to {template}"
    )))
    .execute(&mut *admin)
    .await
    .unwrap();
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
                    let drop = format!("drop database if exists {name} with (force)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await;
                }
            });
        });
        let _ = dropper.join();
    }
}
