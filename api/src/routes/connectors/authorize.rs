//! `POST /api/connectors/{id}/authorize`: starts (or repeats) OAuth for an
//! `auth_type: oauth` connector. Answers `{authorization_url}` for a popup and
//! sets the short-lived HttpOnly cookie that binds the flow to this browser;
//! `/oauth/callback` finishes it and re-discovers the tools.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde::Serialize;
use switchboard_core::connector_secrets;
use switchboard_core::domain::{Credentials, ServerUrl};
use switchboard_core::mcp::close;
use switchboard_core::oauth::{ClientChoice, OAuthTarget};
use utoipa::ToSchema;

use super::{not_found, parse_id};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::oplog::Op;
use crate::routes::oauth::{authorization_response, oauth_error};
use crate::state::AppState;

/// Where to send the user to sign in.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationStart {
    pub authorization_url: String,
}

/// Starts authorizing a connector at its server's authorization server.
#[utoipa::path(post, path = "/api/connectors/{id}/authorize", tag = "connectors",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = AuthorizationStart), (status = 404, body = ErrorBody),
        (status = 409, description = "NOT_OAUTH", body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 502, description = "OAUTH_DISCOVERY_FAILED", body = ErrorBody)))]
pub async fn authorize_connector(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let op = Op::start("connector.authorize", &user);
    let result = async {
        let id = parse_id(&id)?;
        let record = state.store.connector(&user, id).await.map_err(not_found)?;
        state
            .authorize_limiter
            .check(&user)
            .await
            .map_err(|retry| ApiError::rate_limited("sign-ins", retry))?;
        let Credentials::Oauth(config) = connector_secrets::open_credentials(&state.vault, &record)? else {
            return Err(ApiError::conflict(
                "NOT_OAUTH",
                "this connector does not use OAuth; set its auth type to OAuth first",
            ));
        };
        let url =
            ServerUrl::parse(&record.server_url).map_err(|m| ApiError::new(StatusCode::CONFLICT, "INVALID_URL", m))?;
        let headers = connector_secrets::open_headers(&state.vault, &record)?;
        // The server's own challenge says where its metadata is (and which scopes).
        // (A server that lets anyone initialize gets its session closed again.)
        let challenge = match state
            .mcp
            .connect(&url, &Credentials::None, &headers, Duration::from_secs(10))
            .await
        {
            Ok((session, _)) => {
                close(session).await;
                None
            }
            Err(failure) => failure.challenge,
        };
        let choice = ClientChoice {
            client_id: config.client_id,
            client_secret: config.client_secret,
            scopes: config.scopes,
        };
        let started = state
            .oauth
            .authorize_mcp(
                user.as_str(),
                OAuthTarget::Connector(id),
                url.as_url(),
                challenge.as_deref(),
                &choice,
            )
            .await
            .map_err(oauth_error)?;
        Ok(authorization_response(&state, started))
    }
    .await;
    op.finish(Some(&id), result.map(|r| r.into_response()))
}
