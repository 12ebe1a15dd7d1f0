//! Analytics: questions about the user's own tool usage.

use serde_json::{Value, json};

use crate::{SystemTool, ToolAuth, ToolDescriptor, ToolFunction, register_tool};

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

impl SystemTool for Analytics {
    fn descriptor(&self) -> &ToolDescriptor {
        &DESCRIPTOR
    }
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
