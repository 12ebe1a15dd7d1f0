//! Switchboard's side of an MCP session as a client. By default it declares
//! no capabilities and refuses what a server asks of it (sampling,
//! elicitation, roots): a server learns nothing and asks nobody. A session
//! opened for the per-connector proxy is *relayed* instead: it declares what
//! the proxy's own client declared, and passes that client every request and
//! notification the server sends ([`Downstream`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use rmcp::RoleClient;
#[allow(deprecated)]
use rmcp::model::{
    ClientCapabilities, ClientConfig, ClientResult, ErrorCode, ErrorData, Implementation, ProtocolVersion, RequestId,
    ServerNotification, ServerRequest,
};
use rmcp::service::{InboundStreamOrigin, NotificationContext, RequestContext, Service};
use tokio_util::sync::CancellationToken;

/// Where a relayed session sends what its server asks of its client: the
/// proxy's client, over its own MCP session.
#[async_trait]
pub trait Downstream: Send + Sync + 'static {
    /// What the client declared (sampling, elicitation, roots…).
    fn capabilities(&self) -> ClientCapabilities;
    /// Passes a server notification on (progress, log messages, list changes…).
    async fn notify(&self, notification: ServerNotification);
    /// Asks the client; `during` is the request to the server whose response
    /// stream carried the question (if known), `cancelled` fires if the
    /// server gives up on it.
    async fn ask(
        &self,
        request: ServerRequest,
        during: Option<RequestId>,
        cancelled: CancellationToken,
    ) -> Result<ClientResult, ErrorData>;
}

/// The client-side handler of every session Switchboard opens.
#[derive(Clone)]
pub struct ClientSide {
    config: ClientConfig,
    tools_changed: Arc<AtomicBool>,
    relay: Option<Arc<dyn Downstream>>,
}

impl std::fmt::Debug for ClientSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSide")
            .field("relayed", &self.relay.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientSide {
    /// Switchboard's own sessions: no capabilities, every request refused.
    pub fn refusing() -> Self {
        Self::with(ClientCapabilities::default(), None)
    }

    /// A session relayed to `downstream`, declaring what it declared.
    pub fn relayed(downstream: Arc<dyn Downstream>) -> Self {
        Self::with(relayable(downstream.capabilities()), Some(downstream))
    }

    fn with(capabilities: ClientCapabilities, relay: Option<Arc<dyn Downstream>>) -> Self {
        Self {
            config: ClientConfig::new(
                capabilities,
                Implementation::new("switchboard", env!("CARGO_PKG_VERSION")),
            )
            .with_protocol_version(ProtocolVersion::V_2025_11_25),
            tools_changed: Arc::default(),
            relay,
        }
    }

    /// Whether the server's requests and notifications go to a client.
    pub fn is_relayed(&self) -> bool {
        self.relay.is_some()
    }

    /// Whether the server said its tools changed since this was last asked.
    pub fn take_tools_changed(&self) -> bool {
        self.tools_changed.swap(false, Ordering::AcqRel)
    }
}

/// Of a client's capabilities, those a relay can carry: sampling,
/// elicitation and roots (not tasks or extensions, which need state here).
#[allow(deprecated)]
fn relayable(declared: ClientCapabilities) -> ClientCapabilities {
    let mut carried = ClientCapabilities::default();
    carried.sampling = declared.sampling;
    carried.elicitation = declared.elicitation;
    carried.roots = declared.roots;
    carried
}

/// "method not found" for what a server asked of a client that cannot answer it.
fn not_offered(request: &ServerRequest) -> ErrorData {
    let method = match request {
        ServerRequest::PingRequest(_) => "ping",
        ServerRequest::CreateMessageRequest(_) => "sampling/createMessage",
        ServerRequest::ListRootsRequest(_) => "roots/list",
        ServerRequest::ElicitRequest(_) => "elicitation/create",
        ServerRequest::CustomRequest(r) => r.method.as_str(),
        _ => "this request",
    };
    ErrorData::new(
        ErrorCode::METHOD_NOT_FOUND,
        format!("{method} is not available: the client did not declare it"),
        None,
    )
}

impl Service<RoleClient> for ClientSide {
    async fn handle_request(
        &self,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, ErrorData> {
        if let ServerRequest::PingRequest(_) = request {
            return Ok(ClientResult::empty(()));
        }
        match &self.relay {
            Some(downstream) => {
                let during = match context.extensions.get::<InboundStreamOrigin>() {
                    Some(InboundStreamOrigin::OutboundRequest(id)) => Some(id.clone()),
                    _ => None,
                };
                downstream.ask(request, during, context.ct).await
            }
            None => Err(not_offered(&request)),
        }
    }

    async fn handle_notification(
        &self,
        notification: ServerNotification,
        _: NotificationContext<RoleClient>,
    ) -> Result<(), ErrorData> {
        if let ServerNotification::ToolListChangedNotification(_) = notification {
            self.tools_changed.store(true, Ordering::Release);
        }
        if let Some(downstream) = &self.relay {
            // A cancellation names the server's request ids, which the client
            // never saw: the relayed request is cancelled through its token.
            if !matches!(notification, ServerNotification::CancelledNotification(_)) {
                downstream.notify(notification).await;
            }
        }
        Ok(())
    }

    fn get_info(&self) -> ClientConfig {
        self.config.clone()
    }
}
