//! Data migrations: one-time rewrites of existing rows that need Switchboard's
//! own code (SQL alone cannot, or not on both databases). Each runs once, in
//! one transaction with its row in `data_migrations`, right after the schema
//! migrations; a second process migrating at the same time waits for that
//! row and skips the work.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use uuid::Uuid;

use super::sql::{SqlStore, on_db};
use crate::domain::name_key;

/// Every data migration, in order.
pub const ALL: [&str; 1] = [CONNECTOR_NAME_KEYS];

/// Connector names keyed with NFKC and case folding (they were lowercased).
const CONNECTOR_NAME_KEYS: &str = "0006_connector_name_keys_nfkc";

/// A connector as the re-keying sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct NamedRow {
    pub id: Uuid,
    pub owner: String,
    pub name: String,
    pub name_key: String,
}

/// What re-keying changes, and the names that now collide.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Rekeying {
    /// New keys by connector id (rows whose key changes).
    pub keys: Vec<(Uuid, String)>,
    /// (owner, the name keeping the key, the name that keeps one of its own).
    pub collisions: Vec<(String, String, String)>,
}

/// Plans the new keys of `rows` (ordered by owner, then creation): each row
/// gets its name's key unless an earlier row of the same owner already has
/// it; then both are kept, the later one under a key of its own
/// (`{key}#{id}`), and the collision is reported.
pub(super) fn plan_name_keys(rows: &[NamedRow]) -> Rekeying {
    let mut taken: HashMap<(&str, String), &str> = HashMap::new();
    let mut plan = Rekeying::default();
    for row in rows {
        let key = name_key(&row.name);
        let new = match taken.get(&(row.owner.as_str(), key.clone())) {
            Some(first) => {
                plan.collisions
                    .push((row.owner.clone(), (*first).to_owned(), row.name.clone()));
                format!("{key}#{}", row.id)
            }
            None => {
                taken.insert((row.owner.as_str(), key.clone()), &row.name);
                key
            }
        };
        if new != row.name_key {
            plan.keys.push((row.id, new));
        }
    }
    plan
}

impl SqlStore {
    /// Applies the data migrations not applied yet.
    pub(super) async fn migrate_data(&self) -> anyhow::Result<()> {
        const CLAIM: &str =
            "insert into data_migrations (name, applied_at) values ($1, $2) on conflict (name) do nothing";
        const ROWS: &str = "select id, owner, name, name_key from connectors order by owner, created_at, id";
        const SET_KEY: &str = "update connectors set name_key = $2 where id = $1";
        on_db!(self, pool => {
            let mut tx = pool.begin().await.context("data migration")?;
            let claimed = sqlx::query(CLAIM)
                .bind(CONNECTOR_NAME_KEYS)
                .bind(super::now())
                .execute(&mut *tx)
                .await
                .context("data migration")?
                .rows_affected();
            if claimed == 1 {
                let rows: Vec<NamedRow> = sqlx::query_as(ROWS).fetch_all(&mut *tx).await.context("read connector names")?;
                let plan = plan_name_keys(&rows);
                // Two passes: a key may move to a row whose old key another row is about to leave.
                for (id, _) in &plan.keys {
                    sqlx::query(SET_KEY).bind(id).bind(format!("rekeying {id}")).execute(&mut *tx).await?;
                }
                for (id, key) in &plan.keys {
                    sqlx::query(SET_KEY).bind(id).bind(key).execute(&mut *tx).await?;
                }
                for (owner, kept, also) in &plan.collisions {
                    tracing::warn!(
                        user_id = %owner, name = %kept, colliding_name = %also, event = "connector_names_collide",
                        "two connector names are now the same name (NFKC, case-folded); both kept: the user may rename one"
                    );
                }
                let unchanged = rows.len() - plan.keys.len();
                tracing::info!(rekeyed = plan.keys.len(), unchanged, collisions = plan.collisions.len(),
                    "data migration {CONNECTOR_NAME_KEYS} applied");
            }
            tx.commit().await.context("data migration")?;
        });
        Ok(())
    }

    /// How many data migrations are recorded as applied.
    pub(super) async fn applied_data_migrations(&self) -> usize {
        const APPLIED: &str = "select name from data_migrations";
        let names: Result<Vec<(String,)>, _> = on_db!(self, pool => sqlx::query_as(APPLIED).fetch_all(pool).await);
        let names: HashSet<String> = names.map(|n| n.into_iter().map(|(n,)| n).collect()).unwrap_or_default();
        ALL.iter().filter(|m| names.contains(**m)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(owner: &str, name: &str) -> NamedRow {
        NamedRow {
            id: Uuid::now_v7(),
            owner: owner.into(),
            name: name.into(),
            name_key: name.to_lowercase(),
        }
    }

    #[test]
    fn earlier_names_keep_the_key_and_later_look_alikes_are_kept_and_reported() {
        let rows = [
            row("alice", "Carol"),
            row("alice", "Ｃａｒｏｌ"),
            row("alice", "ＤＡＶＥ"),
            row("alice", "notes"),
            row("bob", "ｃａｒｏｌ"),
        ];
        let plan = plan_name_keys(&rows);
        let keys: HashMap<Uuid, String> = plan.keys.iter().cloned().collect();
        assert_eq!(keys.get(&rows[0].id), None, "already its key");
        assert_eq!(keys[&rows[1].id], format!("carol#{}", rows[1].id));
        assert_eq!(keys[&rows[2].id], "dave");
        assert_eq!(keys.get(&rows[3].id), None);
        assert_eq!(keys[&rows[4].id], "carol", "another user's names are their own");
        assert_eq!(
            plan.collisions,
            [("alice".to_owned(), "Carol".to_owned(), "Ｃａｒｏｌ".to_owned())]
        );
    }
}
