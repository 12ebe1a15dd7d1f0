//! Request schemas written from the validators' rules (the constants and
//! patterns of `switchboard_core::domain`), so that a body the document calls
//! valid is one the server takes, and the other way round. Three connector
//! bodies, because the routes differ:
//! - `ConnectorInput` (create): every secret its `auth_type` needs is sent;
//! - `ConnectorUpdate` (update, test of a saved connector): an omitted or
//!   `null` secret keeps the stored one (409 `SECRET_NOT_STORED` when none
//!   may be kept);
//! - `ConnectorTest` (test before save): like create, but `server_url` is any
//!   string: one that is not a usable URL is a failed run (`INVALID_URL`).

use serde_json::{Value, json};
use switchboard_core::domain::auth::{MAX_CLIENT_ID_LEN, MAX_SCOPE_LEN, MAX_SCOPES, MAX_TOKEN_LEN};
use switchboard_core::domain::connector::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_URL_LEN};
use switchboard_core::domain::headers::{MAX_HEADERS, MAX_NAME_LEN, MAX_VALUE_LEN};
use switchboard_core::domain::patterns::{
    HEADER_NAME, HEADER_VALUE, VISIBLE_ASCII, description_pattern, name_pattern, reserved_header_pattern, url_pattern,
};

use super::operation;
use crate::routes::agent::MAX_MESSAGES;

/// Longest idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 255;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    Create,
    Update,
    Test,
}

pub fn install(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    schemas["ConnectorInput"] = connector(Body::Create);
    schemas["ConnectorUpdate"] = connector(Body::Update);
    schemas["ConnectorTest"] = connector(Body::Test);
    let key = &mut schemas["Invocation"]["properties"]["idempotency_key"];
    key["minLength"] = json!(1);
    key["maxLength"] = json!(MAX_IDEMPOTENCY_KEY);
    key["pattern"] = json!(VISIBLE_ASCII);
    schemas["AgentTurnInput"]["properties"]["messages"]["minItems"] = json!(1);
    schemas["AgentTurnInput"]["properties"]["messages"]["maxItems"] = json!(MAX_MESSAGES);
    schemas["ChatMessage"]["properties"]["role"]["enum"] = json!(["system", "user", "assistant"]);
    body(doc, "update_connector", "ConnectorUpdate", true);
    body(doc, "test_saved_connector", "ConnectorUpdate", false);
    body(doc, "test_connection", "ConnectorTest", true);

    let format = json!({"type": "string", "enum": ["openai", "mcp"]});
    parameter(doc, "agent_tools", "format", format);
    let event_id = json!({"type": "string", "pattern": "^[0-9]{1,19}$"});
    parameter(doc, "run_events", "Last-Event-ID", event_id);
}

/// Points an operation's JSON body at `schema` (`null` allowed when optional).
fn body(doc: &mut Value, operation_id: &str, schema: &str, required: bool) {
    let reference = json!({"$ref": format!("#/components/schemas/{schema}")});
    let schema = if required {
        reference
    } else {
        json!({"oneOf": [reference, {"type": "null"}]})
    };
    let request = &mut operation(doc, operation_id)["requestBody"];
    request["content"]["application/json"]["schema"] = schema;
    request["required"] = json!(required);
}

fn parameter(doc: &mut Value, operation_id: &str, name: &str, schema: Value) {
    let parameters = operation(doc, operation_id)["parameters"].as_array_mut();
    let found = parameters.into_iter().flatten().find(|p| p["name"] == name);
    found.unwrap_or_else(|| panic!("no parameter `{name}` on `{operation_id}`"))["schema"] = schema;
}

fn nullable(mut schema: Value) -> Value {
    schema["type"] = json!([schema["type"], "null"]);
    schema
}

/// 1..=`max` visible ASCII characters.
fn visible(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": VISIBLE_ASCII})
}

fn connector(kind: Body) -> Value {
    let keeps = kind == Body::Update;
    let text = |max: usize, pattern: &str| json!({"type": "string", "maxLength": max, "pattern": pattern});
    let (name, server_url) = match kind {
        Body::Test => (json!({"type": ["string", "null"]}), json!({"type": "string"})),
        _ => (
            json!({"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS, "pattern": name_pattern(),
                   "description": "Trimmed; unique per user: names that differ only in case or by compatibility \
                                   forms (fullwidth `Ｃａｒｏｌ` and `Carol`) are the same name."}),
            json!({"type": "string", "maxLength": MAX_URL_LEN, "pattern": url_pattern(),
                   "description": "`http(s)://…` of the MCP endpoint, written plainly: no user name, password, \
                                   fragment, spaces or backslashes."}),
        ),
    };
    let description = match kind {
        Body::Test => json!({"type": ["string", "null"]}),
        _ => nullable(text(MAX_DESCRIPTION_CHARS, description_pattern())),
    };
    let mut header_value =
        json!({"type": "string", "minLength": 1, "maxLength": MAX_VALUE_LEN, "pattern": HEADER_VALUE});
    if keeps {
        header_value = nullable(header_value);
    }
    let headers = json!({
        "type": ["object", "null"],
        "maxProperties": MAX_HEADERS,
        "propertyNames": {"minLength": 1, "maxLength": MAX_NAME_LEN, "pattern": HEADER_NAME,
                          "not": {"pattern": reserved_header_pattern()}},
        "additionalProperties": header_value,
        "description": if keeps {
            "Extra headers sent to the server (names unique ignoring case); a `null` value keeps the stored one; \
             leaving `headers` out keeps them all."
        } else {
            "Extra headers sent to the server (names unique ignoring case)."
        },
    });
    let required = if kind == Body::Test {
        json!(["server_url"])
    } else {
        json!(["name", "server_url"])
    };
    json!({
        "type": "object",
        "description": match kind {
            Body::Create => "Body of `POST /api/connectors`.",
            Body::Update => "Body of `PUT /api/connectors/{id}` and of a test of a saved connector with edited \
                             settings: omitted secrets keep the stored ones where they may go (same origin).",
            Body::Test => "Body of `POST /api/connectors/test`: a `server_url` that is no usable URL is a failed \
                           run (`INVALID_URL`), not an error.",
        },
        "additionalProperties": false,
        "required": required,
        "properties": {
            "name": name,
            "description": description,
            "server_url": server_url,
            "auth_type": {"type": ["string", "null"], "enum": ["none", "bearer", "oauth", null],
                          "description": "`none` when left out."},
            "auth_config": {"type": ["object", "null"], "description": "Its shape depends on `auth_type`."},
            "headers": headers,
            "enabled": {"type": ["boolean", "null"], "description": "Defaults to `true` on create."},
            "test_run_id": {"type": ["string", "null"], "format": "uuid",
                            "description": "Create/update: a passed connection test of exactly these settings \
                                            (400 `CONNECTION_NOT_VERIFIED` otherwise); without it the server tests \
                                            first."},
        },
        "oneOf": [
            {"properties": {"auth_type": {"enum": ["none", null]},
                            "auth_config": {"type": ["object", "null"], "maxProperties": 0}}},
            {"required": if keeps { json!(["auth_type"]) } else { json!(["auth_type", "auth_config"]) },
             "properties": {"auth_type": {"const": "bearer"}, "auth_config": bearer(keeps)}},
            {"required": ["auth_type"],
             "properties": {"auth_type": {"const": "oauth"}, "auth_config": oauth()}},
        ],
    })
}

/// `auth_config` for `bearer`.
fn bearer(keeps: bool) -> Value {
    if keeps {
        json!({
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": {"token": {"type": ["string", "null"], "maxLength": MAX_TOKEN_LEN,
                                     "pattern": "^(?:[\\u0021-\\u007E]+)?$",
                                     "description": "Sent as `Authorization: Bearer <token>`; left out, `null` or \
                                                     empty keeps the stored one."}},
        })
    } else {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["token"],
            "properties": {"token": visible(MAX_TOKEN_LEN)},
        })
    }
}

/// `auth_config` for `oauth`: a pre-registered client, or tokens already
/// issued; everything optional (left out, a value keeps the stored one).
fn oauth() -> Value {
    let secret = nullable(visible(MAX_TOKEN_LEN));
    json!({
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": {
            "client_id": nullable(visible(MAX_CLIENT_ID_LEN)),
            "client_secret": secret,
            "scopes": {"type": "array", "maxItems": MAX_SCOPES, "items": visible(MAX_SCOPE_LEN)},
            "access_token": secret,
            "refresh_token": secret,
        },
        "if": {"required": ["client_secret"], "properties": {"client_secret": {"type": "string"}}},
        "then": {"required": ["client_id"], "properties": {"client_id": {"type": "string"}}},
    })
}
