//! The in-process event bus (embedded mode).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use uuid::Uuid;

use super::watchers::{UserSignals, Watch, Watchers};
use super::{Envelope, EventBus};
use crate::runs::RunEvent;

/// Finished runs whose logs are kept at most, oldest dropped first.
const MAX_FINISHED_LOGS: usize = 10_000;

#[derive(Debug)]
pub struct MemoryBus {
    logs: Mutex<Logs>,
    watchers: Watchers,
    users: UserSignals,
    retention: Duration,
}

#[derive(Debug, Default)]
struct Logs {
    events: HashMap<Uuid, Vec<RunEvent>>,
    finished: VecDeque<(Instant, Uuid)>,
}

impl MemoryBus {
    /// Logs of finished runs are kept for `retention` (at most [`MAX_FINISHED_LOGS`]).
    pub fn new(retention: Duration) -> Self {
        Self {
            logs: Mutex::default(),
            watchers: Watchers::default(),
            users: UserSignals::default(),
            retention,
        }
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn append_all(&self, run_id: Uuid, events: Vec<RunEvent>) -> anyhow::Result<u64> {
        let events = events.into_iter().map(RunEvent::bounded);
        let mut last = 0;
        for event in events {
            let seq = {
                let mut logs = self.logs.lock().expect("logs lock");
                while let Some((at, id)) = logs.finished.front().copied() {
                    if at.elapsed() < self.retention && logs.finished.len() < MAX_FINISHED_LOGS {
                        break;
                    }
                    logs.finished.pop_front();
                    logs.events.remove(&id);
                }
                if event.is_terminal() {
                    logs.finished.push_back((Instant::now(), run_id));
                }
                let log = logs.events.entry(run_id).or_default();
                log.push(event.clone());
                log.len() as u64
            };
            self.watchers.dispatch(Envelope { run_id, seq, event });
            last = seq;
        }
        Ok(last)
    }

    async fn since(&self, run_id: Uuid, after: u64) -> anyhow::Result<Vec<(u64, RunEvent)>> {
        let logs = self.logs.lock().expect("logs lock");
        let Some(log) = logs.events.get(&run_id) else {
            return Ok(Vec::new());
        };
        Ok(log
            .iter()
            .enumerate()
            .map(|(i, e)| (i as u64 + 1, e.clone()))
            .skip(after as usize)
            .collect())
    }

    fn watch(&self, run_id: Uuid) -> Watch {
        self.watchers.watch(run_id)
    }

    async fn catalog_changed(&self, user: &str) {
        self.users.signal(user);
    }

    fn watch_catalog(&self, user: &str) -> tokio::sync::broadcast::Receiver<()> {
        self.users.watch(user)
    }
}
