//! Minting HS256 tokens (`switchboard token`, and tests).

use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;
use switchboard_core::Secret;

#[derive(Serialize)]
struct MintClaims<'a> {
    sub: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// A signed HS256 token for `user`, valid for `ttl`.
pub fn mint_token(
    secret: &Secret,
    user: &str,
    ttl: Duration,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> anyhow::Result<String> {
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let claims = MintClaims {
        sub: user,
        iat: now,
        exp: now.saturating_add(ttl),
        iss: issuer,
        aud: audience,
    };
    Ok(jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )?)
}
