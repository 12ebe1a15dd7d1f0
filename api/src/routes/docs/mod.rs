//! `GET /openapi.json` (OpenAPI 3.1) and `GET /docs`, Swagger UI served from
//! assets embedded in the binary.
//!
//! The document starts from the handlers' annotations; [`complete`] then
//! adds what they cannot say well: request schemas written from the
//! validators' own rules ([`inputs`]), the answers every operation can give
//! and the links between operations ([`responses`]). schemathesis holds the
//! result to the running server (`ops/ci/api-fuzz.sh`).

mod inputs;
mod responses;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use serde_json::Value;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Connect remote MCP servers and built-in system tools, test them, and let agents use them. \
                       Authenticate with `Authorization: Bearer <JWT>`; errors are `{\"error\": {\"code\", \"message\", \"details\"?}}`."
    ),
    modifiers(&BearerAuth),
    components(schemas(
        switchboard_core::domain::FieldError,
        switchboard_core::runs::RunStatus,
        switchboard_core::jobs::RunKind,
        switchboard_core::approvals::ApprovalState
    )),
    security(("bearer" = [])),
    tags(
        (name = "connectors", description = "Your remote MCP servers"),
        (name = "tools", description = "Built-in system tools"),
        (name = "agent", description = "The tool catalog and tool calls, for agents"),
        (name = "runs", description = "Connection tests and discovery as runs: poll or stream (SSE)"),
        (name = "account", description = "Who is signed in, and the audit log of your changes"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// `/docs`, and `/openapi.json` completed on first request (then kept).
pub fn router(openapi: OpenApiDoc) -> Router<AppState> {
    let served: Arc<OnceLock<Bytes>> = Arc::default();
    let document = move || {
        let served = served.clone();
        let openapi = openapi.clone();
        async move {
            let body = served
                .get_or_init(|| Bytes::from(complete(openapi).to_string()))
                .clone();
            ([(header::CONTENT_TYPE, "application/json")], body)
        }
    };
    Router::new()
        .merge(SwaggerUi::new("/docs").config(Config::from("/openapi.json")))
        .route("/openapi.json", get(document))
}

/// The served document: the annotations' one, completed.
pub fn complete(openapi: OpenApiDoc) -> Value {
    let mut doc = serde_json::to_value(openapi).expect("the document serializes");
    inputs::install(&mut doc);
    responses::install(&mut doc);
    doc
}

/// The operation with this `operationId`.
fn operation<'a>(doc: &'a mut Value, id: &str) -> &'a mut Value {
    let found = doc["paths"].as_object_mut().and_then(|paths| {
        paths
            .values_mut()
            .flat_map(|item| item.as_object_mut().into_iter().flat_map(|m| m.values_mut()))
            .find(|op| op["operationId"] == id)
    });
    found.unwrap_or_else(|| panic!("no operation `{id}` in the document"))
}

/// Every operation, with its path and method.
fn operations(doc: &mut Value) -> impl Iterator<Item = (String, String, &mut Value)> {
    doc["paths"].as_object_mut().into_iter().flat_map(|paths| {
        paths.iter_mut().flat_map(|(path, item)| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|methods| methods.iter_mut())
                .filter(|(method, _)| matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch"))
                .map(move |(method, op)| (path.clone(), method.clone(), op))
        })
    })
}
