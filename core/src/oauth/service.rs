//! OAuth as the service runs it: flows persisted between the authorization
//! request and the callback, grants sealed per (user, target), and access
//! tokens refreshed before they expire, once, whichever process asks.
//!
//! - A flow's `state` is random (rmcp's CSRF token), stored only as a hash,
//!   single-use (the callback deletes it), bound to the user and the target,
//!   and to the browser that started it by a second random value the API puts
//!   in an HttpOnly cookie; it expires after [`FLOW_TTL`].
//! - Refresh is single-flight across processes: the refresher holds the
//!   grant's lease (a row update), and everyone re-reads the grant after
//!   waiting or leasing, so a refresh done elsewhere is used, not repeated.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use url::Url;
use uuid::Uuid;

use super::flow::{self, ClientChoice, ClientIdentity, Grant, Pending};
use super::{OAuthError, grant};
use crate::audit::{self, Actor, AuditKind};
use crate::config::{GoogleSettings, Settings};
use crate::egress::http::{Deadline, EgressHttp};
use crate::secret::Secret;
use crate::store::{OAuthFlowRecord, OAuthGrantRecord, SealedColumn, Store, now};
use crate::vault::{Aad, Vault};

/// How long a started authorization waits for its callback.
pub const FLOW_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a refresher may hold a grant's lease.
const LEASE: Duration = Duration::from_secs(30);
/// How long a caller waits for someone else's refresh.
const LEASE_WAIT: Duration = Duration::from_secs(20);
/// How often a waiting caller re-reads the grant.
const LEASE_POLL: Duration = Duration::from_millis(25);
/// Time a (best-effort) revocation may take.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time discovery and registration may take together (each request has its
/// own deadline too), and likewise a code exchange or a refresh.
const FLOW_BUDGET: Duration = Duration::from_secs(30);

/// `work` under [`FLOW_BUDGET`].
async fn within_budget<T>(work: impl Future<Output = Result<T, OAuthError>>) -> Result<T, OAuthError> {
    tokio::time::timeout(FLOW_BUDGET, work).await.unwrap_or_else(|_| {
        Err(OAuthError::Protocol(
            "the authorization server did not answer in time".into(),
        ))
    })
}

/// What an authorization is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthTarget {
    Connector(Uuid),
    SystemTool(&'static str),
}

impl OAuthTarget {
    pub fn key(&self) -> String {
        match self {
            Self::Connector(id) => format!("connector:{id}"),
            Self::SystemTool(id) => format!("tool:{id}"),
        }
    }

    pub fn parse(key: &str, system_tools: &[&'static str]) -> Option<Self> {
        match key.split_once(':')? {
            ("connector", id) => Uuid::parse_str(id).ok().map(Self::Connector),
            ("tool", id) => system_tools.iter().find(|t| **t == id).map(|t| Self::SystemTool(t)),
            _ => None,
        }
    }
}

/// A started authorization: send the user to `authorization_url`, and give
/// their browser `browser_binding` as an HttpOnly cookie.
#[derive(Debug)]
pub struct Authorization {
    pub authorization_url: Url,
    pub browser_binding: Secret,
}

/// A completed callback.
#[derive(Debug, Clone)]
pub struct Completed {
    pub owner: String,
    pub target: String,
}

/// Why a callback was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("this sign-in link is unknown, already used or expired; start again")]
    UnknownState,
    #[error("this sign-in was started in another browser; start again here")]
    WrongBrowser,
    #[error("the authorization server refused: {0}")]
    Denied(String),
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A usable access token and the resource it was issued for (RFC 8707; empty
/// for Google): see [`crate::binding`] for where it may be sent.
#[derive(Debug)]
pub struct AccessToken {
    pub token: Secret,
    pub resource: String,
}

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Nothing stored, or the grant was refused: the user must authorize (again).
    #[error("authorization needed: {0}")]
    NeedsAuthorization(String),
    /// The authorization server failed; try later.
    #[error("the authorization server could not refresh the token: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct OAuthService {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    http: EgressHttp,
    identity: ClientIdentity,
}

impl std::fmt::Debug for OAuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthService")
            .field("redirect_uri", &self.identity.redirect_uri)
            .finish()
    }
}

fn sha256_hex(value: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, value.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_token() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

fn after(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(d).unwrap_or_default()
}

impl OAuthService {
    pub fn new(settings: &Settings, store: Arc<dyn Store>, vault: Arc<Vault>, http: EgressHttp) -> Self {
        let public = &settings.agent.public_url;
        let join = |path: &str| public.join(path).map(|u| u.to_string()).unwrap_or_default();
        Self {
            store,
            vault,
            http,
            identity: ClientIdentity {
                redirect_uri: join("/oauth/callback"),
                metadata_url: (public.scheme() == "https").then(|| join("/oauth/client-metadata.json")),
                client_name: "Switchboard".into(),
            },
        }
    }

    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// Starts authorizing `owner` at the MCP server `server_url` for `target`.
    pub async fn authorize_mcp(
        &self,
        owner: &str,
        target: OAuthTarget,
        server_url: &Url,
        challenge: Option<&str>,
        choice: &ClientChoice,
    ) -> Result<Authorization, OAuthError> {
        // A new authorization asks for what was granted before plus what the
        // server has asked for since (step-up): the union, never less.
        let previous = self
            .grant(owner, target)
            .await
            .ok()
            .flatten()
            .map(|g| [g.scopes(), &g.wanted_scopes[..]].concat())
            .unwrap_or_default();
        let started = within_budget(flow::start(
            &self.http,
            server_url,
            challenge,
            choice,
            &self.identity,
            &previous,
        ))
        .await?;
        let binding = random_token();
        self.save_flow(owner, target, &started.state, &binding, &started.pending)
            .await
            .map_err(|e| OAuthError::Protocol(format!("{e:#}")))?;
        Ok(Authorization {
            authorization_url: started.authorization_url,
            browser_binding: binding,
        })
    }

    /// Starts Google sign-in for a system tool; `None` when Google is not configured.
    pub async fn authorize_google(
        &self,
        owner: &str,
        tool: &'static str,
        google: &GoogleSettings,
        scopes: &[&str],
    ) -> Result<Option<Authorization>, OAuthError> {
        let Some(started) = super::google::start(google, &self.identity.redirect_uri, scopes) else {
            return Ok(None);
        };
        let binding = random_token();
        self.save_flow(
            owner,
            OAuthTarget::SystemTool(tool),
            &started.state,
            &binding,
            &started.pending,
        )
        .await
        .map_err(|e| OAuthError::Protocol(format!("{e:#}")))?;
        Ok(Some(Authorization {
            authorization_url: started.authorization_url,
            browser_binding: binding,
        }))
    }

    async fn save_flow(
        &self,
        owner: &str,
        target: OAuthTarget,
        state: &Secret,
        binding: &Secret,
        pending: &Pending,
    ) -> anyhow::Result<()> {
        let state_hash = sha256_hex(state.expose());
        let at = now();
        let pending = self.vault.seal_json(flow_aad(owner, &state_hash), pending);
        self.store
            .insert_oauth_flow(&OAuthFlowRecord {
                state_hash,
                owner: owner.to_owned(),
                target: target.key(),
                browser_hash: sha256_hex(binding.expose()),
                pending,
                expires_at: after(at, FLOW_TTL),
                created_at: at,
            })
            .await?;
        Ok(())
    }

    /// The callback: checks `state` (once) and the browser binding, exchanges
    /// the code and stores the grant.
    pub async fn complete(
        &self,
        state: &str,
        binding: Option<&str>,
        code: Option<&str>,
        issuer: Option<&str>,
        error: Option<&str>,
    ) -> Result<Completed, CallbackError> {
        let flow = self
            .store
            .take_oauth_flow(&sha256_hex(state))
            .await
            .map_err(anyhow::Error::from)?
            .filter(|f| f.expires_at > now())
            .ok_or(CallbackError::UnknownState)?;
        if binding.map(sha256_hex).as_deref() != Some(flow.browser_hash.as_str()) {
            return Err(CallbackError::WrongBrowser);
        }
        if let Some(error) = error {
            let reason = crate::mcp::classify::excerpt(error);
            self.audit(
                &flow.owner,
                &flow.target,
                Actor::User(&flow.owner),
                AuditKind::GrantRefused,
                &reason,
            )
            .await;
            return Err(CallbackError::Denied(reason));
        }
        let code = code.ok_or_else(|| CallbackError::Denied("no authorization code".into()))?;
        let pending: Pending = self
            .vault
            .open_json(flow_aad(&flow.owner, &flow.state_hash), &flow.pending)
            .map_err(|e| anyhow::anyhow!("open pending flow: {e}"))?;
        let grant = within_budget(flow::finish(&self.http, pending, code, issuer)).await?;
        self.put_grant(&flow.owner, &flow.target, &grant).await?;
        Ok(Completed {
            owner: flow.owner,
            target: flow.target,
        })
    }

    async fn put_grant(&self, owner: &str, target: &str, grant: &Grant) -> anyhow::Result<()> {
        let at = now();
        self.store
            .put_oauth_grant(&OAuthGrantRecord {
                owner: owner.to_owned(),
                target: target.to_owned(),
                issuer: grant.registration.issuer().unwrap_or_default().to_owned(),
                grant_data: self.vault.seal_json(grant_aad(owner, target), grant),
                lease_until: None,
                created_at: at,
                updated_at: at,
            })
            .await?;
        Ok(())
    }

    /// The stored grant, if any.
    pub async fn grant(&self, owner: &str, target: OAuthTarget) -> anyhow::Result<Option<Grant>> {
        let key = target.key();
        let Some(row) = self.store.oauth_grant(owner, &key).await? else {
            return Ok(None);
        };
        let grant = self
            .vault
            .open_json(grant_aad(owner, &key), &row.grant_data)
            .map_err(|e| anyhow::anyhow!("open OAuth grant: {e}"))?;
        Ok(Some(grant))
    }

    /// A usable access token for (owner, target): the stored one while it is
    /// fresh, else a refreshed one (single-flight across processes).
    pub async fn access_token(&self, owner: &str, target: OAuthTarget) -> Result<AccessToken, TokenError> {
        let key = target.key();
        let deadline = tokio::time::Instant::now() + LEASE_WAIT;
        loop {
            let grant = self
                .grant(owner, target)
                .await?
                .ok_or_else(|| TokenError::NeedsAuthorization("nothing is authorized yet".into()))?;
            if !grant.is_stale() {
                return fresh_token(&grant);
            }
            let at = now();
            if self
                .store
                .lease_oauth_grant(owner, &key, at, after(at, LEASE))
                .await
                .map_err(anyhow::Error::from)?
            {
                let outcome = self.refresh_leased(owner, target).await;
                if let Err(e) = self.store.release_oauth_grant(owner, &key).await {
                    tracing::warn!(error = %e, "could not release an OAuth lease; it expires by itself");
                }
                return outcome;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(TokenError::Unavailable("another refresh is taking too long".into()));
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
    }

    /// Under the lease: re-read (someone may just have refreshed), refresh if
    /// still stale, store the result.
    async fn refresh_leased(&self, owner: &str, target: OAuthTarget) -> Result<AccessToken, TokenError> {
        let key = target.key();
        let grant = self
            .grant(owner, target)
            .await?
            .ok_or_else(|| TokenError::NeedsAuthorization("the authorization was removed".into()))?;
        if !grant.is_stale() {
            return fresh_token(&grant);
        }
        match within_budget(grant::refresh(&self.http, &grant)).await {
            Ok(refreshed) => {
                self.put_grant(owner, &key, &refreshed).await?;
                metrics::counter!("switchboard_oauth_refreshes_total", "outcome" => "ok").increment(1);
                tracing::info!(user_id = %owner, target = %key, event = "oauth_token_refreshed", "OAuth access token refreshed");
                fresh_token(&refreshed)
            }
            Err(OAuthError::Rejected(reason)) => {
                metrics::counter!("switchboard_oauth_refreshes_total", "outcome" => "rejected").increment(1);
                self.store
                    .delete_oauth_grant(owner, &key)
                    .await
                    .map_err(anyhow::Error::from)?;
                if let OAuthTarget::Connector(id) = target {
                    self.store
                        .record_check_failed(id, "AUTH_REQUIRED", now())
                        .await
                        .map_err(anyhow::Error::from)?;
                }
                tracing::warn!(user_id = %owner, target = %key, event = "oauth_needs_authorization", reason = %reason, "OAuth grant refused at refresh; the user must authorize again");
                self.audit(
                    owner,
                    &key,
                    Actor::Switchboard,
                    AuditKind::GrantRefused,
                    "the refresh was refused",
                )
                .await;
                Err(TokenError::NeedsAuthorization(
                    "the authorization server no longer accepts this sign-in".into(),
                ))
            }
            Err(e) => {
                metrics::counter!("switchboard_oauth_refreshes_total", "outcome" => "failed").increment(1);
                tracing::warn!(user_id = %owner, target = %key, error = %e, "OAuth refresh failed");
                Err(TokenError::Unavailable(e.to_string()))
            }
        }
    }

    /// A connector's server refused its token (401) or wants more scopes
    /// (403 `insufficient_scope`): remember the scopes it named for the next
    /// authorization, and show the connector as `needs_authorization`.
    pub async fn authorization_needed(
        &self,
        owner: &str,
        connector: Uuid,
        challenge: Option<&str>,
    ) -> anyhow::Result<()> {
        let target = OAuthTarget::Connector(connector);
        let wanted = challenge.map(flow::challenge_scopes).unwrap_or_default();
        if let Some(mut grant) = self.grant(owner, target).await?
            && !wanted.is_empty()
        {
            for scope in wanted {
                if !grant.wanted_scopes.contains(&scope) {
                    grant.wanted_scopes.push(scope);
                }
            }
            self.put_grant(owner, &target.key(), &grant).await?;
        }
        self.store
            .record_check_failed(connector, "AUTH_REQUIRED", now())
            .await?;
        tracing::warn!(user_id = %owner, target = %target.key(), event = "oauth_needs_authorization",
            "the server asks for authorization again");
        Ok(())
    }

    /// Revokes the grant at its authorization server (best effort, RFC 7009)
    /// and deletes it; true when there was one.
    pub async fn forget(&self, owner: &str, target: OAuthTarget) -> anyhow::Result<bool> {
        let grant = self.grant(owner, target).await.ok().flatten();
        let deleted = self.store.delete_oauth_grant(owner, &target.key()).await?;
        if let Some(grant) = &grant {
            self.revoke(grant).await;
        }
        if grant.is_some() || deleted.is_some() {
            self.audit(
                owner,
                &target.key(),
                Actor::User(owner),
                AuditKind::GrantRevoked,
                "revoked and deleted",
            )
            .await;
        }
        Ok(grant.is_some() || deleted.is_some())
    }

    /// An audit event about the grant for `target` (a key from [`OAuthTarget::key`]).
    async fn audit(&self, owner: &str, target: &str, actor: Actor<'_>, kind: AuditKind, what: &str) {
        let object = match target.strip_prefix("tool:") {
            Some(tool) => audit::system_tool(tool),
            None => target.to_owned(),
        };
        let summary = serde_json::json!({"what": what});
        audit::record(self.store.as_ref(), Some(owner), actor, kind, object, summary).await;
    }

    async fn revoke(&self, grant: &Grant) {
        let Some(endpoint) = grant
            .registration
            .metadata
            .additional_fields
            .get("revocation_endpoint")
            .and_then(serde_json::Value::as_str)
            .and_then(|e| Url::parse(e).ok())
        else {
            return;
        };
        let token = grant.refresh_token().or_else(|| grant.access_token());
        let Some(token) = token else { return };
        let registration = &grant.registration;
        let mut form = vec![
            ("token", token.expose().to_owned()),
            ("client_id", registration.client_id.clone()),
        ];
        if let Some(secret) = &registration.client_secret {
            form.push(("client_secret", secret.expose().to_owned()));
        }
        // Revocation is a token request: no redirects (OAuth 2.1).
        let request = self.http.request(http::Method::POST, endpoint).form(&form);
        let sent = self
            .http
            .fetch_once(request, Deadline::after(REVOKE_TIMEOUT), 4096)
            .await;
        if let Err(e) = sent {
            tracing::info!(error = %e, "token revocation failed (best effort)");
        }
    }
}

fn fresh_token(grant: &Grant) -> Result<AccessToken, TokenError> {
    let token = grant
        .access_token()
        .ok_or_else(|| TokenError::NeedsAuthorization("no access token was issued".into()))?;
    Ok(AccessToken {
        token,
        resource: grant.registration.resource.clone(),
    })
}

fn flow_aad<'a>(owner: &'a str, state_hash: &'a str) -> Aad<'a> {
    Aad {
        field: SealedColumn::OAuthFlow.field(),
        owner,
        row: state_hash,
    }
}

fn grant_aad<'a>(owner: &'a str, target: &'a str) -> Aad<'a> {
    Aad {
        field: SealedColumn::OAuthGrant.field(),
        owner,
        row: target,
    }
}
