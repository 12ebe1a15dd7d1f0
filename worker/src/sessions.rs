//! Open MCP sessions, reused across tool calls: initializing a session costs
//! several round trips, a call on an open one costs one (a 2026-07-28 server
//! has no session to open; its "session" here is only rmcp's client, which
//! knows the server's discovery answer). A session belongs to one connector at
//! one version of its settings (its `updated_at`) and, for OAuth, to one
//! access token: an edited connector or a refreshed token
//! never reuses a session opened with old credentials. Sessions idle for
//! [`IDLE`] are closed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use switchboard_core::Secret;
use switchboard_core::connector_secrets;
use switchboard_core::domain::{Credentials, UserId};
use switchboard_core::mcp::call::{CallFailure, FailureKind};
use switchboard_core::mcp::{McpClient, Session};
use switchboard_core::runs::launch::{NewRun, launch};
use switchboard_core::services::Services;
use switchboard_core::store::ConnectorRecord;
use uuid::Uuid;

const IDLE: Duration = Duration::from_secs(60);

/// What a session was opened with.
struct Version {
    updated_at: DateTime<Utc>,
    /// The OAuth access token it sends.
    token: Option<Secret>,
}

impl Version {
    fn same(&self, other: &Self) -> bool {
        self.updated_at == other.updated_at
            && self.token.as_ref().map(Secret::expose) == other.token.as_ref().map(Secret::expose)
    }
}

struct Entry {
    version: Version,
    session: Arc<Session>,
    used: Instant,
}

#[derive(Clone, Default)]
pub struct Sessions {
    open: Arc<Mutex<HashMap<Uuid, Entry>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("open", &self.open.lock().map(|m| m.len()).unwrap_or(0))
            .finish()
    }
}

impl Sessions {
    /// An open session to `connector`, opening one if needed.
    pub async fn get(
        &self,
        services: &Services,
        connector: &ConnectorRecord,
        budget: Duration,
    ) -> Result<Arc<Session>, CallFailure> {
        // An OAuth connector's token is refreshed behind the connector's back
        // (its `updated_at` does not change): its session is keyed by the token too.
        let oauth = match connector.auth_type.as_str() {
            "oauth" => Some(credentials(services, connector).await?),
            _ => None,
        };
        let version = Version {
            updated_at: connector.updated_at,
            token: oauth.as_ref().and_then(access_token),
        };
        let cached = {
            let mut open = self.open.lock().expect("sessions lock");
            open.get_mut(&connector.id)
                .filter(|e| e.version.same(&version))
                .map(|entry| {
                    entry.used = Instant::now();
                    entry.session.clone()
                })
        };
        if let Some(session) = cached {
            if session.service().take_tools_changed() {
                // Off the call's path: the call goes on under the approved definitions.
                tokio::spawn(rediscover(services.clone(), connector.clone()));
            }
            return Ok(session);
        }
        let credentials = match oauth {
            Some(credentials) => credentials,
            None => credentials(services, connector).await?,
        };
        let session = Arc::new(connect(&services.mcp, services, connector, credentials, budget).await?);
        let mut open = self.open.lock().expect("sessions lock");
        open.retain(|_, e| e.used.elapsed() < IDLE);
        open.insert(
            connector.id,
            Entry {
                version,
                session: session.clone(),
                used: Instant::now(),
            },
        );
        Ok(session)
    }

    /// Forgets a session that may be broken; the next call opens a new one.
    pub fn evict(&self, connector_id: Uuid) {
        self.open.lock().expect("sessions lock").remove(&connector_id);
    }
}

/// The server announced `notifications/tools/list_changed` on this session:
/// its tools are discovered again, and what changed is held for the user's
/// review like any other discovery's findings.
async fn rediscover(services: Services, connector: ConnectorRecord) {
    let Ok(owner) = UserId::parse(&connector.owner) else {
        return;
    };
    let id = connector.id;
    match launch(&services, NewRun::discovery(&owner, connector)).await {
        Ok(run) => tracing::info!(
            event = "tools_list_changed",
            connector_id = %id,
            user_id = %owner,
            run_id = %run.id,
            "the server says its tools changed; discovering them again"
        ),
        Err(e) => {
            tracing::warn!(connector_id = %id, error = %e, "could not start a discovery after list_changed")
        }
    }
}

fn access_token(credentials: &Credentials) -> Option<Secret> {
    match credentials {
        Credentials::Oauth(o) => o.access_token.clone(),
        _ => None,
    }
}

fn internal(connector: &ConnectorRecord, e: &anyhow::Error) -> CallFailure {
    tracing::error!(connector_id = %connector.id, error = format!("{e:#}"), "cannot open a connector's secrets");
    CallFailure::new(
        FailureKind::Permanent,
        "INTERNAL_ERROR",
        "the stored credentials could not be read; edit the connector",
    )
}

/// The connector's credentials as they will be sent (an OAuth token refreshed if due).
async fn credentials(services: &Services, connector: &ConnectorRecord) -> Result<Credentials, CallFailure> {
    let credentials =
        connector_secrets::open_credentials(&services.vault, connector).map_err(|e| internal(connector, &e))?;
    services
        .usable_credentials(
            &connector.owner,
            connector.id,
            &connector.server_url,
            &connector.server_url,
            credentials,
        )
        .await
        .map_err(|e| CallFailure::new(FailureKind::NotReached, "AUTH_FAILED", e.to_string()))
}

async fn connect(
    mcp: &McpClient,
    services: &Services,
    connector: &ConnectorRecord,
    credentials: Credentials,
    budget: Duration,
) -> Result<Session, CallFailure> {
    let headers = connector_secrets::open_headers(&services.vault, connector).map_err(|e| internal(connector, &e))?;
    let url = switchboard_core::domain::ServerUrl::parse(&connector.server_url)
        .map_err(|e| internal(connector, &anyhow::anyhow!("stored URL: {e}")))?;
    mcp.connect(&url, &credentials, &headers, budget)
        .await
        .map(|(session, _)| session)
        .map_err(CallFailure::from_connect)
}
