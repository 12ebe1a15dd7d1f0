//! Local fan-out of published events to the watchers of each run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use uuid::Uuid;

use super::Envelope;

/// How many events a slow watcher may fall behind before it skips (and then
/// re-reads the log to fill the gap).
const CAPACITY: usize = 64;

#[derive(Debug, Default, Clone)]
pub struct Watchers(Arc<Mutex<HashMap<Uuid, broadcast::Sender<Arc<Envelope>>>>>);

impl Watchers {
    pub fn watch(&self, run_id: Uuid) -> Watch {
        let mut map = self.0.lock().expect("watchers lock");
        let sender = map.entry(run_id).or_insert_with(|| broadcast::channel(CAPACITY).0);
        Watch {
            rx: sender.subscribe(),
            run_id,
            watchers: self.clone(),
        }
    }

    /// Delivers to this run's watchers, if any.
    pub fn dispatch(&self, envelope: Envelope) {
        let map = self.0.lock().expect("watchers lock");
        if let Some(sender) = map.get(&envelope.run_id) {
            let _ = sender.send(Arc::new(envelope));
        }
    }
}

/// Signals per user ("your catalog changed"), for whoever listens in this process.
#[derive(Debug, Default, Clone)]
pub struct UserSignals(Arc<Mutex<HashMap<String, broadcast::Sender<()>>>>);

impl UserSignals {
    pub fn watch(&self, user: &str) -> broadcast::Receiver<()> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(user.to_owned())
            .or_insert_with(|| broadcast::channel(4).0)
            .subscribe()
    }

    pub fn signal(&self, user: &str) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = map.get(user)
            && sender.send(()).is_err()
        {
            map.remove(user);
        }
    }
}

/// A subscription to one run's live events; unregisters when dropped.
#[derive(Debug)]
pub struct Watch {
    rx: broadcast::Receiver<Arc<Envelope>>,
    run_id: Uuid,
    watchers: Watchers,
}

impl Watch {
    /// The next live event; `Err(skipped)` when this watcher fell behind.
    pub async fn recv(&mut self) -> Result<Arc<Envelope>, u64> {
        loop {
            match self.rx.recv().await {
                Ok(envelope) => return Ok(envelope),
                Err(broadcast::error::RecvError::Lagged(n)) => return Err(n),
                // The sender lives in the registry as long as this watch does.
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut map = self.watchers.0.lock().expect("watchers lock");
        if map.get(&self.run_id).is_some_and(|s| s.receiver_count() <= 1) {
            map.remove(&self.run_id);
        }
    }
}
