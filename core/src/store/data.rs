//! Data migrations: one-time rewrites of existing rows that need Switchboard's
//! own code (SQL alone cannot, or not on both databases). Each runs once, in
//! one transaction with its row in `data_migrations`, right after the schema
//! migrations; a second process migrating at the same time waits for that
//! row and skips the work.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use uuid::Uuid;

use super::sql::{SqlStore, on_db};
use super::{ConnectorState, Json};
use crate::domain::{ToolInfo, ToolPins, name_key};

/// Every data migration, in order.
pub const ALL: [&str; 2] = [CONNECTOR_NAME_KEYS, PIN_TOOLS];

/// Connector names keyed with NFKC and case folding (they were lowercased).
const CONNECTOR_NAME_KEYS: &str = "0006_connector_name_keys_nfkc";

/// Every existing connector's current tools become its approved pins.
const PIN_TOOLS: &str = "0007_pin_connector_tools";

/// A connector saved before tools were pinned.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct UnpinnedRow {
    pub id: Uuid,
    pub tools: Json<Vec<ToolInfo>>,
    pub state: String,
}

/// The pins of a connector saved before pinning: its tools as they are,
/// except for an OAuth connector saved before its authorization (no tools,
/// waiting for sign-in), whose first discovery after it pins them.
pub(super) fn pins_for_existing(row: &UnpinnedRow) -> Option<ToolPins> {
    let awaiting_sign_in = row.tools.is_empty() && row.state == ConnectorState::NeedsAuthorization.as_str();
    (!awaiting_sign_in).then(|| ToolPins::approved(row.tools.0.clone()))
}

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
        const UNPINNED: &str = "select id, tools, state from connectors where tool_pins is null";
        const PIN: &str = "update connectors set tool_pins = $2 where id = $1";
        for name in ALL {
            on_db!(self, pool => {
                let mut tx = pool.begin().await.context("data migration")?;
                let claimed = sqlx::query(CLAIM)
                    .bind(name)
                    .bind(super::now())
                    .execute(&mut *tx)
                    .await
                    .context("data migration")?
                    .rows_affected();
                if claimed == 1 && name == CONNECTOR_NAME_KEYS {
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
                } else if claimed == 1 && name == PIN_TOOLS {
                    let rows: Vec<UnpinnedRow> = sqlx::query_as(UNPINNED).fetch_all(&mut *tx).await.context("read tools")?;
                    let mut pinned = 0;
                    for row in rows {
                        if let Some(pins) = pins_for_existing(&row) {
                            sqlx::query(PIN).bind(row.id).bind(Json(pins)).execute(&mut *tx).await?;
                            pinned += 1;
                        }
                    }
                    tracing::info!(pinned, "data migration {PIN_TOOLS} applied");
                }
                tx.commit().await.context("data migration")?;
            });
        }
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

    #[test]
    fn existing_tools_are_pinned_except_while_waiting_for_the_first_sign_in() {
        let tool: ToolInfo = serde_json::from_value(serde_json::json!({"name": "t", "input_schema": {}})).unwrap();
        let row = |tools: Vec<ToolInfo>, state: ConnectorState| UnpinnedRow {
            id: Uuid::now_v7(),
            tools: Json(tools),
            state: state.as_str().into(),
        };
        let pins = pins_for_existing(&row(vec![tool.clone()], ConnectorState::Active)).unwrap();
        assert_eq!(pins, ToolPins::approved(vec![tool.clone()]));
        assert!(
            pins_for_existing(&row(vec![tool], ConnectorState::NeedsAuthorization)).is_some(),
            "signed in once"
        );
        assert!(pins_for_existing(&row(vec![], ConnectorState::NeedsAuthorization)).is_none());
        assert!(pins_for_existing(&row(vec![], ConnectorState::Degraded)).is_some());
    }
}
