//! Bearer-token authentication: `Authorization: Bearer <JWT>`, verified with an
//! HS256 shared secret and/or the keys of a JWKS URL (RS256, ES256); `iss` and
//! `aud` are checked when configured; `sub` is the user id.

mod jwks;
mod token;

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use switchboard_core::Secret;
use switchboard_core::domain::UserId;
use url::Url;

use crate::error::ApiError;
use crate::state::AppState;
pub use jwks::JwksCache;
pub use token::mint_token;

/// Verifies bearer tokens. Built once at start-up.
#[derive(Debug)]
pub struct Authenticator {
    hs256: Option<DecodingKey>,
    jwks: Option<JwksCache>,
    issuer: Option<String>,
    audience: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
}

/// Why a token was refused; the message is safe to return.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("invalid bearer token: {0}")]
    Invalid(String),
}

impl Authenticator {
    pub fn new(
        hs256_secret: Option<&Secret>,
        jwks_url: Option<Url>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            hs256_secret.is_some() || jwks_url.is_some(),
            "no way to verify tokens: set SWITCHBOARD_JWT_SECRET or SWITCHBOARD_JWKS_URL"
        );
        Ok(Self {
            hs256: hs256_secret.map(|s| DecodingKey::from_secret(s.expose().as_bytes())),
            jwks: jwks_url.map(JwksCache::new).transpose()?,
            issuer,
            audience,
        })
    }

    /// Verifies a compact JWT and returns its subject.
    pub async fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        let invalid = |msg: &str| AuthError::Invalid(msg.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
        let key = match header.alg {
            Algorithm::HS256 => self
                .hs256
                .clone()
                .ok_or_else(|| invalid("HS256 tokens are not accepted"))?,
            Algorithm::RS256 | Algorithm::ES256 => {
                let jwks = self
                    .jwks
                    .as_ref()
                    .ok_or_else(|| invalid("only HS256 tokens are accepted"))?;
                jwks.key(header.kid.as_deref(), header.alg)
                    .await
                    .map_err(AuthError::Invalid)?
            }
            _ => return Err(invalid("unsupported signing algorithm")),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = 30;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "token expired",
                ErrorKind::ImmatureSignature => "token not valid yet",
                ErrorKind::InvalidIssuer => "wrong issuer",
                ErrorKind::InvalidAudience => "wrong audience",
                ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
                ErrorKind::InvalidSignature => "bad signature",
                _ => "token rejected",
            })
        })?;
        UserId::parse(&data.claims.sub).map_err(AuthError::Invalid)
    }
}

/// The authenticated user of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub UserId);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or_else(|| ApiError::unauthorized(AuthError::Missing.to_string(), false))?;
        state
            .auth
            .verify(token)
            .await
            .map(CurrentUser)
            .map_err(|e| ApiError::unauthorized(e.to_string(), true))
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// Default lifetime of tokens minted by `switchboard token`.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);
