//! Google sign-in for the Gmail system tool. Without a client id and secret,
//! connecting Gmail answers `OAUTH_NOT_CONFIGURED`.

use url::Url;

use super::{ConfigError, Sources};
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct GoogleSettings {
    /// `SWITCHBOARD_GOOGLE_CLIENT_ID`: the OAuth client (type "Web application")
    /// whose redirect URI is `{SWITCHBOARD_PUBLIC_URL}/oauth/callback`.
    pub client_id: Option<String>,
    /// `SWITCHBOARD_GOOGLE_CLIENT_SECRET`.
    pub client_secret: Option<Secret>,
    /// `SWITCHBOARD_GOOGLE_AUTH_URL` (default `https://accounts.google.com/o/oauth2/v2/auth`).
    pub auth_url: Url,
    /// `SWITCHBOARD_GOOGLE_TOKEN_URL` (default `https://oauth2.googleapis.com/token`).
    pub token_url: Url,
    /// `SWITCHBOARD_GOOGLE_REVOKE_URL` (default `https://oauth2.googleapis.com/revoke`).
    pub revoke_url: Url,
}

impl Default for GoogleSettings {
    fn default() -> Self {
        Self {
            client_id: None,
            client_secret: None,
            auth_url: Url::parse("https://accounts.google.com/o/oauth2/v2/auth").expect("valid"),
            token_url: Url::parse("https://oauth2.googleapis.com/token").expect("valid"),
            revoke_url: Url::parse("https://oauth2.googleapis.com/revoke").expect("valid"),
        }
    }
}

impl GoogleSettings {
    pub(super) fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let d = Self::default();
        let settings = Self {
            client_id: src.parse("SWITCHBOARD_GOOGLE_CLIENT_ID")?,
            client_secret: src.secret("SWITCHBOARD_GOOGLE_CLIENT_SECRET"),
            auth_url: src.parse_or("SWITCHBOARD_GOOGLE_AUTH_URL", d.auth_url)?,
            token_url: src.parse_or("SWITCHBOARD_GOOGLE_TOKEN_URL", d.token_url)?,
            revoke_url: src.parse_or("SWITCHBOARD_GOOGLE_REVOKE_URL", d.revoke_url)?,
        };
        src.check(
            "SWITCHBOARD_GOOGLE_CLIENT_SECRET",
            settings.client_id.is_none() || settings.client_secret.is_some(),
            "is required when SWITCHBOARD_GOOGLE_CLIENT_ID is set",
        )?;
        Ok(settings)
    }

    /// The client id and secret, when Google sign-in is configured.
    pub fn client(&self) -> Option<(&str, &Secret)> {
        Some((self.client_id.as_deref()?, self.client_secret.as_ref()?))
    }
}
