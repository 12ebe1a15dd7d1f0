//! PostgreSQL specifics: connecting, and the per-owner lock behind the connector limit.

use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use super::sql::CONNECT_TIMEOUT;
use crate::secret::Secret;

pub(super) async fn connect(url: &Secret, max_connections: u32) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url
        .expose()
        .parse()
        .context("DATABASE_URL is not a valid postgres URL")?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(CONNECT_TIMEOUT)
        // A ping before every checkout doubles the round trips of every query;
        // broken connections surface as query errors and are replaced anyway.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .context("Failed to connect to PostgreSQL (DATABASE_URL)")
}

/// A transaction holding a lock on `owner` until it ends, so that a count
/// followed by an insert is atomic per user.
pub(super) async fn begin_for_owner(pool: &PgPool, owner: &str) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 7))")
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
