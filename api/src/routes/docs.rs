//! `GET /openapi.json` (OpenAPI 3.1, generated from the handlers' annotations)
//! and `GET /docs`, Swagger UI served from assets embedded in the binary.

use axum::Router;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "Connect remote MCP servers and built-in system tools, test them, and let agents use them. \
                       Authenticate with `Authorization: Bearer <JWT>`; errors are `{\"error\": {\"code\", \"message\", \"details\"?}}`."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "connectors", description = "Your remote MCP servers"),
        (name = "tools", description = "Built-in system tools"),
        (name = "agent", description = "The tool catalog and tool calls, for agents"),
        (name = "runs", description = "Connection tests and discovery as runs: poll or stream (SSE)"),
        (name = "account", description = "Who is signed in"),
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

pub fn router(openapi: OpenApiDoc) -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
}
