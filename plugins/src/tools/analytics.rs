//! Analytics: questions about the user's own tool usage, answered from the
//! invocation log: calls, success rate and p50/p95 latency per tool or
//! connector over a time window.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::invoke::{ToolContext, ToolError, ToolOutput, arguments};
use crate::{SystemTool, ToolAuth, ToolDescriptor, ToolFunction, register_tool};

/// Invocations read for one answer, at most.
const MAX_ROWS: u32 = 100_000;

pub struct Analytics;

static DESCRIPTOR: ToolDescriptor = ToolDescriptor {
    id: "analytics",
    name: "Analytics",
    description: "Answers questions about your own tool usage: calls, success rate and latency.",
    icon: "chart",
    category: "insights",
    auth: ToolAuth::None,
    is_beta: false,
    functions: &[ToolFunction {
        name: "tool_usage",
        description: "Calls, success rate and p50/p95 latency per tool or connector over a time window.",
        input_schema: usage_schema,
        read_only: true,
        destructive: false,
    }],
};

#[derive(Deserialize)]
struct UsageArgs {
    #[serde(default = "default_hours")]
    since_hours: i64,
    #[serde(default = "default_group")]
    group_by: String,
}

fn default_hours() -> i64 {
    168
}

fn default_group() -> String {
    "tool".into()
}

#[async_trait::async_trait]
impl SystemTool for Analytics {
    fn descriptor(&self) -> &ToolDescriptor {
        &DESCRIPTOR
    }

    async fn invoke(&self, ctx: &ToolContext<'_>, function: &str, args: Value) -> Result<ToolOutput, ToolError> {
        if function != "tool_usage" {
            return Err(ToolError::unknown_function(DESCRIPTOR.name, function));
        }
        let args: UsageArgs = arguments(args)?;
        let store = &ctx.services.store;
        let since = chrono::Utc::now() - chrono::Duration::hours(args.since_hours);
        let rows = store
            .invocations(ctx.user, since, MAX_ROWS)
            .await
            .map_err(ToolError::internal)?;
        let names: HashMap<String, String> = if args.group_by == "connector" {
            let connectors = store.connectors(ctx.user).await.map_err(ToolError::internal)?;
            connectors.into_iter().map(|c| (c.id.to_string(), c.name)).collect()
        } else {
            HashMap::new()
        };
        let mut groups: BTreeMap<String, (u64, u64, Vec<f64>)> = BTreeMap::new();
        for row in &rows {
            let key = match args.group_by.as_str() {
                "connector" => match (&row.connector_id, &row.system_tool) {
                    (Some(id), _) => names
                        .get(&id.to_string())
                        .cloned()
                        .unwrap_or_else(|| format!("deleted connector {id}")),
                    (None, Some(tool)) => format!("system: {tool}"),
                    (None, None) => "unknown".into(),
                },
                _ => row.catalog_name.clone(),
            };
            let entry = groups.entry(key).or_default();
            entry.0 += 1;
            entry.1 += u64::from(row.outcome == "ok");
            entry.2.push(row.duration_ms);
        }
        let mut summary: Vec<Value> = groups
            .into_iter()
            .map(|(key, (calls, ok, mut latencies))| {
                latencies.sort_by(f64::total_cmp);
                json!({
                    "key": key,
                    "calls": calls,
                    "succeeded": ok,
                    "success_rate": ok as f64 / calls as f64,
                    "p50_ms": percentile(&latencies, 0.50),
                    "p95_ms": percentile(&latencies, 0.95),
                })
            })
            .collect();
        summary.sort_by(|a, b| b["calls"].as_u64().cmp(&a["calls"].as_u64()));
        Ok(ToolOutput::json(json!({
            "window_hours": args.since_hours,
            "group_by": args.group_by,
            "total_calls": rows.len(),
            "groups": summary,
        })))
    }
}

/// Nearest-rank percentile of sorted values, to 0.01 ms.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    (sorted[rank - 1] * 100.0).round() / 100.0
}

register_tool!(ANALYTICS);
static ANALYTICS: Analytics = Analytics;

fn usage_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "since_hours": {"type": "integer", "minimum": 1, "maximum": 2160, "default": 168},
            "group_by": {"type": "string", "enum": ["tool", "connector"], "default": "tool"}
        },
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(super::percentile(&values, 0.5), 50.0);
        assert_eq!(super::percentile(&values, 0.95), 95.0);
        assert_eq!(super::percentile(&[7.0], 0.95), 7.0);
        assert_eq!(super::percentile(&[], 0.5), 0.0);
    }
}
