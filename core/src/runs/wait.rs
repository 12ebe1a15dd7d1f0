//! Waiting for a run to end, from any process: a waiter is woken by the run's
//! terminal event, and — in case an event was lost (a Redis hiccup) — by one
//! safety net per process that reads, in one query every
//! [`SAFETY_NET`], which of the runs anybody waits on have ended. So a
//! thousand idle waiters cost one database read per interval, not a thousand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use super::RunRecord;
use crate::domain::UserId;
use crate::services::Services;
use crate::store::{Store, StoreResult};

/// How often the safety net reads.
pub const SAFETY_NET: Duration = Duration::from_secs(2);

/// The runs waited on in this process, each with its "ended" signal.
#[derive(Clone, Default)]
pub struct RunWaits {
    waiting: Arc<Mutex<HashMap<Uuid, Entry>>>,
    net: Arc<OnceLock<()>>,
}

struct Entry {
    waiters: usize,
    ended: watch::Sender<bool>,
}

impl std::fmt::Debug for RunWaits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.waiting.lock().map(|w| w.len()).unwrap_or(0);
        f.debug_struct("RunWaits").field("runs", &n).finish()
    }
}

/// Interest in one run's end; dropping it withdraws the interest.
#[derive(Debug)]
pub struct Waiting {
    id: Uuid,
    ended: watch::Receiver<bool>,
    waits: RunWaits,
}

impl Waiting {
    /// Resolves once the safety net has seen the run ended.
    pub async fn ended(&mut self) {
        let _ = self.ended.wait_for(|ended| *ended).await;
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut waiting = self.waits.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = waiting.get_mut(&self.id) {
            entry.waiters -= 1;
            if entry.waiters == 0 {
                waiting.remove(&self.id);
            }
        }
    }
}

impl RunWaits {
    /// Registers interest in run `id`; starts this process's safety net on first use.
    pub fn watch(&self, store: &Arc<dyn Store>, id: Uuid) -> Waiting {
        self.net.get_or_init(|| {
            tokio::spawn(safety_net(self.clone(), store.clone()));
        });
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = waiting.entry(id).or_insert_with(|| Entry {
            waiters: 0,
            ended: watch::channel(false).0,
        });
        entry.waiters += 1;
        Waiting {
            id,
            ended: entry.ended.subscribe(),
            waits: self.clone(),
        }
    }
}

async fn safety_net(waits: RunWaits, store: Arc<dyn Store>) {
    let mut tick = tokio::time::interval(SAFETY_NET);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ids: Vec<Uuid> = waits
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        if ids.is_empty() {
            continue;
        }
        match store.ended_runs(&ids).await {
            Ok(ended) => {
                let waiting = waits.waiting.lock().unwrap_or_else(PoisonError::into_inner);
                for id in ended {
                    if let Some(entry) = waiting.get(&id) {
                        entry.ended.send_replace(true);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "the run waiters' safety net could not read"),
        }
    }
}

/// Waits until the run ends or `timeout` passes; returns the latest row.
pub async fn until_finished(
    services: &Services,
    owner: &UserId,
    id: Uuid,
    timeout: Duration,
) -> StoreResult<RunRecord> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut events = services.events.watch(id);
    let mut ended = services.waits.watch(&services.store, id);
    loop {
        let run = services.store.run(owner, id).await?;
        if run.status().is_terminal() || tokio::time::Instant::now() >= deadline {
            return Ok(run);
        }
        tokio::select! {
            // A lag (`Err`) may have skipped the terminal event: read again.
            () = async { while let Ok(e) = events.recv().await { if e.event.is_terminal() { break } } } => {}
            () = ended.ended() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}
