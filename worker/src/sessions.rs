//! Open MCP sessions, reused across tool calls: initializing a session costs
//! several round trips, a call on an open one costs one. A session belongs to
//! one connector at one version of its settings (its `updated_at`), so an
//! edited connector never reuses a session opened with old credentials;
//! sessions idle for [`IDLE`] are closed. OAuth connectors are not cached:
//! their tokens change on refresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use switchboard_core::connector_secrets;
use switchboard_core::mcp::call::CallFailure;
use switchboard_core::mcp::{McpClient, Session};
use switchboard_core::services::Services;
use switchboard_core::store::ConnectorRecord;
use uuid::Uuid;

const IDLE: Duration = Duration::from_secs(60);

struct Entry {
    version: DateTime<Utc>,
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
        // (its `updated_at` does not change): each call opens with a fresh token.
        if connector.auth_type == "oauth" {
            return Ok(Arc::new(connect(&services.mcp, services, connector, budget).await?));
        }
        {
            let mut open = self.open.lock().expect("sessions lock");
            if let Some(entry) = open
                .get_mut(&connector.id)
                .filter(|e| e.version == connector.updated_at)
            {
                entry.used = Instant::now();
                return Ok(entry.session.clone());
            }
        }
        let session = Arc::new(connect(&services.mcp, services, connector, budget).await?);
        let mut open = self.open.lock().expect("sessions lock");
        open.retain(|_, e| e.used.elapsed() < IDLE);
        open.insert(
            connector.id,
            Entry {
                version: connector.updated_at,
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

async fn connect(
    mcp: &McpClient,
    services: &Services,
    connector: &ConnectorRecord,
    budget: Duration,
) -> Result<Session, CallFailure> {
    let internal = |e: anyhow::Error| {
        tracing::error!(connector_id = %connector.id, error = format!("{e:#}"), "cannot open a connector's secrets");
        CallFailure::new(
            switchboard_core::mcp::call::FailureKind::Permanent,
            "INTERNAL_ERROR",
            "the stored credentials could not be read; edit the connector",
        )
    };
    let credentials = connector_secrets::open_credentials(&services.vault, connector).map_err(internal)?;
    let credentials = services
        .usable_credentials(
            &connector.owner,
            connector.id,
            &connector.server_url,
            &connector.server_url,
            credentials,
        )
        .await
        .map_err(|e| {
            CallFailure::new(
                switchboard_core::mcp::call::FailureKind::NotReached,
                "AUTH_FAILED",
                e.to_string(),
            )
        })?;
    let headers = connector_secrets::open_headers(&services.vault, connector).map_err(internal)?;
    let url = switchboard_core::domain::ServerUrl::parse(&connector.server_url)
        .map_err(|e| internal(anyhow::anyhow!("stored URL: {e}")))?;
    mcp.connect(&url, &credentials, &headers, budget)
        .await
        .map(|(session, _)| session)
        .map_err(CallFailure::from_connect)
}
