//! `GET /api/me`: whom the bearer token signs in. The web UI names the account
//! before adopting a token from a link, and at all times after.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::ErrorBody;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The user id (the token's `sub`).
    pub user: String,
}

/// Whom this token signs in.
#[utoipa::path(get, path = "/api/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(CurrentUser(user): CurrentUser) -> Json<Me> {
    Json(Me {
        user: user.as_str().to_owned(),
    })
}
