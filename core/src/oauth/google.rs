//! Google sign-in (Gmail): plain OAuth 2.0 with PKCE against Google's fixed
//! endpoints, asking for offline access so a refresh token is issued. Not
//! through rmcp: MCP authorization adds RFC 8707 `resource` to every request,
//! which Google's endpoints do not take. The result is an ordinary [`Grant`],
//! stored, leased and refreshed like any other.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::{CsrfToken, PkceCodeVerifier};
use rand::RngCore as _;
use rmcp::transport::auth::{AuthorizationMetadata, OAuthTokenResponse, StoredAuthorizationState, StoredCredentials};
use serde_json::json;
use url::Url;

use super::OAuthError;
use super::flow::{Grant, Pending, Provider, Registration, Started};
use super::http::{MAX_BODY, TIMEOUT};
use crate::config::GoogleSettings;
use crate::egress::http::{Deadline, EgressHttp};
use crate::secret::Secret;

fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Builds the authorization URL for `scopes`; `None` when Google sign-in is not configured.
pub fn start(settings: &GoogleSettings, redirect_uri: &str, scopes: &[&str]) -> Option<Started> {
    let (client_id, client_secret) = settings.client()?;
    let verifier = random(48);
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    let state = random(32);
    let mut url = settings.auth_url.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("include_granted_scopes", "true");
    let metadata: AuthorizationMetadata = serde_json::from_value(json!({
        "authorization_endpoint": settings.auth_url.as_str(),
        "token_endpoint": settings.token_url.as_str(),
        "revocation_endpoint": settings.revoke_url.as_str(),
        "scopes_supported": scopes,
    }))
    .ok()?;
    let stored = StoredAuthorizationState::new(&PkceCodeVerifier::new(verifier), &CsrfToken::new(state.clone()))
        .with_requested_scopes(scopes.iter().map(|s| (*s).to_owned()).collect());
    Some(Started {
        authorization_url: url,
        state: Secret::new(state),
        pending: Pending {
            registration: Registration {
                provider: Provider::Google,
                resource: String::new(),
                metadata,
                client_id: client_id.to_owned(),
                client_secret: Some(client_secret.clone()),
                redirect_uri: redirect_uri.to_owned(),
            },
            state: stored,
        },
    })
}

/// Exchanges the code for tokens.
pub async fn finish(http: &EgressHttp, pending: Pending, code: &str) -> Result<Grant, OAuthError> {
    let registration = pending.registration;
    let mut form = base_form(&registration);
    form.extend([
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", registration.redirect_uri.clone()),
        ("code_verifier", pending.state.pkce_verifier.clone()),
    ]);
    let response = token_request(http, &registration, &form).await?;
    let scopes = pending.state.requested_scopes;
    Ok(Grant {
        credentials: StoredCredentials::new(registration.client_id.clone(), Some(response), scopes, Some(now())),
        registration,
        wanted_scopes: Vec::new(),
    })
}

/// Refreshes; Google keeps the refresh token unless it sends a new one.
pub async fn refresh(http: &EgressHttp, grant: &Grant) -> Result<Grant, OAuthError> {
    let refresh_token = grant
        .refresh_token()
        .ok_or_else(|| OAuthError::Rejected("there is no refresh token".into()))?;
    let mut form = base_form(&grant.registration);
    form.extend([
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh_token.expose().to_owned()),
    ]);
    let mut response = token_request(http, &grant.registration, &form).await?;
    if oauth2::TokenResponse::refresh_token(&response).is_none() {
        response.set_refresh_token(Some(oauth2::RefreshToken::new(refresh_token.expose().to_owned())));
    }
    Ok(Grant {
        registration: grant.registration.clone(),
        credentials: StoredCredentials::new(
            grant.registration.client_id.clone(),
            Some(response),
            grant.credentials.granted_scopes.clone(),
            Some(now()),
        ),
        wanted_scopes: grant.wanted_scopes.clone(),
    })
}

fn base_form(registration: &Registration) -> Vec<(&'static str, String)> {
    let mut form = vec![("client_id", registration.client_id.clone())];
    if let Some(secret) = &registration.client_secret {
        form.push(("client_secret", secret.expose().to_owned()));
    }
    form
}

async fn token_request(
    http: &EgressHttp,
    registration: &Registration,
    form: &[(&'static str, String)],
) -> Result<OAuthTokenResponse, OAuthError> {
    let url = Url::parse(&registration.metadata.token_endpoint).map_err(|e| OAuthError::Protocol(e.to_string()))?;
    // Token requests never follow redirects (OAuth 2.1).
    let fetched = http
        .fetch_once(
            http.request(http::Method::POST, url).form(form),
            Deadline::after(TIMEOUT),
            MAX_BODY,
        )
        .await
        .map_err(|e| OAuthError::Protocol(format!("token endpoint: {e}")))?;
    let (status, body) = (fetched.status, fetched.body);
    if !status.is_success() {
        let error = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(if error == "invalid_grant" {
            OAuthError::Rejected(error)
        } else {
            OAuthError::Protocol(format!("token endpoint: {error}"))
        });
    }
    serde_json::from_slice(&body).map_err(|_| OAuthError::Protocol("the token endpoint's answer is not a token".into()))
}
