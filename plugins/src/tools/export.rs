//! Export: the user's connectors (never their secrets) and invocation history.

use serde_json::{Value, json};

use crate::{SystemTool, ToolAuth, ToolDescriptor, ToolFunction, register_tool};

pub struct Export;

static DESCRIPTOR: ToolDescriptor = ToolDescriptor {
    id: "export",
    name: "Export",
    description: "Exports your connectors and tool-call history as JSON or CSV.",
    icon: "download",
    category: "data",
    auth: ToolAuth::None,
    is_beta: false,
    functions: &[ToolFunction {
        name: "export_data",
        description: "Export connectors (without secrets) and/or invocation history.",
        input_schema: export_schema,
        read_only: true,
        destructive: false,
    }],
};

impl SystemTool for Export {
    fn descriptor(&self) -> &ToolDescriptor {
        &DESCRIPTOR
    }
}

register_tool!(EXPORT);
static EXPORT: Export = Export;

fn export_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "format": {"type": "string", "enum": ["json", "csv"], "default": "json"},
            "include": {
                "type": "array",
                "items": {"type": "string", "enum": ["connectors", "invocations"]},
                "default": ["connectors", "invocations"]
            }
        },
        "additionalProperties": false
    })
}
