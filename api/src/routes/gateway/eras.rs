//! The protocol revisions the gateway serves, and the one place it works
//! around rmcp for them.
//!
//! 2025-03-26 to 2025-11-25 clients open a session with `initialize`
//! (change notices arrive on its stream); 2026-07-28 clients ask
//! `server/discover`, send each request on its own with the version in
//! `_meta`, and listen for changes with `subscriptions/listen`. rmcp serves
//! both and shapes each result for the negotiated version, except one field:
//! a 2026-07-28 result must carry `resultType`, rmcp's constructors set it,
//! but a result read back from JSON without it (a tool call's result as the
//! run stored it, from an upstream of any era) keeps `None`, and rmcp sends
//! it as is. [`completed`] sets it; rmcp strips it again for older peers.

use rmcp::model::{CallToolResult, ProtocolVersion, ResultType, ServerResult};

/// What `server/discover` and `initialize` offer: the revisions tested end to end.
pub const SUPPORTED: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// A call result as every era needs it (see the module doc).
pub fn completed(mut result: CallToolResult) -> CallToolResult {
    result.result_type.get_or_insert(ResultType::COMPLETE);
    result
}

/// Any relayed result as every era needs it (see the module doc).
pub fn complete(result: &mut ServerResult) {
    let slot = match result {
        ServerResult::CallToolResult(r) => &mut r.result_type,
        ServerResult::ReadResourceResult(r) => &mut r.result_type,
        ServerResult::GetPromptResult(r) => &mut r.result_type,
        ServerResult::CompleteResult(r) => &mut r.result_type,
        ServerResult::ListToolsResult(r) => &mut r.result_type,
        ServerResult::ListPromptsResult(r) => &mut r.result_type,
        ServerResult::ListResourcesResult(r) => &mut r.result_type,
        ServerResult::ListResourceTemplatesResult(r) => &mut r.result_type,
        _ => return,
    };
    slot.get_or_insert(ResultType::COMPLETE);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The rmcp gap, reproduced: a result read from JSON has no `resultType`,
    /// and serializes without one (a 2026-07-28 client rejects it).
    #[test]
    fn a_stored_result_gets_the_result_type_rmcp_leaves_out() {
        let stored: CallToolResult =
            serde_json::from_value(json!({"content": [{"type": "text", "text": "hi"}]})).unwrap();
        assert_eq!(
            stored.result_type, None,
            "rmcp reads no resultType (if this changes, drop the workaround)"
        );
        assert!(serde_json::to_value(&stored).unwrap().get("resultType").is_none());
        let sent = serde_json::to_value(completed(stored)).unwrap();
        assert_eq!(sent["resultType"], "complete");
    }
}
