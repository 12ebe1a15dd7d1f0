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
        tool_policy: "auto".into(),
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
        default_policy: DefaultPolicy::Auto,
    }]
}

#[test]
fn enabled_tools_are_listed_blocked_ones_are_not() {
    let a = connector("Notes", &["search", "write"], true);
    let b = connector("Off", &["x"], false);
    let off = Policies::from_rows(vec![(a.id, "write".to_owned(), "block".to_owned())], vec![]);
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
    let first = Catalog::build(&[], std::slice::from_ref(&a), &Policies::default());
    let second = Catalog::build(&[], &[a.clone(), b], &Policies::default());
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
    let catalog = Catalog::build(&[], &[a], &Policies::default());
    let entry = &catalog.entries()[0];
    let openai = entry.openai();
    assert_eq!(openai["function"]["name"], "notes__search");
    assert_eq!(openai["function"]["parameters"], json!({"type": "object"}));
    assert_eq!(openai["x-switchboard"]["source"]["name"], "Notes");
    let mcp = entry.mcp();
    assert_eq!(mcp["inputSchema"], json!({"type": "object"}));
    assert_eq!(mcp["annotations"]["readOnlyHint"], true);
}

#[test]
fn each_entry_carries_its_policy() {
    let mut a = connector("Notes", &["search", "write"], true);
    a.tools.0[1].annotations = None;
    let own = Policies::from_rows(
        vec![(a.id, "search".to_owned(), "ask".to_owned())],
        vec![("export".to_owned(), "export_data".to_owned(), "ask".to_owned())],
    );
    let catalog = Catalog::build(&system(), std::slice::from_ref(&a), &own);
    let policy = |name: &str| catalog.get(name).map(|e| e.policy);
    assert_eq!(policy("notes__search"), Some(Policy::Ask), "its own policy wins");
    assert_eq!(
        policy("notes__write"),
        Some(Policy::Ask),
        "auto asks for a tool not marked read-only"
    );
    assert_eq!(policy("export__export_data"), Some(Policy::Ask));
    a.tool_policy = "allow".into();
    let catalog = Catalog::build(&[], &[a], &Policies::default());
    assert_eq!(catalog.get("notes__write").map(|e| e.policy), Some(Policy::Allow));
    assert_eq!(catalog.entries()[0].mcp()["_meta"]["switchboard"]["policy"], "allow");
}
