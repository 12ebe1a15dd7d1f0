//! Using a [`Grant`]: its access token while it is fresh, a refresh shortly
//! before it expires. Refreshes are single-flight across processes because
//! callers hold the store's lease on the grant (see `store::oauth`) around
//! [`refresh`]; this module is only the protocol.

use std::time::{SystemTime, UNIX_EPOCH};

use oauth2::TokenResponse as _;
use rmcp::transport::auth::{CredentialStore as _, InMemoryCredentialStore};

use super::OAuthError;
use super::flow::{Grant, Provider};
use super::http::rmcp_client;
use crate::egress::http::EgressHttp;
use crate::secret::Secret;

/// Refresh this many seconds before expiry (or at half the lifetime, if shorter).
pub const REFRESH_MARGIN_SECS: u64 = 60;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Grant {
    pub fn access_token(&self) -> Option<Secret> {
        let response = self.credentials.token_response.as_ref()?;
        Some(Secret::new(response.access_token().secret().clone()))
    }

    pub fn refresh_token(&self) -> Option<Secret> {
        let response = self.credentials.token_response.as_ref()?;
        Some(Secret::new(response.refresh_token()?.secret().clone()))
    }

    pub fn has_refresh_token(&self) -> bool {
        self.credentials
            .token_response
            .as_ref()
            .is_some_and(|r| r.refresh_token().is_some())
    }

    /// Seconds since the epoch when the access token expires, when known.
    pub fn expires_at(&self) -> Option<u64> {
        let response = self.credentials.token_response.as_ref()?;
        Some(self.credentials.token_received_at? + response.expires_in()?.as_secs())
    }

    /// Whether the access token is expired or about to.
    pub fn is_stale(&self) -> bool {
        let (Some(response), Some(received)) = (&self.credentials.token_response, self.credentials.token_received_at)
        else {
            return false;
        };
        let Some(lifetime) = response.expires_in().map(|d| d.as_secs()) else {
            return false;
        };
        let margin = REFRESH_MARGIN_SECS.min(lifetime / 2).max(1);
        now().saturating_sub(received) + margin >= lifetime
    }

    pub fn scopes(&self) -> &[String] {
        &self.credentials.granted_scopes
    }
}

/// Exchanges the refresh token for new tokens. `OAuthError::Rejected` means
/// the grant is gone (`invalid_grant`): the user must authorize again.
pub async fn refresh(http: &EgressHttp, grant: &Grant) -> Result<Grant, OAuthError> {
    if !grant.has_refresh_token() {
        return Err(OAuthError::Rejected(
            "the access token expired and there is no refresh token".into(),
        ));
    }
    if grant.registration.provider == Provider::Google {
        return super::google::refresh(http, grant).await;
    }
    let mut manager = grant.registration.manager(rmcp_client(http)).await?;
    let store = InMemoryCredentialStore::new();
    store.save(grant.credentials.clone()).await?;
    manager.set_credential_store(store.clone());
    manager.refresh_token().await?;
    let credentials = store
        .load()
        .await?
        .ok_or_else(|| OAuthError::Protocol("the refresh stored no credentials".into()))?;
    Ok(Grant {
        registration: grant.registration.clone(),
        credentials,
        wanted_scopes: grant.wanted_scopes.clone(),
    })
}
