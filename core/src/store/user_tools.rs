//! [`UserToolStore`] and [`SealedStore`] for [`SqlStore`], plus [`Store`] itself.

use async_trait::async_trait;
use uuid::Uuid;

use super::sql::{SqlResultExt as _, on_db};
use super::{SealedColumn, SealedRow, SealedStore, SqlStore, Store, StoreResult, UserToolRecord, UserToolStore};
use crate::domain::UserId;

const LIST: &str = "select * from user_tools where owner = $1 order by tool_id";
/// A new row takes `tool_policy`; an existing one keeps its own.
const UPSERT: &str = "insert into user_tools (owner, tool_id, connected, credentials, connected_at, created_at, \
    updated_at, tool_policy) values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (owner, tool_id) do update set \
    connected = excluded.connected, credentials = excluded.credentials, connected_at = excluded.connected_at, \
    updated_at = excluded.updated_at";

#[async_trait]
impl UserToolStore for SqlStore {
    async fn user_tools(&self, owner: &UserId) -> StoreResult<Vec<UserToolRecord>> {
        on_db!(self, pool => sqlx::query_as(LIST).bind(owner.as_str()).fetch_all(pool).await)
            .or_store("Failed to list user tools")
    }

    async fn put_user_tool(&self, r: &UserToolRecord) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query(UPSERT)
            .bind(&r.owner)
            .bind(&r.tool_id)
            .bind(r.connected)
            .bind(&r.credentials)
            .bind(r.connected_at)
            .bind(r.created_at)
            .bind(r.updated_at)
            .bind(&r.tool_policy)
            .execute(pool)
            .await
            .map(drop))
        .or_store("Failed to save user tool")
    }
}

/// Paging and compare-and-swap SQL per sealed column.
fn sealed_sql(column: SealedColumn) -> (&'static str, &'static str) {
    match column {
        SealedColumn::ConnectorCredentials => (
            "select owner, id, credentials from connectors where credentials is not null and id > $1 order by id limit $2",
            "update connectors set credentials = $3 where id = $1 and credentials = $2",
        ),
        SealedColumn::ConnectorHeaders => (
            "select owner, id, headers from connectors where headers is not null and id > $1 order by id limit $2",
            "update connectors set headers = $3 where id = $1 and headers = $2",
        ),
        SealedColumn::RunInput => (
            "select owner, id, sealed_input from runs where sealed_input is not null and id > $1 order by id limit $2",
            "update runs set sealed_input = $3 where id = $1 and sealed_input = $2",
        ),
        SealedColumn::UserToolCredentials => (
            "select owner, tool_id, credentials from user_tools where credentials is not null \
             and (owner > $1 or (owner = $1 and tool_id > $2)) order by owner, tool_id limit $3",
            "update user_tools set credentials = $4 where owner = $1 and tool_id = $2 and credentials = $3",
        ),
        SealedColumn::OAuthGrant => (
            "select owner, target, grant_data from oauth_grants \
             where (owner > $1 or (owner = $1 and target > $2)) order by owner, target limit $3",
            "update oauth_grants set grant_data = $4 where owner = $1 and target = $2 and grant_data = $3",
        ),
        SealedColumn::OAuthFlow => (
            "select owner, state_hash, pending from oauth_flows \
             where (owner > $1 or (owner = $1 and state_hash > $2)) order by owner, state_hash limit $3",
            "update oauth_flows set pending = $4 where owner = $1 and state_hash = $2 and pending = $3",
        ),
        SealedColumn::ApprovalArguments => (
            "select owner, id, sealed_arguments from approvals where sealed_arguments is not null and id > $1 \
             order by id limit $2",
            "update approvals set sealed_arguments = $3 where id = $1 and sealed_arguments = $2",
        ),
    }
}

#[async_trait]
impl SealedStore for SqlStore {
    async fn sealed_page(
        &self,
        column: SealedColumn,
        after: Option<&SealedRow>,
        limit: u32,
    ) -> StoreResult<Vec<SealedRow>> {
        let (page, _) = sealed_sql(column);
        let limit = i64::from(limit);
        let to_row = |owner: String, row: String, blob: Vec<u8>| SealedRow {
            column,
            owner,
            row,
            blob,
        };
        if column.keyed_by_owner_and_text() {
            let (owner, tool) = after.map_or(("", ""), |a| (a.owner.as_str(), a.row.as_str()));
            let rows: Vec<(String, String, Vec<u8>)> =
                on_db!(self, pool => sqlx::query_as(page).bind(owner).bind(tool).bind(limit).fetch_all(pool).await)
                    .or_store("Failed to page sealed values")?;
            Ok(rows.into_iter().map(|(o, r, b)| to_row(o, r, b)).collect())
        } else {
            let cursor = after.and_then(|a| Uuid::parse_str(&a.row).ok()).unwrap_or(Uuid::nil());
            let rows: Vec<(String, Uuid, Vec<u8>)> =
                on_db!(self, pool => sqlx::query_as(page).bind(cursor).bind(limit).fetch_all(pool).await)
                    .or_store("Failed to page sealed values")?;
            Ok(rows.into_iter().map(|(o, r, b)| to_row(o, r.to_string(), b)).collect())
        }
    }

    async fn replace_sealed(&self, row: &SealedRow, blob: &[u8]) -> StoreResult<bool> {
        let (_, replace) = sealed_sql(row.column);
        let done = if row.column.keyed_by_owner_and_text() {
            on_db!(self, pool => sqlx::query(replace).bind(&row.owner).bind(&row.row).bind(&row.blob).bind(blob)
                .execute(pool).await.map(|d| d.rows_affected()))
        } else {
            let id = Uuid::parse_str(&row.row).map_err(|e| anyhow::anyhow!("connector id {}: {e}", row.row))?;
            on_db!(self, pool => sqlx::query(replace).bind(id).bind(&row.blob).bind(blob)
                .execute(pool).await.map(|d| d.rows_affected()))
        }
        .or_store("Failed to replace sealed value")?;
        Ok(done == 1)
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        match &self.db {
            super::sql::Db::Postgres(_) => "postgres",
            super::sql::Db::Sqlite(_) => "sqlite",
        }
    }

    async fn close(&self) {
        SqlStore::close(self).await;
    }

    async fn ping(&self) -> StoreResult<()> {
        on_db!(self, pool => sqlx::query("select 1").execute(pool).await.map(drop)).or_store("Database ping failed")
    }
}
