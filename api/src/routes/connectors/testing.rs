//! Connection tests and discovery, as runs:
//! `POST /api/connectors/test` (form values), `POST /api/connectors/{id}/test`
//! (the stored settings, optionally edited) and `POST /api/connectors/{id}/refresh`
//! (re-discover the tools and update the connector). Each answers 202 with the
//! run and its status/events URLs, or with `Prefer: wait=N` 200 with the finished run.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use switchboard_core::binding::Reach;
use switchboard_core::domain::connector::parse_auth_type;
use switchboard_core::domain::validation::Errors;
use switchboard_core::domain::{AuthInput, ConnectorDraft, ConnectorInput, Credentials, CustomHeaders, FieldError};
use switchboard_core::runs::launch::{NewRun, launch};

use super::verify::{rate_limit, start_test};
use super::write::{edited_connection, stored_connection};
use super::{not_found, parse_id};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, MaybeJson};
use crate::oplog::Op;
use crate::runs::{RunView, prefer_wait, respond};
use crate::state::AppState;

/// Tests a connection before it is saved. A malformed URL is reported as a
/// failed run (`INVALID_URL`); other invalid fields answer 422.
#[utoipa::path(post, path = "/api/connectors/test", tag = "connectors", request_body = ConnectorInput,
    params(("Prefer" = Option<String>, Header, description = "`wait=N`: wait up to N seconds for the result")),
    responses((status = 202, description = "Queued", body = RunView), (status = 200, description = "Finished (Prefer: wait)", body = RunView),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn test_connection(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ConnectorInput>,
) -> ApiResult<Response> {
    let op = Op::start("connector.test", &user);
    let result = async {
        let (raw_url, credentials, custom) = parse_test_input(&input).map_err(ApiError::validation)?;
        let run = start_test(&state, &user, &raw_url, &credentials, &custom, None).await?;
        respond(&state, &user, run, prefer_wait(&headers)).await
    }
    .await;
    op.finish(None, result)
}

/// Tests a saved connector with its stored credentials; a body (the full
/// form, as for update) tests edited settings, keeping omitted secrets.
#[utoipa::path(post, path = "/api/connectors/{id}/test", tag = "connectors", request_body(content = Option<ConnectorInput>),
    params(("id" = uuid::Uuid, Path), ("Prefer" = Option<String>, Header)),
    responses((status = 202, body = RunView), (status = 200, body = RunView), (status = 404, body = ErrorBody),
        (status = 409, description = "SECRET_NOT_STORED: a secret left out to keep the stored one, and none may be kept", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn test_saved_connector(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    MaybeJson(input): MaybeJson<ConnectorInput>,
) -> ApiResult<Response> {
    let op = Op::start("connector.test", &user);
    let result = async {
        let id = parse_id(&id)?;
        let record = state.store.connector(&user, id).await.map_err(not_found)?;
        let current = stored_connection(&state, &record)?;
        let connection = match input {
            Some(input) => edited_connection(&current, &ConnectorDraft::parse(input).map_err(ApiError::validation)?)?,
            None => current,
        };
        let url = connection.url.to_string();
        let run = start_test(
            &state,
            &user,
            &url,
            &connection.credentials,
            &connection.headers,
            Some(id),
        )
        .await?;
        respond(&state, &user, run, prefer_wait(&headers)).await
    }
    .await;
    op.finish(Some(&id), result)
}

/// Re-discovers a saved connector's tools; the connector's snapshot and health update when it ends.
#[utoipa::path(post, path = "/api/connectors/{id}/refresh", tag = "connectors",
    params(("id" = uuid::Uuid, Path), ("Prefer" = Option<String>, Header)),
    responses((status = 202, body = RunView), (status = 200, body = RunView), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn refresh_connector(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let op = Op::start("connector.refresh", &user);
    let result = async {
        let id = parse_id(&id)?;
        let record = state.store.connector(&user, id).await.map_err(not_found)?;
        rate_limit(&state, &user).await?;
        let run = launch(&state.services, NewRun::discovery(&user, record)).await?;
        respond(&state, &user, run, prefer_wait(&headers)).await
    }
    .await;
    op.finish(Some(&id), result)
}

/// The URL (unparsed: a malformed one becomes a failed run), credentials and headers of a test body.
fn parse_test_input(input: &ConnectorInput) -> Result<(String, Credentials, CustomHeaders), Vec<FieldError>> {
    let mut errors = Errors::default();
    let url = errors.take(
        &["server_url"],
        input
            .server_url
            .clone()
            .ok_or_else(|| "this field is required".to_owned()),
    );
    let auth = errors
        .take(&["auth_type"], parse_auth_type(input.auth_type.as_deref()))
        .and_then(|t| AuthInput::parse(t, input.auth_config.as_ref(), &mut errors));
    let credentials = auth.and_then(|a| a.resolve(None, Reach::Elsewhere).map_err(|e| errors.push(e)).ok());
    let headers = CustomHeaders::parse(input.headers.as_ref().unwrap_or(&Default::default()), None)
        .map_err(|e| errors.push(e))
        .ok();
    errors.finish(|| {
        (
            url.expect("checked"),
            credentials.expect("checked"),
            headers.expect("checked"),
        )
    })
}
