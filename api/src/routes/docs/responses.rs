//! What every operation can answer besides its own results (the extractors'
//! and the error policy's answers: see `crate::extract` and `crate::error`),
//! and the links a client (or a stateful tester) follows from a created
//! connector or a started run to the operations on it.

use serde_json::{Map, Value, json};

use super::{operation, operations};

/// Shared answers, by name: (status, description).
const SHARED: [(&str, &str, &str); 7] = [
    (
        "Unauthorized",
        "401",
        "`UNAUTHORIZED`: no bearer token, or one that is not valid (`WWW-Authenticate` says why).",
    ),
    (
        "MalformedBody",
        "400",
        "`MALFORMED_JSON` or `BAD_REQUEST`: the body is not JSON, or could not be read.",
    ),
    (
        "PayloadTooLarge",
        "413",
        "`PAYLOAD_TOO_LARGE`: the body is over this route's limit.",
    ),
    (
        "UnsupportedMediaType",
        "415",
        "`UNSUPPORTED_MEDIA_TYPE`: send the body with `Content-Type: application/json`.",
    ),
    (
        "ValidationFailed",
        "422",
        "`VALIDATION_FAILED`: `details` lists each invalid field as `{loc, msg}`.",
    ),
    (
        "RateLimited",
        "429",
        "`RATE_LIMITED`, `BACKLOG_FULL` or `TOO_MANY_STREAMS`: wait `Retry-After` seconds.",
    ),
    (
        "Unavailable",
        "503",
        "`DATABASE_UNAVAILABLE` or `QUEUE_UNAVAILABLE`: try again after `Retry-After` seconds.",
    ),
];

/// Operations that can be refused for a per-user limit (rate, backlog, streams).
const LIMITED: [&str; 10] = [
    "create_connector",
    "update_connector",
    "test_connection",
    "test_saved_connector",
    "refresh_connector",
    "authorize_connector",
    "connect_tool",
    "invoke",
    "start_turn",
    "run_events",
];

/// Operations on one connector, reachable with its `id`.
const ON_CONNECTOR: [&str; 8] = [
    "get_connector",
    "update_connector",
    "delete_connector",
    "toggle_connector",
    "test_saved_connector",
    "refresh_connector",
    "authorize_connector",
    "switch_tool",
];

/// Operations that start a run and answer it (202, or 200 after `Prefer: wait`).
const STARTS_RUN: [&str; 5] = [
    "test_connection",
    "test_saved_connector",
    "refresh_connector",
    "invoke",
    "start_turn",
];

pub fn install(doc: &mut Value) {
    let responses = &mut doc["components"]["responses"];
    for (name, _, description) in SHARED {
        responses[name] = json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        });
    }
    responses["Unauthorized"]["headers"] = json!({"WWW-Authenticate": {"schema": {"type": "string"}}});
    for name in ["RateLimited", "Unavailable"] {
        responses[name]["headers"] = json!({"Retry-After": {"schema": {"type": "integer", "minimum": 0}}});
    }
    doc["components"]["schemas"]["ErrorDetail"]["properties"]["details"] = json!({
        "description": "For `VALIDATION_FAILED` and `SECRET_NOT_STORED`: the fields, as `[{loc, msg}]`; \
                        for `CONNECTION_NOT_VERIFIED`: `{run}`, the test that did not pass.",
        "oneOf": [
            {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
            {"type": "object"},
        ],
    });

    for (path, _, op) in operations(doc) {
        let mut shared = vec!["Unavailable"];
        if path.starts_with("/api/") {
            shared.push("Unauthorized");
        }
        if op.get("requestBody").is_some() {
            shared.extend([
                "MalformedBody",
                "PayloadTooLarge",
                "UnsupportedMediaType",
                "ValidationFailed",
            ]);
        }
        if LIMITED.contains(&op["operationId"].as_str().unwrap_or_default()) {
            shared.push("RateLimited");
        }
        for name in shared {
            let status = SHARED
                .iter()
                .find(|(n, ..)| *n == name)
                .map(|(_, s, _)| *s)
                .unwrap_or_default();
            let answers = op["responses"].as_object_mut().expect("responses");
            answers
                .entry(status)
                .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
        }
    }
    links(doc);
}

fn links(doc: &mut Value) {
    let by_id = |pointer: &str| json!({"id": format!("$response.body#{pointer}")});
    let to_connector = |pointer: &str| -> Map<String, Value> {
        ON_CONNECTOR
            .iter()
            .filter(|&&target| target != "switch_tool")
            .map(|&target| {
                (
                    target.to_owned(),
                    json!({"operationId": target, "parameters": by_id(pointer)}),
                )
            })
            .collect()
    };
    add_links(doc, "create_connector", "201", to_connector("/id"));
    let mut switch = Map::new();
    switch.insert(
        "switch_tool".into(),
        json!({"operationId": "switch_tool",
               "parameters": {"id": "$response.body#/id", "tool_name": "$response.body#/tools/0/name"}}),
    );
    add_links(doc, "get_connector", "200", switch);
    for source in STARTS_RUN {
        let to_run: Map<String, Value> = ["get_run", "run_events"]
            .iter()
            .map(|&target| {
                (
                    target.to_owned(),
                    json!({"operationId": target, "parameters": by_id("/id")}),
                )
            })
            .collect();
        for status in ["200", "202"] {
            add_links(doc, source, status, to_run.clone());
        }
    }
}

fn add_links(doc: &mut Value, operation_id: &str, status: &str, links: Map<String, Value>) {
    let response = &mut operation(doc, operation_id)["responses"][status];
    assert!(response.is_object(), "`{operation_id}` documents no {status}");
    response["links"] = Value::Object(links);
}
