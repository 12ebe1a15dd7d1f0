//! Request extractors with the API's error policy:
//! wrong content type → 415, body over the route's limit → 413, malformed
//! JSON → 400, JSON of the wrong shape → 422 located at the offending field,
//! a query string of the wrong shape → 422 at `query`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use switchboard_core::domain::FieldError;
use switchboard_core::domain::validation::serde_message;

use crate::error::ApiError;

/// A JSON body, parsed with the error policy above.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// An optional JSON body: an empty body without a content type, or a JSON
/// `null`, is `None`.
#[derive(Debug)]
pub struct MaybeJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        check_content_type(&req)?;
        let bytes = read_body(req, state).await?;
        parse(&bytes).map(Self)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MaybeJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        if has_type {
            check_content_type(&req)?;
        }
        let bytes = read_body(req, state).await?;
        if bytes.is_empty() && !has_type {
            return Ok(Self(None));
        }
        if !has_type {
            return Err(unsupported_media_type());
        }
        parse::<Option<T>>(&bytes).map(Self)
    }
}

/// A query string, parsed with the error policy above.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::try_from_uri(&parts.uri)
            .map(|Query(query)| Self(query))
            .map_err(|rejection| {
                ApiError::validation(vec![FieldError {
                    loc: vec!["query".to_owned()],
                    msg: rejection.body_text(),
                }])
            })
    }
}

fn check_content_type(req: &Request) -> Result<(), ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false);
    if is_json { Ok(()) } else { Err(unsupported_media_type()) }
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        "send the body as JSON with `Content-Type: application/json`",
    )
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "the request body is too large",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "could not read the request body",
            )
        }
    })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let inner = err.inner();
        if inner.is_syntax() || inner.is_eof() {
            return malformed(inner);
        }
        let mut loc = vec!["body".to_owned()];
        loc.extend(
            err.path()
                .iter()
                .map(|seg| seg.to_string())
                .filter(|s| s != "?" && s != "."),
        );
        ApiError::validation(vec![FieldError {
            loc,
            msg: serde_message(inner),
        }])
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
        format!("the body is not valid JSON: {e}"),
    )
}
