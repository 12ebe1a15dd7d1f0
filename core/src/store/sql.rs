//! [`SqlStore`]: one store, two drivers.
//!
//! `on_db!(self, pool => body)` expands `body` once per backend with `pool`
//! bound to a `&PgPool` or a `&SqlitePool`, so portable queries are written
//! once and type-checked against both drivers. Both dialects accept `$1`
//! placeholders.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::{PgPool, SqlitePool};

use super::{StoreError, StoreResult};
use crate::config::Database;

/// The PostgreSQL or SQLite store. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(super) db: Db,
}

#[derive(Debug, Clone)]
pub(super) enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

macro_rules! on_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::store::sql::Db::Postgres($pool) => $body,
            $crate::store::sql::Db::Sqlite($pool) => $body,
        }
    };
}
pub(super) use on_db;

impl SqlStore {
    /// Connects to the database the settings select (creating a SQLite file if needed).
    pub async fn connect(database: &Database, max_connections: u32) -> anyhow::Result<Self> {
        let db = match database {
            Database::Postgres(url) => Db::Postgres(super::postgres::connect(url, max_connections).await?),
            Database::Sqlite(path) => Db::Sqlite(super::sqlite::connect(path, max_connections).await?),
        };
        Ok(Self { db })
    }

    /// Applies the embedded migrations for this backend, then the data
    /// migrations (see [`super::data`]).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await,
            Db::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await,
        }
        .context("Failed to apply database migrations")?;
        self.migrate_data().await.context("Failed to apply data migrations")
    }

    /// Whether every embedded migration has been applied (Postgres mode refuses to
    /// serve an unmigrated database: run `switchboard migrate`).
    pub async fn is_migrated(&self) -> bool {
        const APPLIED: &str = "select count(*) from _sqlx_migrations where success";
        let expected = match &self.db {
            Db::Postgres(_) => sqlx::migrate!("../migrations/postgres").iter().count(),
            Db::Sqlite(_) => sqlx::migrate!("../migrations/sqlite").iter().count(),
        };
        let applied: Result<(i64,), _> = on_db!(self, pool => sqlx::query_as(APPLIED).fetch_one(pool).await);
        applied.is_ok_and(|(n,)| usize::try_from(n).unwrap_or(0) >= expected)
            && self.applied_data_migrations().await == super::data::ALL.len()
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

/// Maps driver errors to [`StoreError`] in one place: missing rows, unique
/// violations by constraint, everything else with context.
pub(super) trait SqlResultExt<T> {
    fn or_store(self, context: &'static str) -> StoreResult<T>;
}

impl<T> SqlResultExt<T> for Result<T, sqlx::Error> {
    fn or_store(self, context: &'static str) -> StoreResult<T> {
        self.map_err(|error| match &error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => StoreError::Busy,
            // The server is shutting down (57P0x) or the connection failed (08xxx).
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) => {
                StoreError::Busy
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let names_the_key = |s: &str| s.contains("name_key");
                let names_the_idempotency_key = |s: &str| s.contains("idempotency_key");
                if db.constraint().is_some_and(names_the_key) || names_the_key(db.message()) {
                    StoreError::Duplicate("connector_name")
                } else if db.constraint().is_some_and(names_the_idempotency_key)
                    || names_the_idempotency_key(db.message())
                {
                    StoreError::Duplicate("idempotency_key")
                } else {
                    StoreError::Duplicate("unique")
                }
            }
            _ => StoreError::Database(anyhow::Error::new(error).context(context)),
        })
    }
}

/// How long waiting for a pooled connection (or a new one) may take: past
/// it the pool is exhausted (or the database gone) and callers get
/// [`StoreError::Busy`] instead of queueing behind everyone else.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Begins a transaction that serialises writers for one owner (see `postgres.rs`, `sqlite.rs`).
pub(super) trait OwnerLock {
    type Db: sqlx::Database;
    fn begin_for_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl OwnerLock for PgPool {
    type Db = sqlx::Postgres;
    fn begin_for_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send {
        super::postgres::begin_for_owner(self, owner)
    }
}

impl OwnerLock for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_for_owner(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send {
        super::sqlite::begin_for_owner(self, owner)
    }
}
