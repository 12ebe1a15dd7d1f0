//! Rows written straight through the store, for tests and benchmarks that
//! need many connectors (or ones in a given state) without the API's test-before-save.

use switchboard_core::domain::{ToolInfo, ToolPins};
use switchboard_core::store::{ConnectorRecord, Json, now};

/// An enabled, active connector without auth named `name`, its `tools` approved.
pub fn connector(owner: &str, name: &str, server_url: &str, tools: Vec<ToolInfo>) -> ConnectorRecord {
    let t = now();
    ConnectorRecord {
        id: uuid::Uuid::now_v7(),
        owner: owner.into(),
        name: name.into(),
        name_key: name.to_lowercase(),
        description: String::new(),
        server_url: server_url.into(),
        auth_type: "none".into(),
        auth_configured: false,
        auth_hint: None,
        credentials: None,
        headers: None,
        header_names: Json(Vec::new()),
        enabled: true,
        tool_policy: "allow".into(),
        state: "active".into(),
        tool_pins: Some(Json(ToolPins::approved(tools.clone()))),
        tools: Json(tools),
        pins_rev: 0,
        changes_pending: 0,
        tools_discovered_at: Some(t),
        last_test_status: Some("ok".into()),
        last_error_code: None,
        consecutive_failures: 0,
        next_check_at: None,
        created_at: t,
        updated_at: t,
    }
}
