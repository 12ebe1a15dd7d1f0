//! How Switchboard authenticates to a connector's server, and the credentials
//! the vault seals for it.
//!
//! Request bodies carry `auth_type` plus an `auth_config` object whose shape
//! depends on the type (DESIGN §8). [`AuthInput::parse`] checks that object;
//! [`AuthInput::resolve`] merges it with what is stored, because on update an
//! omitted secret keeps the stored one unless the server's host changed.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::validation::{Errors, FieldError, header_safe, serde_message};
use crate::binding::Reach;
use crate::secret::Secret;

pub const MAX_TOKEN_LEN: usize = 8192;
pub const MAX_SCOPES: usize = 50;
/// Longest OAuth client id, and longest scope.
pub const MAX_CLIENT_ID_LEN: usize = 256;
pub const MAX_SCOPE_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthType {
    None,
    Bearer,
    Oauth,
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer => "bearer",
            Self::Oauth => "oauth",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Self::None),
            "bearer" => Some(Self::Bearer),
            "oauth" => Some(Self::Oauth),
            _ => None,
        }
    }
}

/// `auth_config` for `auth_type: bearer`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BearerConfig {
    /// Sent as `Authorization: Bearer <token>`. Omit on update to keep the stored one.
    #[schema(value_type = Option<String>)]
    pub token: Option<Secret>,
}

/// `auth_config` for `auth_type: oauth`: a pre-registered client, or tokens already issued.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OauthConfig {
    pub client_id: Option<String>,
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[schema(value_type = Option<String>)]
    pub access_token: Option<Secret>,
    #[schema(value_type = Option<String>)]
    pub refresh_token: Option<Secret>,
}

/// Credentials as sealed in the vault (`connectors.credentials`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credentials {
    None,
    Bearer { token: Secret },
    Oauth(OauthConfig),
}

impl Credentials {
    pub fn auth_type(&self) -> AuthType {
        match self {
            Self::None => AuthType::None,
            Self::Bearer { .. } => AuthType::Bearer,
            Self::Oauth(_) => AuthType::Oauth,
        }
    }

    /// Whether anything is stored.
    pub fn is_configured(&self) -> bool {
        match self {
            Self::None => false,
            Self::Bearer { .. } => true,
            Self::Oauth(o) => o.client_id.is_some() || o.access_token.is_some(),
        }
    }

    /// A masked hint safe to show the owner: the last four characters of a long
    /// token, never more; for OAuth, the (public) client id.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Bearer { token } => Some(mask(token)),
            Self::Oauth(o) => match (&o.client_id, &o.access_token) {
                (Some(id), _) => Some(format!("client {id}")),
                (None, Some(token)) => Some(format!("access token {}", mask(token))),
                (None, None) => None,
            },
        }
    }
}

fn mask(secret: &Secret) -> String {
    let value = secret.expose();
    if value.chars().count() >= 16 {
        let tail: String = value
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("••••{tail}")
    } else {
        "••••".to_owned()
    }
}

/// A parsed `auth_config`, before it is merged with what is stored.
#[derive(Debug)]
pub enum AuthInput {
    None,
    Bearer { token: Option<Secret> },
    Oauth(OauthConfig),
}

impl AuthInput {
    /// Checks `auth_config` against `auth_type`; errors are recorded at their field.
    pub fn parse(auth_type: AuthType, config: Option<&Value>, errors: &mut Errors) -> Option<Self> {
        let config = config.filter(|v| !v.is_null());
        match auth_type {
            AuthType::None => match config {
                None => Some(Self::None),
                Some(Value::Object(map)) if map.is_empty() => Some(Self::None),
                Some(_) => {
                    errors.push(FieldError::body(
                        &["auth_config"],
                        "must be empty ({}) or left out when auth_type is `none`",
                    ));
                    None
                }
            },
            AuthType::Bearer => {
                let parsed: BearerConfig = from_config(config, errors)?;
                let token = parsed.token.filter(|t| !t.is_empty());
                if let Some(token) = &token {
                    errors.take(
                        &["auth_config", "token"],
                        header_safe(token.expose(), "token", MAX_TOKEN_LEN),
                    )?;
                }
                Some(Self::Bearer { token })
            }
            AuthType::Oauth => {
                let parsed: OauthConfig = from_config(config, errors)?;
                check_oauth(&parsed, errors).then_some(Self::Oauth(parsed))
            }
        }
    }

    /// Merges with the stored credentials, for a request that reaches the
    /// saved URL as `reach` says (see [`crate::binding`]): an omitted secret
    /// keeps the stored one only where the stored one may go.
    pub fn resolve(&self, stored: Option<&Credentials>, reach: Reach) -> Result<Credentials, FieldError> {
        let moved = stored.is_some() && reach == Reach::Elsewhere;
        match self {
            Self::None => Ok(Credentials::None),
            Self::Bearer { token: Some(token) } => Ok(Credentials::Bearer { token: token.clone() }),
            Self::Bearer { token: None } => match stored.filter(|_| reach.allows_origin_secrets()) {
                Some(Credentials::Bearer { token }) => Ok(Credentials::Bearer { token: token.clone() }),
                _ if moved => Err(FieldError::body(
                    &["auth_config", "token"],
                    "the server host changed: enter the token for the new server",
                )),
                _ => Err(FieldError::body(
                    &["auth_config", "token"],
                    "a token is required for auth_type `bearer`",
                )),
            },
            Self::Oauth(input) => {
                let mut input = input.clone();
                if let Some(Credentials::Oauth(old)) = stored {
                    // Omitted fields keep their stored values: the client id
                    // (with its secret) and the scopes on the same server, the
                    // pasted tokens only for the resource they were issued for.
                    if reach.allows_oauth_client() {
                        if input.client_id.is_none() {
                            input.client_id = old.client_id.clone();
                        }
                        if input.scopes.is_empty() {
                            input.scopes = old.scopes.clone();
                        }
                        input.client_secret = input.client_secret.or_else(|| old.client_secret.clone());
                    }
                    if reach.allows_access_token() {
                        input.access_token = input.access_token.or_else(|| old.access_token.clone());
                        input.refresh_token = input.refresh_token.or_else(|| old.refresh_token.clone());
                    }
                }
                Ok(Credentials::Oauth(input))
            }
        }
    }
}

fn from_config<T: for<'de> Deserialize<'de> + Default>(config: Option<&Value>, errors: &mut Errors) -> Option<T> {
    let Some(value) = config else {
        return Some(T::default());
    };
    match T::deserialize(value) {
        Ok(parsed) => Some(parsed),
        Err(e) => {
            errors.push(FieldError::body(&["auth_config"], serde_message(&e)));
            None
        }
    }
}

fn check_oauth(config: &OauthConfig, errors: &mut Errors) -> bool {
    let mut ok = true;
    let mut check = |field: &str, result: Result<(), String>| {
        ok &= errors.take(&["auth_config", field], result).is_some();
    };
    if let Some(id) = &config.client_id {
        check("client_id", header_safe(id, "client_id", MAX_CLIENT_ID_LEN));
    }
    if config.client_secret.is_some() && config.client_id.is_none() {
        check("client_secret", Err("client_secret needs a client_id".into()));
    }
    for (field, secret) in [
        ("client_secret", &config.client_secret),
        ("access_token", &config.access_token),
        ("refresh_token", &config.refresh_token),
    ] {
        if let Some(secret) = secret {
            check(field, header_safe(secret.expose(), field, MAX_TOKEN_LEN));
        }
    }
    if config.scopes.len() > MAX_SCOPES {
        check("scopes", Err(format!("at most {MAX_SCOPES} scopes")));
    }
    for scope in &config.scopes {
        check("scopes", header_safe(scope, "each scope", MAX_SCOPE_LEN));
    }
    ok
}

#[cfg(test)]
mod tests;
