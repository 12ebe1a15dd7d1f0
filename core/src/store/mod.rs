//! Storage behind narrow traits, one per aggregate, all implemented by
//! [`SqlStore`] for PostgreSQL and SQLite.
//!
//! Queries are runtime `query_as` calls with `FromRow` records (no compile-time
//! macros). Most SQL is portable and written once in [`sql`]'s `on_db!`, which
//! compiles the same body against each driver; what differs per database lives
//! in [`postgres`] and [`sqlite`] (connecting, migrations, and the lock that
//! makes the per-user connector limit atomic). Every lookup is keyed by owner:
//! another user's id is indistinguishable from a missing one.
//!
//! Secrets arrive here already sealed by the vault; the store never sees plaintext.

mod connectors;
mod postgres;
mod records;
mod sealed;
mod sql;
mod sqlite;
mod user_tools;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::UserId;
pub use records::{ConnectorRecord, ConnectorState, UserToolRecord, now};
pub use sealed::{SealedColumn, SealedRow};
pub use sql::SqlStore;
pub use sqlx::types::Json;

/// Why a store call failed, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row for this owner.
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated (e.g. a connector name already in use).
    #[error("duplicate: {0}")]
    Duplicate(&'static str),
    /// The owner already has the maximum number of connectors.
    #[error("connector limit of {0} reached")]
    LimitReached(u32),
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait ConnectorStore: Send + Sync {
    /// Inserts unless the owner already has `limit` connectors; atomic under concurrency.
    async fn insert_connector(&self, record: &ConnectorRecord, limit: u32) -> StoreResult<()>;
    async fn connectors(&self, owner: &UserId) -> StoreResult<Vec<ConnectorRecord>>;
    async fn connector(&self, owner: &UserId, id: Uuid) -> StoreResult<ConnectorRecord>;
    /// Writes the user-editable fields (name, description, URL, auth, headers, enabled).
    async fn update_connector(&self, record: &ConnectorRecord) -> StoreResult<()>;
    /// Sets `enabled`, or flips it when `None`.
    async fn set_connector_enabled(
        &self,
        owner: &UserId,
        id: Uuid,
        enabled: Option<bool>,
    ) -> StoreResult<ConnectorRecord>;
    async fn delete_connector(&self, owner: &UserId, id: Uuid) -> StoreResult<()>;
}

#[async_trait]
pub trait UserToolStore: Send + Sync {
    async fn user_tools(&self, owner: &UserId) -> StoreResult<Vec<UserToolRecord>>;
    /// Inserts or replaces the (owner, tool) row.
    async fn put_user_tool(&self, record: &UserToolRecord) -> StoreResult<()>;
}

/// Access to every sealed column, for key rotation.
#[async_trait]
pub trait SealedStore: Send + Sync {
    /// Up to `limit` non-null values of `column`, in key order, after the row `after`.
    async fn sealed_page(
        &self,
        column: SealedColumn,
        after: Option<&SealedRow>,
        limit: u32,
    ) -> StoreResult<Vec<SealedRow>>;
    /// Replaces `row`'s value only if it still holds `row.blob` (compare-and-swap).
    async fn replace_sealed(&self, row: &SealedRow, blob: &[u8]) -> StoreResult<bool>;
}

/// Everything the service needs from storage.
#[async_trait]
pub trait Store: ConnectorStore + UserToolStore + SealedStore {
    /// `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
    /// Cheap liveness query for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the pool; later calls fail.
    async fn close(&self);
}
