//! The tool catalog of a user: the tools of their enabled connectors (from the
//! discovery snapshots) and of their connected system tools, minus the tools
//! they blocked, each under a name every model API accepts ([`names`]),
//! mapped back to where it lives, with its policy (allow or ask).

pub mod names;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::approvals::{DefaultPolicy, Policies, Policy};
use crate::store::{ConnectorRecord, ConnectorState};
use names::Namer;

/// Where a catalog tool lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Source {
    /// `connector` or `system`.
    pub kind: String,
    /// The connector id or the system tool id.
    pub id: String,
    pub name: String,
}

/// A system tool offered to the catalog (built by the plugins crate).
#[derive(Debug, Clone)]
pub struct SystemToolSource {
    pub id: String,
    pub name: String,
    pub functions: Vec<SystemFunction>,
    /// The policy of functions without one of their own.
    pub default_policy: DefaultPolicy,
}

#[derive(Debug, Clone)]
pub struct SystemFunction {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
    pub read_only: bool,
    pub destructive: bool,
}

/// One tool an agent may call.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    /// The name the agent uses: `^[a-zA-Z0-9_-]{1,64}$`, unique in the catalog.
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub input_schema: Value,
    pub annotations: Option<Value>,
    pub source: Source,
    /// The tool's own name: the server's tool, or the system tool's function.
    pub tool: String,
    /// `allow` or `ask` (blocked tools are not in the catalog).
    pub policy: Policy,
}

impl CatalogEntry {
    fn hint(&self, hint: &str) -> bool {
        self.annotations
            .as_ref()
            .and_then(|a| a.get(hint))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The tool only reads (`readOnlyHint`): safe to call again.
    pub fn read_only(&self) -> bool {
        self.hint("readOnlyHint")
    }

    /// Calling it twice has the effect of once (`idempotentHint`).
    pub fn idempotent(&self) -> bool {
        self.hint("idempotentHint")
    }

    /// The connector it belongs to, for connector tools.
    pub fn connector_id(&self) -> Option<Uuid> {
        (self.source.kind == "connector")
            .then(|| self.source.id.parse().ok())
            .flatten()
    }

    /// OpenAI function-calling form, with Switchboard's details under `x-switchboard`.
    pub fn openai(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description.clone().unwrap_or_else(|| self.display_name.clone()),
                "parameters": self.input_schema,
            },
            "x-switchboard": self.details(),
        })
    }

    /// MCP tool form (as in `tools/list`).
    pub fn mcp(&self) -> Value {
        let mut tool = json!({
            "name": self.name,
            "title": self.display_name,
            "inputSchema": self.input_schema,
            "_meta": {"switchboard": self.details()},
        });
        if let Some(description) = &self.description {
            tool["description"] = json!(description);
        }
        if let Some(annotations) = &self.annotations {
            tool["annotations"] = annotations.clone();
        }
        tool
    }

    fn details(&self) -> Value {
        json!({
            "display_name": self.display_name,
            "source": self.source,
            "tool": self.tool,
            "annotations": self.annotations,
            "policy": self.policy,
        })
    }
}

/// A user's catalog, in a stable order: system tools (by id), then connectors
/// (oldest first), each in its own order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
}

impl Catalog {
    pub fn build(system: &[SystemToolSource], connectors: &[ConnectorRecord], policies: &Policies) -> Self {
        let mut namer = Namer::default();
        let mut entries = Vec::new();
        for tool in system {
            let slug = names::slug(&tool.id);
            for f in &tool.functions {
                let policy = policies.of_function(&tool.id, tool.default_policy, &f.name, f.read_only);
                if policy == Policy::Block {
                    continue;
                }
                entries.push(CatalogEntry {
                    name: namer.name(&slug, &tool.id, &f.name),
                    display_name: format!("{} · {}", tool.name, f.name),
                    description: Some(f.description.clone()),
                    input_schema: f.input_schema.clone(),
                    annotations: Some(json!({"readOnlyHint": f.read_only, "destructiveHint": f.destructive})),
                    source: Source {
                        kind: "system".into(),
                        id: tool.id.clone(),
                        name: tool.name.clone(),
                    },
                    tool: f.name.clone(),
                    policy,
                });
            }
        }
        let usable = |c: &&ConnectorRecord| c.enabled && c.state != ConnectorState::NeedsAuthorization.as_str();
        for connector in connectors.iter().filter(usable) {
            let slug = names::slug(&connector.name);
            let identity = connector.id.to_string();
            for tool in connector.tools.iter() {
                let policy = policies.of_tool(connector, tool);
                if policy == Policy::Block {
                    continue;
                }
                let title = tool.title.clone().or_else(|| {
                    tool.annotations
                        .as_ref()
                        .and_then(|a| a.get("title"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
                entries.push(CatalogEntry {
                    name: namer.name(&slug, &identity, &tool.name),
                    display_name: title.unwrap_or_else(|| tool.name.clone()),
                    description: tool.description.clone(),
                    input_schema: tool.input_schema.clone(),
                    annotations: tool.annotations.clone(),
                    source: Source {
                        kind: "connector".into(),
                        id: identity.clone(),
                        name: connector.name.clone(),
                    },
                    tool: tool.name.clone(),
                    policy,
                });
            }
        }
        Self { entries }
    }

    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

#[cfg(test)]
mod tests;
