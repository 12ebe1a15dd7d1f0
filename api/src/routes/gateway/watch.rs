//! Telling open sessions that the user's catalog changed: one watcher per
//! user with open sessions, shared by their sessions. It re-reads the user's
//! catalog when a catalog-change event arrives (from any process) and, as a
//! safety net, every `SWITCHBOARD_GATEWAY_WATCH_INTERVAL`; each change bumps a
//! version the sessions follow and turn into
//! `notifications/tools/list_changed` — on a legacy session's stream, or on a
//! 2026-07-28 client's `subscriptions/listen` stream ([`Listener`]). It stops
//! with the user's last session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::Tool;
use rmcp::service::{Peer, SubscriptionContext};
use rmcp::{ErrorData, RoleServer};
use switchboard_core::domain::UserId;
use tokio::sync::watch;

use super::Gateway;

/// How often a session checks that its transport is still open.
const LIVENESS: Duration = Duration::from_secs(15);

/// Where one session's change notices go.
pub enum Listener<'a> {
    /// A session opened with `initialize` (2025-11-25 and earlier): its stream.
    Session(Peer<RoleServer>),
    /// A 2026-07-28 `subscriptions/listen` stream.
    Subscription(&'a SubscriptionContext),
}

impl Listener<'_> {
    /// Sends one notice; `false` when the listener is gone.
    async fn notify(&self) -> bool {
        match self {
            Self::Session(peer) => !peer.is_transport_closed() && peer.notify_tool_list_changed().await.is_ok(),
            Self::Subscription(context) => context.sink().notify_tool_list_changed().await.is_ok(),
        }
    }

    async fn closed(&self) {
        match self {
            Self::Session(peer) => {
                let mut alive = tokio::time::interval(LIVENESS);
                while !peer.is_transport_closed() {
                    alive.tick().await;
                }
            }
            Self::Subscription(context) => context.cancelled().await,
        }
    }
}

/// Sends `notifications/tools/list_changed` whenever the user's catalog
/// changes, until the listener goes away or the server stops.
pub async fn announce_changes(gateway: Gateway, user: UserId, listener: Listener<'_>) {
    let mut changes = gateway.catalogs.subscribe(&gateway, &user);
    loop {
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() || !listener.notify().await {
                    return;
                }
            }
            () = listener.closed() => return,
            () = gateway.state.shutdown.cancelled() => return,
        }
    }
}

/// One watcher per user with open sessions, shared by their sessions: it
/// re-reads the user's catalog when a catalog-change event arrives (from any
/// process) and, as a safety net, every `SWITCHBOARD_GATEWAY_WATCH_INTERVAL`;
/// each change bumps a version the sessions follow. It stops with the user's
/// last session.
#[derive(Clone, Default)]
pub struct CatalogWatchers(Arc<Mutex<HashMap<String, watch::Sender<u64>>>>);

impl CatalogWatchers {
    fn subscribe(&self, gateway: &Gateway, user: &UserId) -> watch::Receiver<u64> {
        let mut watchers = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = watchers.get(user.as_str()) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(0);
        watchers.insert(user.as_str().to_owned(), sender.clone());
        tokio::spawn(watch_catalog(gateway.clone(), user.clone(), sender));
        receiver
    }
}

async fn watch_catalog(gateway: Gateway, user: UserId, sender: watch::Sender<u64>) {
    let fingerprint =
        |tools: Result<Vec<Tool>, ErrorData>| tools.ok().map(|t| serde_json::to_string(&t).unwrap_or_default());
    let mut signals = gateway.state.events.watch_catalog(user.as_str());
    let mut last = fingerprint(gateway.tools(&user).await);
    let interval = gateway.state.settings.agent.gateway_watch_interval;
    loop {
        tokio::select! {
            _ = signals.recv() => {}
            () = tokio::time::sleep(interval) => {}
            () = gateway.state.shutdown.cancelled() => return,
        }
        {
            let mut watchers = gateway
                .catalogs
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if sender.receiver_count() == 0 {
                watchers.remove(user.as_str());
                return;
            }
        }
        let current = fingerprint(gateway.tools(&user).await);
        if current.is_some() && current != last {
            if last.is_some() {
                sender.send_modify(|version| *version += 1);
            }
            last = current;
        }
    }
}
