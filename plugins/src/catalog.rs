//! Loading a user's catalog: their connectors, their connected system tools
//! (from the registry) and their tool policies.

use std::collections::HashMap;

use switchboard_core::approvals::DefaultPolicy;
use switchboard_core::catalog::{Catalog, CatalogEntry, SystemFunction, SystemToolSource};
use switchboard_core::domain::UserId;
use switchboard_core::store::{Store, StoreResult};

use crate::{SystemTool, registry};

/// The catalog of `user` right now.
pub async fn load(store: &dyn Store, user: &UserId) -> StoreResult<Catalog> {
    let (connectors, tools, policies) =
        tokio::try_join!(store.connectors(user), store.user_tools(user), store.policies(user))?;
    let connected: HashMap<String, DefaultPolicy> = tools
        .into_iter()
        .filter(|t| t.connected)
        .map(|t| (t.tool_id, DefaultPolicy::parse(&t.tool_policy)))
        .collect();
    let system: Vec<SystemToolSource> = registry()
        .all()
        .iter()
        .map(|t| t.descriptor())
        .filter_map(|d| Some((d, *connected.get(d.id).filter(|_| !d.is_beta)?)))
        .map(|(d, default_policy)| SystemToolSource {
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
            default_policy,
        })
        .collect();
    Ok(Catalog::build(&system, &connectors, &policies))
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
