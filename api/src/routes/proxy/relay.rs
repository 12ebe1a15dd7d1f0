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
    GetExtensions as _, ProgressToken, RequestId, ServerNotification, ServerRequest,
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

pub struct ToClient {
    peer: Peer<RoleServer>,
    capabilities: ClientCapabilities,
    /// By the upstream's request id.
    requests: Mutex<HashMap<RequestId, Theirs>>,
    /// The upstream's progress token → the upstream request id.
    progress: Mutex<HashMap<ProgressToken, RequestId>>,
}

impl ToClient {
    pub fn new(peer: Peer<RoleServer>, capabilities: ClientCapabilities) -> Self {
        Self {
            peer,
            capabilities,
            requests: Mutex::default(),
            progress: Mutex::default(),
        }
    }

    /// A request is forwarded: the upstream knows it as `upstream` (with
    /// progress token `token`), the client as `request`.
    pub fn forwarded(
        &self,
        upstream: RequestId,
        token: ProgressToken,
        request: RequestId,
        progress: Option<ProgressToken>,
    ) {
        lock(&self.progress).insert(token, upstream.clone());
        lock(&self.requests).insert(upstream, Theirs { request, progress });
    }

    /// The forwarded request ended.
    pub fn ended(&self, upstream: &RequestId, token: &ProgressToken) {
        lock(&self.progress).remove(token);
        lock(&self.requests).remove(upstream);
    }

    fn theirs_by_token(&self, token: &ProgressToken) -> Option<Theirs> {
        let upstream = lock(&self.progress).get(token).cloned()?;
        lock(&self.requests).get(&upstream).cloned()
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
        let notification = match notification {
            ServerNotification::ProgressNotification(mut progress) => {
                // Only progress of a request the client asked to follow.
                let Some(token) = self
                    .theirs_by_token(&progress.params.progress_token)
                    .and_then(|t| t.progress)
                else {
                    return;
                };
                progress.params.progress_token = token;
                ServerNotification::ProgressNotification(progress)
            }
            other => other,
        };
        if let Err(e) = self.peer.send_notification(notification).await {
            tracing::debug!(error = %e, "a notification could not be relayed to the client");
        }
    }

    async fn ask(
        &self,
        mut request: ServerRequest,
        during: Option<RequestId>,
        cancelled: CancellationToken,
    ) -> Result<ClientResult, ErrorData> {
        declared(&self.capabilities, &request)?;
        if let Some(theirs) = during.and_then(|id| lock(&self.requests).get(&id).cloned()) {
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
