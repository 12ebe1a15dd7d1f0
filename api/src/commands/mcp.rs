//! `switchboard mcp …`: the MCP client from the command line.
//!
//! - `probe URL` runs a connection test (the same steps as the API) and prints
//!   the report as JSON; the exit code says whether it passed. `.ci/run` uses
//!   it against the reference server `@modelcontextprotocol/server-everything`.
//! - `conformance-client URL` (in [`super::conformance`]) is the client command
//!   of the official conformance suite.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use switchboard_core::Secret;
use switchboard_core::config::Settings;
use switchboard_core::domain::{Credentials, CustomHeaders};
use switchboard_core::egress::http::EgressHttp;
use switchboard_core::egress::{EgressGuard, EgressPolicy, SystemResolver};
use switchboard_core::mcp::{McpClient, McpLimits, StepObserver, StepUpdate};

pub(crate) fn client(settings: &Settings) -> anyhow::Result<McpClient> {
    let policy = EgressPolicy {
        allow: settings.egress_allow(),
        loopback_fuse: false,
    };
    let http = EgressHttp::new(EgressGuard::new(policy, Arc::new(SystemResolver)))?;
    Ok(McpClient::new(http, McpLimits::default()))
}

struct Printer;

impl StepObserver for Printer {
    fn update(&self, u: StepUpdate) {
        let took = u.duration_ms.map(|ms| format!(" ({ms:.1} ms)")).unwrap_or_default();
        let note = u.message.map(|m| format!(": {m}")).unwrap_or_default();
        eprintln!("{:<13} {:?}{took}{note}", u.name, u.status);
    }
}

/// `switchboard mcp probe URL [--bearer T] [--header NAME=VALUE]`.
pub async fn probe(
    settings: &Settings,
    url: &str,
    bearer: Option<String>,
    headers: &[String],
    budget: Duration,
) -> anyhow::Result<ExitCode> {
    let credentials = bearer.map_or(Credentials::None, |t| Credentials::Bearer { token: Secret::new(t) });
    let headers = parse_headers(headers)?;
    let report = client(settings)?
        .probe(url, &credentials, &headers, budget, &Printer)
        .await;
    let failure = report.failure.as_ref().or(report.warning.as_ref());
    let out = json!({
        "success": report.failure.is_none(),
        "error_code": failure.map(|f| f.code.as_str()),
        "error_message": failure.map(|f| f.message.clone()),
        "server": report.server,
        "tools": report.tools,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(if report.failure.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn parse_headers(raw: &[String]) -> anyhow::Result<CustomHeaders> {
    let map = raw
        .iter()
        .map(|h| h.split_once('=').map(|(k, v)| (k.to_owned(), Some(v.to_owned()))))
        .collect::<Option<_>>()
        .ok_or_else(|| anyhow::anyhow!("--header takes NAME=VALUE"))?;
    CustomHeaders::parse(&map, None)
        .map_err(|e| anyhow::anyhow!("--header {}: {}", e.loc.last().cloned().unwrap_or_default(), e.msg))
}

/// Arguments that satisfy a tool's input schema: defaults where given, else
/// a simple value of each required property's type.
pub fn example_arguments(schema: &Value) -> Map<String, Value> {
    let mut args = Map::new();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return args;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, property) in properties {
        let value = property.get("default").cloned().or_else(|| {
            required
                .contains(&name.as_str())
                .then(|| match property.get("type").and_then(Value::as_str) {
                    Some("number" | "integer") => json!(1),
                    Some("boolean") => json!(true),
                    Some("array") => json!([]),
                    Some("object") => Value::Object(example_arguments(property)),
                    _ => property
                        .get("enum")
                        .and_then(|e| e.get(0))
                        .cloned()
                        .unwrap_or_else(|| json!("test")),
                })
        });
        if let Some(value) = value {
            args.insert(name.clone(), value);
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_arguments_satisfy_required_properties() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "number"}, "b": {"type": "integer"}, "s": {"type": "string"},
                "mode": {"type": "string", "enum": ["fast", "slow"]}, "opt": {"type": "string"},
                "n": {"type": "number", "default": 7}
            },
            "required": ["a", "b", "s", "mode"]
        });
        let args = example_arguments(&schema);
        assert_eq!(
            Value::Object(args),
            json!({"a": 1, "b": 1, "s": "test", "mode": "fast", "n": 7})
        );
    }
}
