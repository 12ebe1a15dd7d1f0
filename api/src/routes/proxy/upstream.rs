//! The connector's server, opened for one client session (or, for a
//! 2026-07-28 client, one request): its credentials as the worker would send
//! them, its answers to the server's questions relayed to the client, and an
//! OAuth access token that is refreshed while the session stays open. A
//! session belongs to the connector as it was when it opened: after an edit
//! (its `updated_at` moves) it is refused, and the client opens a new one. It
//! is closed when its client has sent nothing for [`IDLE`] (a server that
//! keeps talking does not keep it open).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use rmcp::ErrorData;
use rmcp::model::ServerPeerInfo;
use switchboard_core::connector_secrets;
use switchboard_core::domain::{Credentials, ServerUrl};
use switchboard_core::mcp::{ClientSide, Failure, LiveToken, Opening, Session};
use switchboard_core::runs::launch::{NewRun, launch};
use switchboard_core::store::ConnectorRecord;
use tokio_util::sync::CancellationToken;

use super::relay::ToClient;
use crate::state::AppState;

/// A session whose client sent nothing for this long is closed.
pub const IDLE: Duration = Duration::from_secs(300);

pub struct Upstream {
    pub session: Session,
    pub relay: Arc<ToClient>,
    token: Option<LiveToken>,
    /// The connector's version and address the session was opened with.
    version: DateTime<Utc>,
    url: String,
    /// When the client last asked something, in ms since `opened`.
    used: Arc<AtomicU64>,
    opened: Instant,
    /// Ends the idle watch when the session goes.
    gone: CancellationToken,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.gone.cancel();
        self.session.cancellation_token().cancel();
    }
}

impl Upstream {
    /// Opens `connector`'s server, relaying its questions through `relay`.
    /// `session`: the client is in a session (not 2026-07-28), and so is the server.
    pub async fn open(
        state: &AppState,
        connector: &ConnectorRecord,
        relay: Arc<ToClient>,
        session: bool,
    ) -> Result<Self, ErrorData> {
        let credentials = credentials(state, connector, &connector.server_url).await?;
        let headers = connector_secrets::open_headers(&state.services.vault, connector).map_err(internal)?;
        let url = ServerUrl::parse(&connector.server_url).map_err(|e| internal(anyhow::anyhow!("stored URL: {e}")))?;
        let token = match &credentials {
            Credentials::Oauth(o) => o.access_token.clone().map(LiveToken::new),
            _ => None,
        };
        let opening = Opening {
            side: ClientSide::relayed(relay.clone()),
            token: token.clone(),
            session,
        };
        let budget = state.settings.jobs.test_budget;
        let (session, _) = state
            .services
            .mcp
            .open(&url, &credentials, &headers, budget, &opening)
            .await
            .map_err(unreachable)?;
        let upstream = Self {
            session,
            relay,
            token,
            version: connector.updated_at,
            url: connector.server_url.clone(),
            used: Arc::default(),
            opened: Instant::now(),
            gone: CancellationToken::new(),
        };
        upstream.close_when_idle();
        Ok(upstream)
    }

    /// Closes the session once its client has been silent for [`IDLE`].
    fn close_when_idle(&self) {
        let (used, opened, gone) = (self.used.clone(), self.opened, self.gone.clone());
        let closing = self.session.cancellation_token();
        tokio::spawn(async move {
            loop {
                let last = Duration::from_millis(used.load(Ordering::Acquire));
                let quiet = opened.elapsed().saturating_sub(last);
                if quiet >= IDLE {
                    closing.cancel();
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(IDLE - quiet) => {}
                    () = gone.cancelled() => return,
                }
            }
        });
    }

    /// The session, for a request of its client: refused once the connector
    /// was edited (the client opens a new session) or the session closed.
    pub fn serving(&self, connector: &ConnectorRecord) -> Result<&Self, ErrorData> {
        if connector.updated_at != self.version {
            return Err(ErrorData::invalid_request(
                "the connector was edited since this session opened; open a new session",
                None,
            ));
        }
        if self.session.is_closed() {
            return Err(ErrorData::invalid_request(
                "this session was closed after it was left idle; open a new session",
                None,
            ));
        }
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.used.store(now, Ordering::Release);
        Ok(self)
    }

    /// The server said its tools changed: they are discovered again and
    /// compared with the approved ones, as for the worker's sessions.
    pub fn rediscover_if_changed(&self, state: &AppState, connector: &ConnectorRecord) {
        if !self.session.service().take_tools_changed() {
            return;
        }
        let Ok(owner) = switchboard_core::domain::UserId::parse(&connector.owner) else {
            return;
        };
        let run = NewRun::discovery(&owner, connector.clone());
        let services = state.services.clone();
        tokio::spawn(async move {
            if let Err(e) = launch(&services, run).await {
                tracing::warn!(error = %e, "could not start a discovery after list_changed");
            }
        });
    }

    /// What the server said of itself.
    pub fn info(&self) -> Option<Arc<ServerPeerInfo>> {
        self.session.peer_info()
    }

    /// Before each request: an OAuth token that is due is refreshed (one
    /// read of the grant when it is not), and the open session sends the new
    /// one from this request on.
    pub async fn refresh(&self, state: &AppState, connector: &ConnectorRecord) {
        let Some(live) = &self.token else { return };
        match credentials(state, connector, &self.url).await {
            Ok(Credentials::Oauth(o)) => {
                if let Some(fresh) = o.access_token.filter(|t| !live.is(t)) {
                    tracing::info!(connector_id = %connector.id, "the proxy sends a refreshed OAuth token");
                    live.replace(fresh);
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(connector_id = %connector.id, error = %e.message, "could not refresh a proxied session's token")
            }
        }
    }
}

/// The connector's credentials as they will be sent to `url` (an OAuth
/// token refreshed if due, and only for the address it was granted for).
async fn credentials(state: &AppState, connector: &ConnectorRecord, url: &str) -> Result<Credentials, ErrorData> {
    let stored = connector_secrets::open_credentials(&state.services.vault, connector).map_err(internal)?;
    state
        .services
        .usable_credentials(&connector.owner, connector.id, &connector.server_url, url, stored)
        .await
        .map_err(|e| ErrorData::internal_error(format!("AUTH_FAILED: {e}"), None))
}

fn internal(e: anyhow::Error) -> ErrorData {
    tracing::error!(
        error = format!("{e:#}"),
        "the connector proxy could not read a connector"
    );
    ErrorData::internal_error("the stored connector could not be read; edit the connector", None)
}

/// The server could not be opened: its error code and message, as a connection test says them.
fn unreachable(failure: Failure) -> ErrorData {
    ErrorData::internal_error(format!("{}: {}", failure.code.as_str(), failure.message), None)
}
