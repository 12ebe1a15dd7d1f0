//! The invocation log row, metrics and event of each proxied call.

use std::time::Duration;

use rmcp::ErrorData;
use rmcp::model::ServerResult;
use switchboard_core::store::InvocationRecord;

use super::ProxyTarget;
use crate::state::AppState;

/// `ok`, `tool_error` or `failed` (with the JSON-RPC error code), as the invocation log says it.
pub fn outcome_label(outcome: &Result<ServerResult, ErrorData>) -> (&'static str, Option<String>) {
    match outcome {
        Ok(ServerResult::CallToolResult(r)) if r.is_error == Some(true) => ("tool_error", None),
        Ok(_) => ("ok", None),
        Err(e) => ("failed", Some(format!("JSONRPC_{}", e.code.0))),
    }
}

/// The invocation log row, metrics and event of a proxied call (no run: its
/// `run_id` is the call's own id); never the arguments.
pub async fn log(
    state: &AppState,
    target: &ProxyTarget,
    tool: &str,
    (label, code): (&'static str, Option<String>),
    took: Duration,
) {
    let now = chrono::Utc::now();
    let record = InvocationRecord {
        id: uuid::Uuid::now_v7(),
        owner: target.user.as_str().to_owned(),
        run_id: uuid::Uuid::now_v7(),
        source_kind: "connector".into(),
        connector_id: Some(target.connector.id),
        system_tool: None,
        tool_name: tool.to_owned(),
        catalog_name: tool.to_owned(),
        outcome: label.to_owned(),
        error_code: code,
        attempts: 1,
        duration_ms: took.as_secs_f64() * 1000.0,
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = state.services.store.record_invocation(&record).await {
        tracing::warn!(error = %e, "failed to record a proxied call");
    }
    metrics::counter!("switchboard_invocations_total", "source" => "proxy", "outcome" => label).increment(1);
    metrics::histogram!("switchboard_invocation_seconds", "source" => "proxy").record(took.as_secs_f64());
    tracing::info!(
        target: "switchboard::invocations",
        user_id = %target.user,
        connector_id = %target.connector.id,
        tool,
        outcome = label,
        duration_ms = record.duration_ms,
        via = "proxy",
        "tool call"
    );
}
