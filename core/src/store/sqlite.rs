//! SQLite specifics: WAL, a busy timeout, and write transactions that take the
//! write lock up front (`BEGIN IMMEDIATE`) so concurrent writers queue instead
//! of failing on lock upgrade.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::sql::CONNECT_TIMEOUT;

pub(super) async fn connect(path: &Path, max_connections: u32) -> anyhow::Result<SqlitePool> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(CONNECT_TIMEOUT)
        // A ping before every checkout doubles the round trips of every query;
        // broken connections surface as query errors and are replaced anyway.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .with_context(|| format!("Failed to open SQLite database {}", path.display()))
}

/// A write transaction: SQLite has one writer, so the whole database is the lock.
pub(super) async fn begin_for_owner(
    pool: &SqlitePool,
    _owner: &str,
) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}
