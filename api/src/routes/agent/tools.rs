//! `GET /api/agent/tools?format=openai|mcp`: the user's catalog.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct CatalogQuery {
    /// `openai` (function calling, the default) or `mcp` (`tools/list` shape).
    pub format: Option<String>,
}

/// The tools an agent may call for this user: enabled connectors' tools and
/// connected system tools, minus the tools switched off, under names matching
/// `^[a-zA-Z0-9_-]{1,64}$`.
#[utoipa::path(get, path = "/api/agent/tools", tag = "agent", params(("format" = Option<String>, Query, description = "`openai` (the default) or `mcp`")),
    responses((status = 200, description = "`{format, tools}`", body = Object), (status = 422, body = ErrorBody)))]
pub async fn agent_tools(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(query): ApiQuery<CatalogQuery>,
) -> ApiResult<Json<Value>> {
    let catalog = switchboard_plugins::catalog::load(&*state.store, &user).await?;
    let format = query.format.as_deref().unwrap_or("openai");
    let tools: Vec<Value> = match format {
        "openai" => catalog.entries().iter().map(|e| e.openai()).collect(),
        "mcp" => catalog.entries().iter().map(|e| e.mcp()).collect(),
        other => {
            return Err(ApiError::validation(vec![switchboard_core::domain::FieldError {
                loc: vec!["query".into(), "format".into()],
                msg: format!("unknown format `{other}`: use openai or mcp"),
            }]));
        }
    };
    Ok(Json(json!({"format": format, "tools": tools})))
}
