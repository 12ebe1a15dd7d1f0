//! Loading a user's catalog: their connectors, their connected system tools
//! (from the registry) and their tool switches.

use std::collections::HashSet;

use switchboard_core::catalog::{Catalog, CatalogEntry, SystemFunction, SystemToolSource};
use switchboard_core::domain::UserId;
use switchboard_core::store::{Store, StoreResult};

use crate::{SystemTool, registry};

/// The catalog of `user` right now.
pub async fn load(store: &dyn Store, user: &UserId) -> StoreResult<Catalog> {
    let (connectors, tools, off) =
        tokio::try_join!(store.connectors(user), store.user_tools(user), store.switched_off(user))?;
    let connected: HashSet<String> = tools.into_iter().filter(|t| t.connected).map(|t| t.tool_id).collect();
    let system: Vec<SystemToolSource> = registry()
        .all()
        .iter()
        .map(|t| t.descriptor())
        .filter(|d| !d.is_beta && connected.contains(d.id))
        .map(|d| SystemToolSource {
            id: d.id.to_owned(),
            name: d.name.to_owned(),
            functions: d
                .functions
                .iter()
                .map(|f| SystemFunction {
                    name: f.name.to_owned(),
                    description: f.description.to_owned(),
                    input_schema: (f.input_schema)(),
                    read_only: f.read_only,
                    destructive: f.destructive,
                })
                .collect(),
        })
        .collect();
    Ok(Catalog::build(&system, &connectors, &off.into_iter().collect()))
}

/// The system tool behind a catalog entry, if it is one.
pub fn system_tool(entry: &CatalogEntry) -> Option<&'static dyn SystemTool> {
    (entry.source.kind == "system")
        .then(|| registry().get(&entry.source.id))
        .flatten()
}

/// A system tool function by its catalog name, whether or not the user
/// connected the tool: lets an invocation answer "not connected" instead of "unknown".
pub fn unconnected_system_tool(name: &str) -> Option<&'static dyn SystemTool> {
    let (tool, function) = name.split_once("__")?;
    registry()
        .get(tool)
        .filter(|t| t.descriptor().functions.iter().any(|f| f.name == function))
}
