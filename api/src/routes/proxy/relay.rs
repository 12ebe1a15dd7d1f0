//! The proxy's client as the upstream server sees it ([`Downstream`]): the
//! server's notifications and requests go to the client over the client's
//! own session. Progress tokens and request ids differ on the two sides (each
//! peer numbers its own), so the proxy records, per forwarded request, the
//! client's progress token and request id under the upstream's, and the
//! relay translates: a progress notification reaches the client under the
//! client's token (and on that request's stream); an elicitation asked while
//! a call runs rides that call's stream.
//!
//! What a hostile server can make it hold is bounded: [`QUESTIONS`] questions
//! at once per session, [`BACKLOG`] notifications waiting for a slow client
//! (more are dropped), and early progress for at most [`EARLY_TOKENS`] tokens
//! of [`EARLY_EACH`] notifications (progress for a request that ended is
//! dropped). A client without a session (2026-07-28) cannot be asked
//! mid-call: a server that tries is refused at once.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;

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
pub const ASK_TIMEOUT: Duration = Duration::from_secs(600);

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
    ended: std::collections::VecDeque<ProgressToken>,
}

/// Early progress kept for at most this many unknown tokens…
pub const EARLY_TOKENS: usize = 64;
/// …of at most this many notifications each.
pub const EARLY_EACH: usize = 16;
/// Requests that ended, remembered so their late progress is dropped.
const ENDED: usize = 64;
/// Server questions to the client in flight at once, per session.
pub const QUESTIONS: usize = 4;
/// Notifications waiting to reach a slow client.
pub const BACKLOG: usize = 256;
/// How long an answer waits for the progress that came before it (see [`ToClient::ended`]).
const PROGRESS_GRACE: Duration = Duration::from_millis(10);
/// How long one notification may wait for the client.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub struct ToClient {
    peer: Peer<RoleServer>,
    capabilities: ClientCapabilities,
    /// The client has no session (2026-07-28): it cannot be asked mid-call.
    stateless: bool,
    routes: Mutex<Routes>,
    /// Held while progress is sent, so that it reaches the client in order.
    order: tokio::sync::Mutex<()>,
    questions: Semaphore,
    backlog: Semaphore,
}

impl ToClient {
    /// Whether the server may ask this client something in the middle of a call.
    #[allow(deprecated)]
    pub fn can_be_asked(&self) -> bool {
        !self.stateless
            && (self.capabilities.elicitation.is_some()
                || self.capabilities.sampling.is_some()
                || self.capabilities.roots.is_some())
    }

    pub fn new(peer: Peer<RoleServer>, capabilities: ClientCapabilities, stateless: bool) -> Self {
        Self {
            peer,
            capabilities,
            stateless,
            routes: Mutex::default(),
            order: tokio::sync::Mutex::new(()),
            questions: Semaphore::new(QUESTIONS),
            backlog: Semaphore::new(BACKLOG),
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
                self.deliver(ServerNotification::ProgressNotification(notification))
                    .await;
            }
        }
    }

    /// The forwarded request ended. rmcp hands each notification to the
    /// relay on a task of its own, and the response can overtake the last:
    /// when the client follows the request's progress, the tasks already
    /// spawned get [`PROGRESS_GRACE`] to run, and progress being sent is let
    /// finish, before the answer goes to the client.
    pub async fn ended(&self, upstream: &RequestId, token: &ProgressToken) {
        let followed = lock(&self.routes)
            .requests
            .get(upstream)
            .is_some_and(|theirs| theirs.progress.is_some());
        if followed {
            tokio::time::sleep(PROGRESS_GRACE).await;
        } else {
            tokio::task::yield_now().await;
        }
        let _order = self.order.lock().await;
        let mut routes = lock(&self.routes);
        routes.tokens.remove(token);
        routes.requests.remove(upstream);
        routes.early.remove(token);
        if routes.ended.len() == ENDED {
            routes.ended.pop_front();
        }
        routes.ended.push_back(token.clone());
    }

    /// Progress under the client's token, or kept until its request is recorded.
    async fn progress(&self, mut notification: ProgressNotification) {
        // A place in the backlog before the wait for the order, so that a
        // slow client cannot make waiting notifications pile up.
        let Some(_waiting) = self.waiting() else { return };
        let _order = self.order.lock().await;
        let theirs = {
            let mut routes = lock(&self.routes);
            let token = &notification.params.progress_token;
            match routes.tokens.get(token).and_then(|id| routes.requests.get(id)) {
                Some(theirs) => theirs.progress.clone(),
                None if routes.ended.contains(token) => return,
                None => {
                    let room = routes.early.len() < EARLY_TOKENS || routes.early.contains_key(token);
                    if room {
                        let kept = routes.early.entry(token.clone()).or_default();
                        if kept.len() < EARLY_EACH {
                            kept.push(notification);
                        }
                    }
                    return;
                }
            }
        };
        // Only progress of a request the client asked to follow.
        if let Some(token) = theirs {
            notification.params.progress_token = token;
            self.deliver(ServerNotification::ProgressNotification(notification))
                .await;
        }
    }

    /// A place among the [`BACKLOG`] notifications that may wait for the
    /// client; none (the notification is dropped) when they are all taken.
    fn waiting(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let permit = self.backlog.try_acquire().ok();
        if permit.is_none() {
            tracing::debug!("a slow client: a relayed notification was dropped");
        }
        permit
    }

    /// Sends a notification if it can wait for the client.
    async fn send(&self, notification: ServerNotification) {
        if let Some(_waiting) = self.waiting() {
            self.deliver(notification).await;
        }
    }

    async fn deliver(&self, notification: ServerNotification) {
        match tokio::time::timeout(SEND_TIMEOUT, self.peer.send_notification(notification)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "a notification could not be relayed to the client"),
            Err(_) => tracing::debug!("a slow client: a relayed notification timed out"),
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
        if self.stateless {
            return Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                "the client speaks 2026-07-28 without a session, so it cannot be asked in the middle of a call; ask with an input_required result",
                None,
            ));
        }
        let Ok(_asking) = self.questions.try_acquire() else {
            return Err(ErrorData::internal_error(
                format!("the server asked more than {QUESTIONS} questions at once"),
                None,
            ));
        };
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
