//! Connectors: `GET/POST /api/connectors`, `GET/PUT/DELETE /api/connectors/{id}`,
//! `POST /api/connectors/{id}/toggle`, `PUT /api/connectors/{id}/tools/{tool_name}` (a tool's
//! policy), `PUT /api/connectors/{id}/tool-policy` (the default for its tools),
//! `GET/POST /api/connectors/{id}/changes` (tool changes held for review),
//! `POST /api/connectors/{id}/authorize` (OAuth). Every lookup is by (user, id): another
//! user's connector answers 404 exactly like a missing one.

mod authorize;
mod changes;
mod switches;
mod testing;
mod verify;

mod view;
mod write;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use switchboard_core::audit::{self, AuditKind};
use switchboard_core::domain::{ConnectorInput, UserId};
use switchboard_core::store::{ConnectorRecord, StoreError};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, MaybeJson};
use crate::oplog::Op;
use crate::state::AppState;
pub use view::{ConnectorList, ConnectorView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connectors, create_connector))
        .routes(routes!(get_connector, update_connector, delete_connector))
        .routes(routes!(toggle_connector))
        .routes(routes!(switches::switch_tool))
        .routes(routes!(switches::set_default_policy))
        .routes(routes!(changes::list_changes, changes::decide_changes))
        .routes(routes!(testing::test_connection))
        .routes(routes!(testing::test_saved_connector))
        .routes(routes!(testing::refresh_connector))
        .routes(routes!(authorize::authorize_connector))
}

/// A path id that is not a UUID names no connector: 404, like any unknown id.
fn parse_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("connector"))
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("connector"),
        other => other.into(),
    }
}

/// The user's connectors, oldest first, and the per-user limit.
#[utoipa::path(get, path = "/api/connectors", tag = "connectors",
    responses((status = 200, body = ConnectorList), (status = 401, body = ErrorBody)))]
async fn list_connectors(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<ConnectorList>> {
    let records = state.store.connectors(&user).await?;
    let policies = state.store.policies(&user).await?;
    Ok(Json(ConnectorList {
        connectors: records.into_iter().map(|r| ConnectorView::new(r, &policies)).collect(),
        limit: state.settings.max_connectors,
    }))
}

/// Creates a connector.
#[utoipa::path(post, path = "/api/connectors", tag = "connectors", request_body = ConnectorInput,
    responses((status = 201, body = ConnectorView, headers(("Location" = String, description = "The new connector"))),
        (status = 400, description = "CONNECTION_NOT_VERIFIED: the server did not pass its connection test (`details.run`)", body = ErrorBody),
        (status = 409, description = "CONNECTOR_NAME_TAKEN or CONNECTOR_LIMIT_REACHED", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create_connector(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(input): ApiJson<ConnectorInput>,
) -> ApiResult<(StatusCode, HeaderMap, Json<ConnectorView>)> {
    let op = Op::start("connector.create", &user);
    let result = write::create(&state, &user, input).await;
    let id = result.as_ref().ok().map(|r| r.id.to_string());
    let record = op.finish(id.as_deref(), result)?;
    state
        .audit(
            &user,
            AuditKind::ConnectorCreated,
            audit::connector(record.id),
            summary(&record),
        )
        .await;
    state.events.catalog_changed(user.as_str()).await;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/connectors/{}", record.id)) {
        headers.insert(header::LOCATION, location);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(view_of(&state, &user, record).await?),
    ))
}

/// One connector.
#[utoipa::path(get, path = "/api/connectors/{id}", tag = "connectors",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody)))]
async fn get_connector(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ConnectorView>> {
    let record = state.store.connector(&user, parse_id(&id)?).await.map_err(not_found)?;
    view_of(&state, &user, record).await.map(Json)
}

/// What the audit log says of a saved connector: where it points (the
/// origin only: a URL's path or query may carry a key), never a secret.
fn summary(record: &ConnectorRecord) -> serde_json::Value {
    let server =
        url::Url::parse(&record.server_url).map_or_else(|_| String::new(), |u| u.origin().ascii_serialization());
    json!({
        "name": record.name,
        "server": server,
        "auth_type": record.auth_type,
        "enabled": record.enabled,
        "tools": record.tools.len(),
    })
}

/// The connector's view with its tools' policies.
async fn view_of(state: &AppState, user: &UserId, record: ConnectorRecord) -> ApiResult<ConnectorView> {
    let policies = state.store.policies(user).await?;
    Ok(ConnectorView::new(record, &policies))
}

/// Replaces a connector's fields. Omitted secrets keep their stored value unless the host changes.
#[utoipa::path(put, path = "/api/connectors/{id}", tag = "connectors", request_body = ConnectorInput,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody),
        (status = 400, description = "CONNECTION_NOT_VERIFIED: the edited settings did not pass their connection test", body = ErrorBody),
        (status = 409, description = "CONNECTOR_NAME_TAKEN, or SECRET_NOT_STORED: a secret left out to keep the stored one, and none may be kept", body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn update_connector(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConnectorInput>,
) -> ApiResult<Json<ConnectorView>> {
    let op = Op::start("connector.update", &user);
    let result = async { write::update(&state, &user, parse_id(&id)?, input).await }.await;
    let write::Updated {
        record,
        notice,
        approved_tools,
    } = op.finish(Some(&id), result)?;
    let mut updated = summary(&record);
    if !approved_tools.is_empty() {
        // Re-tested settings pin what their test found: say which tools that changed.
        updated["tools_approved"] = json!(approved_tools);
    }
    state
        .audit(&user, AuditKind::ConnectorUpdated, audit::connector(record.id), updated)
        .await;
    state.events.catalog_changed(user.as_str()).await;
    let mut view = view_of(&state, &user, record).await?;
    view.notice = notice.map(str::to_owned);
    Ok(Json(view))
}

/// Deletes a connector.
#[utoipa::path(delete, path = "/api/connectors/{id}", tag = "connectors",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_connector(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let op = Op::start("connector.delete", &user);
    let result = async {
        let id = parse_id(&id)?;
        let record = state.store.connector(&user, id).await.map_err(not_found)?;
        state.store.delete_connector(&user, id).await.map_err(not_found)?;
        state
            .audit(
                &user,
                AuditKind::ConnectorDeleted,
                audit::connector(id),
                json!({"name": record.name}),
            )
            .await;
        // Its OAuth tokens go too: revoked at the provider (best effort), then deleted.
        state
            .oauth
            .forget(user.as_str(), switchboard_core::oauth::OAuthTarget::Connector(id))
            .await?;
        Ok(())
    }
    .await;
    op.finish(Some(&id), result)?;
    state.events.catalog_changed(user.as_str()).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of the toggle: the state to set. Without a body the connector flips.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToggleInput {
    pub enabled: bool,
}

/// Enables or disables a connector (flips it when no body is sent).
#[utoipa::path(post, path = "/api/connectors/{id}/toggle", tag = "connectors", request_body(content = Option<ToggleInput>),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConnectorView), (status = 404, body = ErrorBody)))]
async fn toggle_connector(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    MaybeJson(input): MaybeJson<ToggleInput>,
) -> ApiResult<Json<ConnectorView>> {
    let op = Op::start("connector.toggle", &user);
    let result = async {
        let enabled = input.map(|i| i.enabled);
        state
            .store
            .set_connector_enabled(&user, parse_id(&id)?, enabled)
            .await
            .map_err(not_found)
    }
    .await;
    let record = op.finish(Some(&id), result)?;
    let toggled = json!({"name": record.name, "enabled": record.enabled});
    state
        .audit(&user, AuditKind::ConnectorToggled, audit::connector(record.id), toggled)
        .await;
    state.events.catalog_changed(user.as_str()).await;
    view_of(&state, &user, record).await.map(Json)
}
