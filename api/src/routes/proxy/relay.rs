//! The proxy's client as the upstream server sees it ([`Downstream`]): the
//! server's notifications and requests go to the client over the client's
//! own session. Progress tokens and request ids differ on the two sides (each
//! peer numbers its own), so the proxy records, per forwarded request, the
//! client's progress token and request id under the upstream's, and the
//! relay translates: a progress notification reaches the client under the
//! client's token (and on that request's stream); an elicitation asked while
//! a call runs rides that call's stream.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rmcp::RoleServer;
#[allow(deprecated)]
use rmcp::model::{
    CancelledNotification, CancelledNotificationParam, ClientCapabilities, ClientResult, ErrorCode, ErrorData,
    GetExtensions as _, ProgressNotification, ProgressToken, RequestId, ServerNotification, ServerRequest,
};
use rmcp::service::{OriginatingRequestId, Peer, PeerRequestOptions};
use switchboard_core::mcp::Downstream;
use tokio_util::sync::CancellationToken;

/// How long the client has to answer the server's question (a person may be
/// filling in a form).
const ASK_TIMEOUT: Duration = Duration::from_secs(600);

/// One forwarded request: what the client called it.
#[derive(Debug, Clone)]
struct Theirs {
    request: RequestId,
    progress: Option<ProgressToken>,
}

/// The forwarded requests, by the upstream's names for them.
#[derive(Default)]
struct Routes {
    /// By the upstream's request id.
    requests: HashMap<RequestId, Theirs>,
    /// The upstream's progress token → its request id.
    tokens: HashMap<ProgressToken, RequestId>,
    /// Progress that arrived before its request was recorded (a server can
    /// answer before the proxy learns the ids rmcp gave the request).
    early: HashMap<ProgressToken, Vec<ProgressNotification>>,
}

/// Early progress kept for at most this many unknown tokens.
const EARLY_TOKENS: usize = 64;

pub struct ToClient {
    peer: Peer<RoleServer>,
    capabilities: ClientCapabilities,
    routes: Mutex<Routes>,
    /// Held while progress is sent, so that it reaches the client in order.
    order: tokio::sync::Mutex<()>,
}

impl ToClient {
    pub fn new(peer: Peer<RoleServer>, capabilities: ClientCapabilities) -> Self {
        Self {
            peer,
            capabilities,
            routes: Mutex::default(),
            order: tokio::sync::Mutex::new(()),
        }
    }

    /// A request is forwarded: the upstream knows it as `upstream` (with
    /// progress token `token`), the client as `request` (following its
    /// progress as `progress`). Progress that came first is sent now.
    pub async fn forwarded(
        &self,
        upstream: RequestId,
        token: ProgressToken,
        request: RequestId,
        progress: Option<ProgressToken>,
    ) {
        let _order = self.order.lock().await;
        let early = {
            let mut routes = lock(&self.routes);
            routes.tokens.insert(token.clone(), upstream.clone());
            routes.requests.insert(
                upstream,
                Theirs {
                    request,
                    progress: progress.clone(),
                },
            );
            routes.early.remove(&token).unwrap_or_default()
        };
        if let Some(theirs) = progress {
            for mut notification in early {
                notification.params.progress_token = theirs.clone();
                self.send(ServerNotification::ProgressNotification(notification)).await;
            }
        }
    }

    /// The forwarded request ended. rmcp hands each notification to the
    /// relay on a task of its own, and the response can overtake the last:
    /// the tasks already spawned get a turn, and progress being sent is let
    /// finish, before the answer goes to the client.
    pub async fn ended(&self, upstream: &RequestId, token: &ProgressToken) {
        tokio::task::yield_now().await;
        let _order = self.order.lock().await;
        let mut routes = lock(&self.routes);
        routes.tokens.remove(token);
        routes.requests.remove(upstream);
        routes.early.remove(token);
    }

    /// Progress under the client's token, or kept until its request is recorded.
    async fn progress(&self, mut notification: ProgressNotification) {
        let _order = self.order.lock().await;
        let theirs = {
            let mut routes = lock(&self.routes);
            let token = &notification.params.progress_token;
            match routes.tokens.get(token).and_then(|id| routes.requests.get(id)) {
                Some(theirs) => theirs.progress.clone(),
                None => {
                    if routes.early.len() < EARLY_TOKENS || routes.early.contains_key(token) {
                        routes.early.entry(token.clone()).or_default().push(notification);
                    }
                    return;
                }
            }
        };
        // Only progress of a request the client asked to follow.
        if let Some(token) = theirs {
            notification.params.progress_token = token;
            self.send(ServerNotification::ProgressNotification(notification)).await;
        }
    }

    async fn send(&self, notification: ServerNotification) {
        if let Err(e) = self.peer.send_notification(notification).await {
            tracing::debug!(error = %e, "a notification could not be relayed to the client");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether the client declared what `request` needs.
#[allow(deprecated)]
fn declared(capabilities: &ClientCapabilities, request: &ServerRequest) -> Result<(), ErrorData> {
    let (ok, what) = match request {
        ServerRequest::CreateMessageRequest(_) => (capabilities.sampling.is_some(), "sampling"),
        ServerRequest::ElicitRequest(_) => (capabilities.elicitation.is_some(), "elicitation"),
        ServerRequest::ListRootsRequest(_) => (capabilities.roots.is_some(), "roots"),
        _ => (false, "this request"),
    };
    if ok {
        Ok(())
    } else {
        Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("the server asked for {what}, which the client connected through Switchboard did not declare"),
            None,
        ))
    }
}

#[async_trait]
impl Downstream for ToClient {
    fn capabilities(&self) -> ClientCapabilities {
        self.capabilities.clone()
    }

    async fn notify(&self, notification: ServerNotification) {
        match notification {
            ServerNotification::ProgressNotification(progress) => self.progress(progress).await,
            other => self.send(other).await,
        }
    }

    async fn ask(
        &self,
        mut request: ServerRequest,
        during: Option<RequestId>,
        cancelled: CancellationToken,
    ) -> Result<ClientResult, ErrorData> {
        declared(&self.capabilities, &request)?;
        if let Some(theirs) = during.and_then(|id| lock(&self.routes).requests.get(&id).cloned()) {
            request.extensions_mut().insert(OriginatingRequestId(theirs.request));
        }
        let mut options = PeerRequestOptions::no_options();
        options.timeout = Some(ASK_TIMEOUT);
        let unreachable =
            |e: rmcp::ServiceError| ErrorData::internal_error(format!("the client could not be asked: {e}"), None);
        let handle = self
            .peer
            .send_cancellable_request(request, options)
            .await
            .map_err(unreachable)?;
        let id = handle.id.clone();
        tokio::select! {
            answer = handle.await_response() => answer.map_err(unreachable),
            () = cancelled.cancelled() => {
                let cancel = CancelledNotification::new(CancelledNotificationParam::new(
                    Some(id),
                    Some("the server cancelled its request".into()),
                ));
                let _ = self.peer.send_notification(ServerNotification::CancelledNotification(cancel)).await;
                Err(ErrorData::internal_error("the server cancelled its request", None))
            }
        }
    }
}
