//! The authorization-code flow of MCP authorization, in two halves that may
//! run in different processes: [`start`] discovers, registers and builds the
//! authorization URL; [`finish`] exchanges the code at the callback. Between
//! them the [`Pending`] value (PKCE verifier, client secret) is sealed in the
//! store under the flow's `state`.
//!
//! rmcp's `AuthorizationManager` does discovery (protected-resource metadata
//! path-aware then root, authorization-server metadata in its RFC 8414 and
//! OpenID forms), PKCE S256, `resource` (RFC 8707) and `iss` (RFC 9207). The
//! registration order is ours because rmcp's session keeps a dynamically
//! registered client's secret to itself: pre-registered client, then a
//! client-ID metadata document, then dynamic registration.

use std::sync::Arc;

use rmcp::transport::auth::{
    AuthError, AuthorizationManager, AuthorizationMetadata, CredentialStore as _, InMemoryCredentialStore,
    InMemoryStateStore, OAuthClientConfig, OAuthHttpClient, StateStore as _, StoredAuthorizationState,
    StoredCredentials,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::OAuthError;
use super::http::{MAX_BODY, TIMEOUT, rmcp_client};
use crate::egress::http::{Deadline, EgressHttp};
use crate::secret::Secret;

/// How Switchboard presents itself to authorization servers.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// `{PUBLIC_URL}/oauth/callback`.
    pub redirect_uri: String,
    /// `{PUBLIC_URL}/oauth/client-metadata.json`, used only when it is HTTPS
    /// (a client-ID metadata document must be).
    pub metadata_url: Option<String>,
    pub client_name: String,
}

/// What the user configured for this server (all optional).
#[derive(Debug, Clone, Default)]
pub struct ClientChoice {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
}

/// Whose rules a registration follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// MCP authorization (through rmcp).
    #[default]
    Mcp,
    /// Google sign-in ([`super::google`]).
    Google,
}

/// The client registered at one authorization server for one resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registration {
    #[serde(default)]
    pub provider: Provider,
    /// The protected resource (RFC 8707 `resource`).
    pub resource: String,
    pub metadata: AuthorizationMetadata,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub redirect_uri: String,
}

impl Registration {
    pub fn issuer(&self) -> Option<&str> {
        self.metadata.issuer.as_deref()
    }

    /// A manager restored from this registration (no network).
    pub(super) async fn manager(&self, http: Arc<dyn OAuthHttpClient>) -> Result<AuthorizationManager, OAuthError> {
        let mut manager = AuthorizationManager::new_with_oauth_http_client(self.resource.as_str(), http).await?;
        manager.set_metadata(self.metadata.clone());
        let mut config = OAuthClientConfig::new(&self.client_id, &self.redirect_uri).with_application_type("web");
        if let Some(secret) = &self.client_secret {
            config = config.with_client_secret(secret.expose());
        }
        manager.configure_client(config)?;
        Ok(manager)
    }
}

/// The half of a flow kept (sealed) until the callback. Its `Debug` leaves
/// out the PKCE verifier and the state.
#[derive(Clone, Serialize, Deserialize)]
pub struct Pending {
    pub registration: Registration,
    pub state: StoredAuthorizationState,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("registration", &self.registration)
            .field("state", &crate::secret::REDACTED)
            .finish()
    }
}

/// A started flow.
#[derive(Debug)]
pub struct Started {
    /// Where the user signs in.
    pub authorization_url: Url,
    /// The `state` parameter of that URL: the key of [`Pending`].
    pub state: Secret,
    pub pending: Pending,
}

/// Tokens issued to one registration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub registration: Registration,
    pub credentials: StoredCredentials,
    /// Scopes a server asked for since (403 `insufficient_scope`): the next
    /// authorization asks for them together with the granted ones (step-up).
    #[serde(default)]
    pub wanted_scopes: Vec<String>,
}

/// Starts authorizing `server_url`. `challenge` is the `WWW-Authenticate`
/// header of the server's 401/403, when there was one; `previous_scopes` are
/// those granted before (a step-up asks for their union with the challenge's).
pub async fn start(
    http: &EgressHttp,
    server_url: &Url,
    challenge: Option<&str>,
    choice: &ClientChoice,
    identity: &ClientIdentity,
    previous_scopes: &[String],
) -> Result<Started, OAuthError> {
    let mut manager = AuthorizationManager::new_with_oauth_http_client(server_url.as_str(), rmcp_client(http)).await?;
    let metadata = match manager.resolve_metadata_from_challenge(challenge).await {
        Ok(resolution) => resolution.metadata,
        Err(AuthError::AuthorizationServerMismatch { received_issuer, .. }) => {
            legacy_metadata(http, server_url, &received_issuer).await?
        }
        Err(e) => return Err(e.into()),
    };
    // Refuse a server without S256 before registering anything with it
    // (rmcp checks too, but only when building the authorization URL).
    if metadata
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|methods| !methods.iter().any(|m| m == "S256"))
    {
        return Err(AuthError::PkceUnsupported.into());
    }
    manager.set_metadata(metadata.clone());

    let scopes = choose_scopes(&manager, challenge, choice, previous_scopes, &metadata);
    let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let cimd = metadata
        .additional_fields
        .get("client_id_metadata_document_supported")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let config = match (&choice.client_id, &identity.metadata_url) {
        (Some(client_id), _) => {
            let mut config = OAuthClientConfig::new(client_id, &identity.redirect_uri);
            if let Some(secret) = &choice.client_secret {
                config = config.with_client_secret(secret.expose());
            }
            config
        }
        (None, Some(url)) if cimd => OAuthClientConfig::new(url, &identity.redirect_uri),
        (None, _) => {
            // rmcp registers with the `application_type` of the last configured
            // client ("native" by default); Switchboard is a web application.
            manager
                .configure_client(OAuthClientConfig::new("", &identity.redirect_uri).with_application_type("web"))?;
            manager
                .register_client(&identity.client_name, &identity.redirect_uri, &scope_refs)
                .await
                .map_err(|e| OAuthError::Registration(e.to_string()))?
        }
    };
    let config = config.with_application_type("web");
    let registration_secret = config.client_secret.clone().map(Secret::new);
    let client_id = config.client_id.clone();
    let states = InMemoryStateStore::new();
    manager.set_state_store(states.clone());
    manager.configure_client(config)?;
    let authorization_url = manager.get_authorization_url(&scope_refs).await?;
    let authorization_url = Url::parse(&authorization_url).map_err(|e| OAuthError::Protocol(e.to_string()))?;
    let query = |name: &str| {
        authorization_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let csrf = query("state").ok_or_else(|| OAuthError::Protocol("no state in the authorization URL".into()))?;
    let resource = query("resource").unwrap_or_else(|| server_url.to_string());
    let state = states
        .load(&csrf)
        .await?
        .ok_or_else(|| OAuthError::Protocol("the authorization state was not kept".into()))?;
    Ok(Started {
        authorization_url,
        state: Secret::new(csrf),
        pending: Pending {
            registration: Registration {
                provider: Provider::Mcp,
                resource,
                metadata,
                client_id,
                client_secret: registration_secret,
                redirect_uri: identity.redirect_uri.clone(),
            },
            state,
        },
    })
}

/// The 2025-03-26 back-compat case: a server without protected-resource
/// metadata whose authorization-server metadata sits at its origin's root but
/// names an issuer with a path (`https://host/oauth`). rmcp's strict issuer
/// check refuses it; it is accepted only when the issuer has the server's own
/// origin, which is what that revision of the spec describes.
async fn legacy_metadata(
    http: &EgressHttp,
    server_url: &Url,
    issuer: &str,
) -> Result<AuthorizationMetadata, OAuthError> {
    let same_origin = Url::parse(issuer).is_ok_and(|i| i.origin() == server_url.origin());
    if !same_origin {
        return Err(OAuthError::Protocol(format!(
            "the authorization server's issuer {issuer} does not match where its metadata was found"
        )));
    }
    let mut url = server_url.clone();
    url.set_path("/.well-known/oauth-authorization-server");
    url.set_query(None);
    let failed = |e: &dyn std::fmt::Display| OAuthError::Protocol(format!("authorization-server metadata: {e}"));
    let fetched = http
        .fetch(http.request(http::Method::GET, url), Deadline::after(TIMEOUT), MAX_BODY)
        .await
        .map_err(|e| failed(&e))?;
    if !fetched.status.is_success() {
        return Err(failed(&format!("HTTP {}", fetched.status.as_u16())));
    }
    let metadata: AuthorizationMetadata = fetched.json().map_err(|e| failed(&e))?;
    if metadata.issuer.as_deref() != Some(issuer) {
        return Err(OAuthError::Protocol(
            "the authorization-server metadata changed during discovery".into(),
        ));
    }
    Ok(metadata)
}

/// The scopes a `WWW-Authenticate` challenge names.
pub fn challenge_scopes(challenge: &str) -> Vec<String> {
    let Ok(base) = Url::parse("http://challenge.invalid/") else {
        return Vec::new();
    };
    rmcp::transport::auth::WWWAuthenticateParams::parse(challenge, &base)
        .scope
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn choose_scopes(
    manager: &AuthorizationManager,
    challenge: Option<&str>,
    choice: &ClientChoice,
    previous: &[String],
    metadata: &AuthorizationMetadata,
) -> Vec<String> {
    let mut scopes = if choice.scopes.is_empty() {
        let mut wanted: Vec<String> = previous.to_vec();
        wanted.extend(challenge.map(challenge_scopes).unwrap_or_default());
        let wanted = wanted.join(" ");
        manager.select_scopes((!wanted.is_empty()).then_some(wanted.as_str()), &[])
    } else {
        choice.scopes.clone()
    };
    let offline = metadata
        .scopes_supported
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s == "offline_access"));
    if offline && !scopes.is_empty() && !scopes.iter().any(|s| s == "offline_access") {
        scopes.push("offline_access".into());
    }
    scopes.dedup();
    scopes
}

/// Exchanges the authorization code (the callback's `code`, and its `iss`
/// when the server sent one) for tokens.
pub async fn finish(
    http: &EgressHttp,
    pending: Pending,
    code: &str,
    issuer: Option<&str>,
) -> Result<Grant, OAuthError> {
    if pending.registration.provider == Provider::Google {
        return super::google::finish(http, pending, code).await;
    }
    let Pending { registration, state } = pending;
    let mut manager = registration.manager(rmcp_client(http)).await?;
    let csrf = state.csrf_token.clone();
    let states = InMemoryStateStore::new();
    states.save(&csrf, state).await?;
    manager.set_state_store(states);
    let store = InMemoryCredentialStore::new();
    manager.set_credential_store(store.clone());
    manager.exchange_code_for_token_with_issuer(code, &csrf, issuer).await?;
    let credentials = store
        .load()
        .await?
        .ok_or_else(|| OAuthError::Protocol("the token exchange stored no credentials".into()))?;
    Ok(Grant {
        registration,
        credentials,
        wanted_scopes: Vec::new(),
    })
}

impl From<AuthError> for OAuthError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::TokenRefreshRejected(m) => Self::Rejected(m),
            AuthError::AuthorizationRequired => Self::Rejected("authorization required".into()),
            AuthError::PkceUnsupported => Self::Protocol("the authorization server does not support PKCE S256".into()),
            other => Self::Protocol(other.to_string()),
        }
    }
}
