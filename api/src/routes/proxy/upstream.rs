//! The connector's server, opened for one client session (or, for a
//! 2026-07-28 client, one request): its credentials as the worker would send
//! them, its answers to the server's questions relayed to the client, and an
//! OAuth access token that is refreshed while the session stays open.

use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::model::ServerPeerInfo;
use switchboard_core::connector_secrets;
use switchboard_core::domain::{Credentials, ServerUrl};
use switchboard_core::mcp::{ClientSide, Failure, LiveToken, Opening, Session};
use switchboard_core::store::ConnectorRecord;

use super::relay::ToClient;
use crate::state::AppState;

pub struct Upstream {
    pub session: Session,
    pub relay: Arc<ToClient>,
    token: Option<LiveToken>,
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
        let credentials = credentials(state, connector).await?;
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
        Ok(Self { session, relay, token })
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
        match credentials(state, connector).await {
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

/// The connector's credentials as they will be sent (an OAuth token refreshed if due).
async fn credentials(state: &AppState, connector: &ConnectorRecord) -> Result<Credentials, ErrorData> {
    let stored = connector_secrets::open_credentials(&state.services.vault, connector).map_err(internal)?;
    state
        .services
        .usable_credentials(
            &connector.owner,
            connector.id,
            &connector.server_url,
            &connector.server_url,
            stored,
        )
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
