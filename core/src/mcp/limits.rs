//! Caps on what an (untrusted) server can make Switchboard hold. A server past
//! one gets `INVALID_MCP_SERVER` with a message naming the limit and the
//! setting that raises it; nothing it sent is kept.

use serde_json::Value;

use super::codes::{ErrorCode, Failure};
use crate::domain::ToolInfo;

/// Caps on what a server may send. Each public field is a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct McpLimits {
    /// `SWITCHBOARD_MCP_MAX_RESPONSE_BYTES`: largest JSON body or single SSE event.
    pub max_message_bytes: usize,
    /// `SWITCHBOARD_MCP_MAX_TOOLS`: most tools accepted from one server, over all pages.
    pub max_tools: usize,
    /// Most `tools/list` pages followed.
    pub max_pages: usize,
    /// `SWITCHBOARD_MCP_MAX_TOOL_LIST_BYTES`: the whole tool list, as JSON.
    pub max_tool_list_bytes: usize,
    /// `SWITCHBOARD_MCP_MAX_DESCRIPTION_BYTES`: one tool's description (and title).
    pub max_description_bytes: usize,
    /// `SWITCHBOARD_MCP_MAX_SCHEMA_BYTES`: one input or output schema, as JSON.
    pub max_schema_bytes: usize,
    /// `SWITCHBOARD_MCP_MAX_SCHEMA_DEPTH`: nesting of one schema.
    pub max_schema_depth: usize,
    /// `SWITCHBOARD_MCP_MAX_RESULT_BYTES`: one tool call's result, as JSON.
    pub max_result_bytes: usize,
}

impl Default for McpLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 2 * 1024 * 1024,
            max_tools: 1000,
            max_pages: 50,
            max_tool_list_bytes: 4 * 1024 * 1024,
            max_description_bytes: 32 * 1024,
            max_schema_bytes: 256 * 1024,
            max_schema_depth: 32,
            max_result_bytes: 1024 * 1024,
        }
    }
}

fn over(what: &str, limit: usize, unit: &str, setting: &str) -> Failure {
    Failure::new(
        ErrorCode::InvalidMcpServer,
        format!("{what} is over Switchboard's limit of {limit} {unit} ({setting}; the operator can raise it)"),
    )
}

impl McpLimits {
    /// Checks one tool; returns the bytes it counts against the list's total.
    pub fn check_tool(&self, tool: &ToolInfo) -> Result<usize, Failure> {
        let name = super::classify::excerpt(&tool.name);
        let text = tool.description.as_ref().map_or(0, String::len) + tool.title.as_ref().map_or(0, String::len);
        if text > self.max_description_bytes {
            return Err(over(
                &format!("the description of tool `{name}`"),
                self.max_description_bytes,
                "bytes",
                "SWITCHBOARD_MCP_MAX_DESCRIPTION_BYTES",
            ));
        }
        let mut total = text + tool.name.len();
        for schema in std::iter::once(&tool.input_schema).chain(tool.output_schema.as_ref()) {
            let bytes = serde_json::to_vec(schema).map_or(usize::MAX, |v| v.len());
            if bytes > self.max_schema_bytes {
                return Err(over(
                    &format!("a schema of tool `{name}`"),
                    self.max_schema_bytes,
                    "bytes",
                    "SWITCHBOARD_MCP_MAX_SCHEMA_BYTES",
                ));
            }
            if depth(schema) > self.max_schema_depth {
                return Err(self.schema_too_deep(&name));
            }
            total += bytes;
        }
        total += tool
            .annotations
            .as_ref()
            .map_or(0, |a| serde_json::to_vec(a).map_or(0, |v| v.len()));
        Ok(total)
    }

    pub fn schema_too_deep(&self, tool: &str) -> Failure {
        over(
            &format!("the nesting of a schema of tool `{tool}`"),
            self.max_schema_depth,
            "levels",
            "SWITCHBOARD_MCP_MAX_SCHEMA_DEPTH",
        )
    }

    /// Refuses a tool list whose running total passed the cap.
    pub fn check_list_total(&self, bytes: usize) -> Result<(), Failure> {
        if bytes > self.max_tool_list_bytes {
            return Err(over(
                "the server's tool list",
                self.max_tool_list_bytes,
                "bytes",
                "SWITCHBOARD_MCP_MAX_TOOL_LIST_BYTES",
            ));
        }
        Ok(())
    }

    pub fn too_many_tools(&self) -> Failure {
        over(
            "the number of tools the server lists",
            self.max_tools,
            "tools",
            "SWITCHBOARD_MCP_MAX_TOOLS",
        )
    }

    pub fn message_too_large(&self) -> Failure {
        Failure::new(
            ErrorCode::InvalidMcpServer,
            super::classify::oversized_message(self.max_message_bytes),
        )
    }

    /// A tool call's result, as JSON, must fit [`Self::max_result_bytes`].
    pub fn check_result(&self, result: &Value) -> Result<(), String> {
        let bytes = serde_json::to_vec(result).map_or(usize::MAX, |v| v.len());
        if bytes > self.max_result_bytes {
            return Err(over(
                "the tool's result",
                self.max_result_bytes,
                "bytes",
                "SWITCHBOARD_MCP_MAX_RESULT_BYTES",
            )
            .message);
        }
        Ok(())
    }
}

/// Nesting depth of a JSON value (a scalar is 1), without recursion.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, level)) = stack.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, level + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tool(description: &str, schema: Value) -> ToolInfo {
        ToolInfo {
            name: "t".into(),
            title: None,
            description: Some(description.into()),
            input_schema: schema,
            output_schema: None,
            annotations: None,
        }
    }

    #[test]
    fn each_cap_names_its_setting() {
        let limits = McpLimits {
            max_description_bytes: 10,
            max_schema_bytes: 64,
            max_schema_depth: 3,
            ..McpLimits::default()
        };
        let long = limits.check_tool(&tool(&"x".repeat(11), json!({}))).unwrap_err();
        assert!(
            long.message.contains("SWITCHBOARD_MCP_MAX_DESCRIPTION_BYTES"),
            "{}",
            long.message
        );
        assert_eq!(long.code, ErrorCode::InvalidMcpServer);
        let big = limits
            .check_tool(&tool("ok", json!({"description": "y".repeat(80)})))
            .unwrap_err();
        assert!(
            big.message.contains("SWITCHBOARD_MCP_MAX_SCHEMA_BYTES"),
            "{}",
            big.message
        );
        let deep = limits
            .check_tool(&tool("ok", json!({"a": {"b": {"c": 1}}})))
            .unwrap_err();
        assert!(
            deep.message.contains("SWITCHBOARD_MCP_MAX_SCHEMA_DEPTH"),
            "{}",
            deep.message
        );
        let fine = limits.check_tool(&tool("ok", json!({"a": {"b": 1}}))).unwrap();
        assert_eq!(fine, 1 + 2 + r#"{"a":{"b":1}}"#.len());
        assert!(limits.check_list_total(limits.max_tool_list_bytes + 1).is_err());
        assert!(
            limits
                .check_result(&json!({"content": "z".repeat(limits.max_result_bytes)}))
                .unwrap_err()
                .contains("SWITCHBOARD_MCP_MAX_RESULT_BYTES")
        );
    }

    #[test]
    fn depth_counts_levels() {
        assert_eq!(depth(&json!(1)), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": 2}]})), 4);
        let mut deep = json!(0);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        assert_eq!(depth(&deep), 101);
    }
}
