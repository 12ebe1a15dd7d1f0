use chrono::Utc;
use sqlx::types::Json;

use super::*;
use crate::domain::ToolInfo;

fn connector(name: &str, tools: &[&str], enabled: bool) -> ConnectorRecord {
    ConnectorRecord {
        id: Uuid::now_v7(),
        owner: "alice".into(),
        name: name.into(),
        name_key: name.to_lowercase(),
        description: String::new(),
        server_url: "https://example.test/mcp".into(),
        auth_type: "none".into(),
        auth_configured: false,
        auth_hint: None,
        credentials: None,
        headers: None,
        header_names: Json(vec![]),
        enabled,
        state: "active".into(),
        tools: Json(
            tools
                .iter()
                .map(|t| ToolInfo {
                    name: (*t).into(),
                    title: None,
                    description: None,
                    input_schema: json!({"type": "object"}),
                    output_schema: None,
                    annotations: Some(json!({"readOnlyHint": true})),
                })
                .collect(),
        ),
        tool_pins: None,
        pins_rev: 0,
        changes_pending: 0,
        tools_discovered_at: None,
        last_test_status: None,
        last_error_code: None,
        consecutive_failures: 0,
        next_check_at: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn system() -> Vec<SystemToolSource> {
    vec![SystemToolSource {
        id: "export".into(),
        name: "Export".into(),
        functions: vec![SystemFunction {
            name: "export_data".into(),
            description: "Export".into(),
            input_schema: json!({"type": "object"}),
            read_only: true,
            destructive: false,
        }],
    }]
}

#[test]
fn enabled_tools_are_listed_switched_off_ones_are_not() {
    let a = connector("Notes", &["search", "write"], true);
    let b = connector("Off", &["x"], false);
    let off: HashSet<(Uuid, String)> = [(a.id, "write".to_owned())].into();
    let catalog = Catalog::build(&system(), &[a.clone(), b], &off);
    let names: Vec<&str> = catalog.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["export__export_data", "notes__search"]);
    let entry = catalog.get("notes__search").expect("listed");
    assert_eq!(entry.connector_id(), Some(a.id));
    assert_eq!(entry.tool, "search");
    assert!(entry.read_only() && !entry.idempotent());
    assert_eq!(
        catalog.get("export__export_data").map(|e| e.source.kind.as_str()),
        Some("system")
    );
}

#[test]
fn names_stay_the_same_across_rebuilds_and_new_connectors() {
    let a = connector("Same", &["go"], true);
    let b = connector("same!", &["go"], true);
    let first = Catalog::build(&[], std::slice::from_ref(&a), &HashSet::new());
    let second = Catalog::build(&[], &[a.clone(), b], &HashSet::new());
    assert_eq!(
        first.entries()[0].name,
        second.entries()[0].name,
        "adding a connector keeps older names"
    );
    assert_ne!(second.entries()[0].name, second.entries()[1].name);
}

#[test]
fn formats_carry_the_details() {
    let a = connector("Notes", &["search"], true);
    let catalog = Catalog::build(&[], &[a], &HashSet::new());
    let entry = &catalog.entries()[0];
    let openai = entry.openai();
    assert_eq!(openai["function"]["name"], "notes__search");
    assert_eq!(openai["function"]["parameters"], json!({"type": "object"}));
    assert_eq!(openai["x-switchboard"]["source"]["name"], "Notes");
    let mcp = entry.mcp();
    assert_eq!(mcp["inputSchema"], json!({"type": "object"}));
    assert_eq!(mcp["annotations"]["readOnlyHint"], true);
}
