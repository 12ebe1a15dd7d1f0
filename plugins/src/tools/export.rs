//! Export: the user's connectors (never their secrets), invocation history and
//! audit log as JSON or CSV.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::invoke::{ToolContext, ToolError, ToolOutput, arguments};
use crate::{SystemTool, ToolAuth, ToolDescriptor, ToolFunction, register_tool};

/// Invocations, and audit events, exported at most.
const MAX_INVOCATIONS: u32 = 100_000;
const MAX_AUDIT_EVENTS: usize = 100_000;

pub struct Export;

static DESCRIPTOR: ToolDescriptor = ToolDescriptor {
    id: "export",
    name: "Export",
    description: "Exports your connectors, tool-call history and audit log as JSON or CSV.",
    icon: "download",
    category: "data",
    auth: ToolAuth::None,
    is_beta: false,
    functions: &[ToolFunction {
        name: "export_data",
        description: "Export connectors (without secrets), invocation history and/or the audit log.",
        input_schema: export_schema,
        read_only: true,
        destructive: false,
    }],
};

#[derive(Deserialize)]
struct ExportArgs {
    #[serde(default = "default_format")]
    format: String,
    #[serde(default = "default_include")]
    include: Vec<String>,
}

fn default_format() -> String {
    "json".into()
}

fn default_include() -> Vec<String> {
    vec!["connectors".into(), "invocations".into(), "audit".into()]
}

#[async_trait::async_trait]
impl SystemTool for Export {
    fn descriptor(&self) -> &ToolDescriptor {
        &DESCRIPTOR
    }

    async fn invoke(&self, ctx: &ToolContext<'_>, function: &str, args: Value) -> Result<ToolOutput, ToolError> {
        if function != "export_data" {
            return Err(ToolError::unknown_function(DESCRIPTOR.name, function));
        }
        let args: ExportArgs = arguments(args)?;
        let store = &ctx.services.store;
        let mut tables: Vec<(&str, Vec<&str>, Vec<Vec<Value>>)> = Vec::new();
        if args.include.iter().any(|i| i == "connectors") {
            let connectors = store.connectors(ctx.user).await.map_err(ToolError::internal)?;
            let columns = vec![
                "id",
                "name",
                "description",
                "server_url",
                "auth_type",
                "enabled",
                "status",
                "tool_count",
                "created_at",
            ];
            let rows = connectors
                .into_iter()
                .map(|c| {
                    let status = if c.enabled { c.state.clone() } else { "disabled".into() };
                    vec![
                        json!(c.id),
                        json!(c.name),
                        json!(c.description),
                        json!(c.server_url),
                        json!(c.auth_type),
                        json!(c.enabled),
                        json!(status),
                        json!(c.tools.len()),
                        json!(c.created_at),
                    ]
                })
                .collect();
            tables.push(("connectors", columns, rows));
        }
        if args.include.iter().any(|i| i == "invocations") {
            let since = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
            let invocations = store
                .invocations(ctx.user, since, MAX_INVOCATIONS)
                .await
                .map_err(ToolError::internal)?;
            let columns = vec![
                "id",
                "created_at",
                "tool",
                "source_kind",
                "connector_id",
                "system_tool",
                "outcome",
                "error_code",
                "attempts",
                "duration_ms",
            ];
            let rows = invocations
                .into_iter()
                .map(|i| {
                    vec![
                        json!(i.id),
                        json!(i.created_at),
                        json!(i.catalog_name),
                        json!(i.source_kind),
                        json!(i.connector_id),
                        json!(i.system_tool),
                        json!(i.outcome),
                        json!(i.error_code),
                        json!(i.attempts),
                        json!(i.duration_ms),
                    ]
                })
                .collect();
            tables.push(("invocations", columns, rows));
        }
        if args.include.iter().any(|i| i == "audit") {
            let mut events = Vec::new();
            let mut before = None;
            loop {
                let page = store
                    .audit_events(ctx.user, before, 1000)
                    .await
                    .map_err(ToolError::internal)?;
                let last = page.len() < 1000;
                before = page.last().map(|e| e.id);
                events.extend(page);
                if last || events.len() >= MAX_AUDIT_EVENTS {
                    break;
                }
            }
            let columns = vec!["id", "at", "actor", "kind", "object", "summary"];
            let rows = events
                .into_iter()
                .map(|e| {
                    vec![
                        json!(e.id),
                        json!(e.created_at),
                        json!(e.actor),
                        json!(e.kind),
                        json!(e.object),
                        e.summary.0,
                    ]
                })
                .collect();
            tables.push(("audit", columns, rows));
        }
        Ok(match args.format.as_str() {
            "csv" => ToolOutput::text(
                tables
                    .iter()
                    .map(|(name, columns, rows)| csv(name, columns, rows))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            _ => {
                let mut document = serde_json::Map::new();
                for (name, columns, rows) in tables {
                    let objects: Vec<Value> = rows
                        .into_iter()
                        .map(|row| Value::Object(columns.iter().map(|c| (*c).to_owned()).zip(row).collect()))
                        .collect();
                    document.insert(name.to_owned(), Value::Array(objects));
                }
                ToolOutput::json(Value::Object(document))
            }
        })
    }
}

/// One CSV table (RFC 4180 quoting), preceded by a `# name` line.
fn csv(name: &str, columns: &[&str], rows: &[Vec<Value>]) -> String {
    let cell = |v: &Value| {
        let text = match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let mut out = format!("# {name}\n{}\n", columns.join(","));
    for row in rows {
        out.push_str(&row.iter().map(cell).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

register_tool!(EXPORT);
static EXPORT: Export = Export;

fn export_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "format": {"type": "string", "enum": ["json", "csv"], "default": "json"},
            "include": {
                "type": "array",
                "items": {"type": "string", "enum": ["connectors", "invocations", "audit"]},
                "default": ["connectors", "invocations", "audit"]
            }
        },
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let out = super::csv(
            "t",
            &["a", "b"],
            &[
                vec![json!("plain"), json!("has, comma \"and\" quote")],
                vec![json!(3), json!(null)],
            ],
        );
        assert_eq!(out, "# t\na,b\nplain,\"has, comma \"\"and\"\" quote\"\n3,\n");
    }
}
