//! Malformed requests get JSON-RPC errors with a JSON body. rmcp answers a
//! POST body it cannot read with a plain-text 415 (its body reader is
//! crate-private, with no hook), so the gateway reads JSON bodies first:
//! - not JSON: -32700 Parse error;
//! - JSON but not one JSON-RPC 2.0 message (an array, a number, no
//!   `"jsonrpc": "2.0"`): -32600 Invalid Request;
//! - a request whose params do not fit its method: -32602 Invalid params,
//!   with the request's id.
//!
//! All with HTTP 400, as rmcp answers other malformed requests. Everything
//! else (content types, `Accept`, sessions, a foreign `Origin`) stays rmcp's
//! to answer: a request from a page of another origin is refused (403)
//! whatever its body.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, JsonRpcRequest};
use serde_json::{Value, json};

pub async fn errors_as_json_rpc(body_limit: usize, origin: &str, request: Request, next: Next) -> Response {
    let foreign = request
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|v| v.as_bytes() != origin.as_bytes());
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if request.method() != Method::POST || !is_json || foreign {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, body_limit).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Value::Null,
            -32600,
            "Invalid Request: the body is too large",
        );
    };
    if let Some(answer) = check(&bytes) {
        return answer;
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The error answer for a body that is not one well-formed message, if it is not.
fn check(bytes: &[u8]) -> Option<Response> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => return Some(bad(Value::Null, -32700, &format!("Parse error: {e}"))),
    };
    if !value.is_object() || value["jsonrpc"] != "2.0" {
        let what = if value.is_array() {
            "batches are not supported"
        } else {
            "expected one JSON-RPC 2.0 message"
        };
        return Some(bad(Value::Null, -32600, &format!("Invalid Request: {what}")));
    }
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    match serde_json::from_value::<ClientJsonRpcMessage>(value) {
        // rmcp reads a standard method whose params do not fit it as a
        // custom request, which it would then answer "method not found".
        Ok(JsonRpcMessage::Request(JsonRpcRequest {
            request: ClientRequest::CustomRequest(custom),
            ..
        })) if STANDARD_METHODS.contains(&custom.method.as_str()) => {
            Some(bad(id, -32602, &format!("Invalid params for {}", custom.method)))
        }
        Ok(_) => None,
        Err(e) if id.is_null() => Some(bad(id, -32600, &format!("Invalid Request: {e}"))),
        Err(e) => Some(bad(id, -32602, &format!("Invalid params: {e}"))),
    }
}

/// The requests of the MCP revisions the gateway serves.
const STANDARD_METHODS: [&str; 15] = [
    "initialize",
    "ping",
    "server/discover",
    "subscriptions/listen",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
];

fn bad(id: Value, code: i64, message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, id, code, message)
}

fn error(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> Option<(i64, Value)> {
        let response = check(body.as_bytes())?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = futures::executor::block_on(axum::body::to_bytes(response.into_body(), 1 << 16)).unwrap();
        let value: Value = serde_json::from_slice(&body).unwrap();
        Some((value["error"]["code"].as_i64().unwrap(), value["id"].clone()))
    }

    #[test]
    fn each_malformed_body_gets_its_json_rpc_error() {
        assert_eq!(code("{not json").unwrap().0, -32700);
        assert_eq!(code("[]").unwrap().0, -32600);
        assert_eq!(code("42").unwrap().0, -32600);
        assert_eq!(code(r#"{"id": 1, "method": "tools/list"}"#).unwrap().0, -32600);
        for params in [r#""params": {"arguments": {}}"#, r#""params": {}"#, r#""params": 5"#] {
            let body = format!(r#"{{"jsonrpc": "2.0", "id": 7, "method": "tools/call", {params}}}"#);
            assert_eq!(code(&body), Some((-32602, json!(7))), "{body}");
        }
        assert!(code(r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#).is_none());
        assert!(
            code(r#"{"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}"#).is_none(),
            "rmcp answers -32601"
        );
        assert!(code(r#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#).is_none());
    }
}
