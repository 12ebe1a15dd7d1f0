//! Gmail: send, search and read the user's mail (OAuth with Google).

use serde_json::{Value, json};

use crate::{SystemTool, ToolAuth, ToolDescriptor, ToolFunction, register_tool};

pub struct Gmail;

static DESCRIPTOR: ToolDescriptor = ToolDescriptor {
    id: "gmail",
    name: "Gmail",
    description: "Send, search and read email in your Gmail account.",
    icon: "mail",
    category: "communication",
    auth: ToolAuth::Oauth,
    is_beta: false,
    functions: &[
        ToolFunction {
            name: "send_email",
            description: "Send an email from the user's Gmail account.",
            input_schema: send_email_schema,
            read_only: false,
            destructive: true,
        },
        ToolFunction {
            name: "search_messages",
            description: "Search messages with Gmail query syntax (e.g. `from:alice is:unread`).",
            input_schema: search_schema,
            read_only: true,
            destructive: false,
        },
        ToolFunction {
            name: "read_message",
            description: "Read one message by its id: headers and plain-text body.",
            input_schema: read_schema,
            read_only: true,
            destructive: false,
        },
    ],
};

impl SystemTool for Gmail {
    fn descriptor(&self) -> &ToolDescriptor {
        &DESCRIPTOR
    }
}

register_tool!(GMAIL);
static GMAIL: Gmail = Gmail;

fn addresses() -> Value {
    json!({"type": "array", "items": {"type": "string", "format": "email", "maxLength": 320}, "maxItems": 50})
}

fn send_email_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "to": addresses(),
            "cc": addresses(),
            "subject": {"type": "string", "maxLength": 998},
            "body": {"type": "string", "maxLength": 100000, "description": "Plain-text body."}
        },
        "required": ["to", "subject", "body"],
        "additionalProperties": false
    })
}

fn search_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "maxLength": 2000},
            "max_results": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
        },
        "required": ["query"],
        "additionalProperties": false
    })
}

fn read_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"message_id": {"type": "string", "minLength": 1, "maxLength": 256}},
        "required": ["message_id"],
        "additionalProperties": false
    })
}
