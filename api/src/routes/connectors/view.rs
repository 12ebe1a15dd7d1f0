//! The connector as responses show it: never a secret, only `auth: {configured, hint}`
//! and the names of custom headers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use switchboard_core::approvals::{DefaultPolicy, Policies, Policy};
use switchboard_core::domain::ToolInfo;
use switchboard_core::store::ConnectorRecord;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub server_url: String,
    /// `none`, `bearer` or `oauth`.
    pub auth_type: String,
    pub auth: AuthSummary,
    /// Names of the custom headers (values are never shown).
    pub headers: Vec<String>,
    pub enabled: bool,
    /// `active`, `degraded`, `disabled` or `needs_authorization`.
    pub status: String,
    /// The tools agents may use: the approved definitions (see
    /// `GET /api/connectors/{id}/changes` for what the server changed since).
    pub tools: Vec<ToolInfo>,
    pub tool_count: usize,
    /// How many changes the server made to its tools wait for review.
    pub changes_pending: i32,
    /// Names of the discovered tools switched off for agents (policy `block`).
    pub disabled_tools: Vec<String>,
    /// The policy of tools without one of their own: `auto` (`allow` for
    /// read-only tools, `ask` for the rest), `allow`, `ask` or `block`.
    pub tool_policy: DefaultPolicy,
    /// Each tool's policy (its own, else the default's).
    pub tool_policies: BTreeMap<String, Policy>,
    /// The tools with a policy of their own (the rest follow `tool_policy`).
    pub own_policies: Vec<String>,

    pub tools_discovered_at: Option<DateTime<Utc>>,
    pub last_error_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Something the last change did that the caller should know (an update
    /// that revoked the OAuth authorization of the previous server or client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// Whether credentials are stored, with a masked hint (e.g. `••••abcd`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthSummary {
    pub configured: bool,
    pub hint: Option<String>,
}

/// Body of `GET /api/connectors`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorList {
    pub connectors: Vec<ConnectorView>,
    /// How many connectors this user may have.
    pub limit: u32,
}

impl ConnectorView {
    /// The connector with each tool's policy.
    pub fn new(r: ConnectorRecord, policies: &Policies) -> Self {
        let tool_policies: BTreeMap<String, Policy> = r
            .tools
            .iter()
            .map(|t| (t.name.clone(), policies.of_tool(&r, t)))
            .collect();
        let own_policies = r
            .tools
            .iter()
            .filter(|t| policies.own_of_tool(r.id, &t.name).is_some())
            .map(|t| t.name.clone())
            .collect();
        let disabled_tools = tool_policies
            .iter()
            .filter(|(_, p)| **p == Policy::Block)
            .map(|(t, _)| t.clone())
            .collect();
        let status = if r.enabled { r.state } else { "disabled".to_owned() };
        let tools = r.tools.0;
        Self {
            id: r.id,
            name: r.name,
            description: r.description,
            server_url: r.server_url,
            auth_type: r.auth_type,
            auth: AuthSummary {
                configured: r.auth_configured,
                hint: r.auth_hint,
            },
            headers: r.header_names.0,
            enabled: r.enabled,
            status,
            tool_count: tools.len(),
            changes_pending: r.changes_pending,
            disabled_tools,
            tool_policy: DefaultPolicy::parse(&r.tool_policy),
            tool_policies,
            own_policies,
            tools,
            tools_discovered_at: r.tools_discovered_at,
            last_error_code: r.last_error_code,
            created_at: r.created_at,
            updated_at: r.updated_at,
            notice: None,
        }
    }
}
