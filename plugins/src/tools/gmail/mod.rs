//! Gmail: send, search and read the user's mail through the Gmail REST API
//! (base URL `SWITCHBOARD_GMAIL_API_BASE`), with the user's own OAuth access
//! token. Until the user connects Gmail, every function answers `NOT_CONNECTED`.

mod api;
mod message;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::invoke::{ToolContext, ToolError, ToolOutput, arguments};
use crate::{SystemTool, ToolAuth, ToolDescriptor, ToolFunction, register_tool};
use api::GmailApi;

pub struct Gmail;

static DESCRIPTOR: ToolDescriptor = ToolDescriptor {
    id: "gmail",
    name: "Gmail",
    description: "Send, search and read email in your Gmail account.",
    icon: "mail",
    category: "communication",
    auth: ToolAuth::Google {
        scopes: &[
            "https://www.googleapis.com/auth/gmail.send",
            "https://www.googleapis.com/auth/gmail.readonly",
        ],
    },
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

#[derive(Deserialize)]
struct SendArgs {
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    subject: String,
    body: String,
}

#[derive(Deserialize)]
struct SearchArgs {
    query: String,
    #[serde(default = "default_page")]
    max_results: u32,
}

fn default_page() -> u32 {
    10
}

#[derive(Deserialize)]
struct ReadArgs {
    message_id: String,
}

#[async_trait::async_trait]
impl SystemTool for Gmail {
    fn descriptor(&self) -> &ToolDescriptor {
        &DESCRIPTOR
    }

    async fn invoke(&self, ctx: &ToolContext<'_>, function: &str, args: Value) -> Result<ToolOutput, ToolError> {
        let token = ctx
            .credentials
            .as_ref()
            .and_then(|c| c.get("access_token"))
            .and_then(Value::as_str)
            .ok_or_else(|| ToolError::not_connected(DESCRIPTOR.name))?;
        let api = GmailApi::new(
            &ctx.services.operator_http,
            &ctx.services.settings.agent.gmail_api_base,
            token,
        );
        match function {
            "send_email" => {
                let args: SendArgs = arguments(args)?;
                let raw = message::rfc2822(&args.to, &args.cc, &args.subject, &args.body)?;
                let sent = api.send(&raw).await?;
                Ok(ToolOutput::json(
                    json!({"id": sent["id"], "thread_id": sent["threadId"]}),
                ))
            }
            "search_messages" => {
                let args: SearchArgs = arguments(args)?;
                Ok(ToolOutput::json(
                    json!({"messages": api.search(&args.query, args.max_results).await?}),
                ))
            }
            "read_message" => {
                let args: ReadArgs = arguments(args)?;
                Ok(ToolOutput::json(api.read(&args.message_id).await?))
            }
            other => Err(ToolError::unknown_function(DESCRIPTOR.name, other)),
        }
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
        "properties": {"message_id": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[A-Za-z0-9_-]+$"}},
        "required": ["message_id"],
        "additionalProperties": false
    })
}
