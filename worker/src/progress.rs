//! Turns the MCP client's step updates into run events, in order, while
//! keeping the step list that is written to the run at the end.

use std::sync::{Arc, Mutex};

use switchboard_core::events::DynEventBus;
use switchboard_core::mcp::{StepObserver, StepUpdate};
use switchboard_core::runs::{RunEvent, Step, apply_step};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Forwards step updates to the event bus from a task of its own (the
/// observer is called synchronously from inside the probe).
#[derive(Debug)]
pub struct Progress {
    tx: mpsc::UnboundedSender<Step>,
    steps: Arc<Mutex<Vec<Step>>>,
    forwarder: JoinHandle<()>,
}

impl Progress {
    pub fn start(events: DynEventBus, run_id: Uuid, initial: Vec<Step>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Step>();
        let steps = Arc::new(Mutex::new(initial));
        let forwarder = tokio::spawn(async move {
            // Updates that piled up while the last append was in flight go together.
            while let Some(step) = rx.recv().await {
                let mut batch = vec![RunEvent::Step { step }];
                while let Ok(step) = rx.try_recv() {
                    batch.push(RunEvent::Step { step });
                }
                if let Err(e) = events.append_all(run_id, batch).await {
                    tracing::warn!(error = %e, %run_id, "failed to publish step events");
                }
            }
        });
        Self { tx, steps, forwarder }
    }

    /// Waits until every update has been published; returns the final steps.
    pub async fn finish(self) -> Vec<Step> {
        drop(self.tx);
        let _ = self.forwarder.await;
        Arc::try_unwrap(self.steps).map_or_else(
            |shared| shared.lock().expect("steps lock").clone(),
            |m| m.into_inner().expect("steps lock"),
        )
    }

    /// The steps as they are now (events may still be in flight).
    pub fn snapshot(&self) -> Vec<Step> {
        self.steps.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn observer(&self) -> impl StepObserver + '_ {
        Observer(self.sender())
    }

    /// A handle that records and publishes steps (drop it before [`Self::finish`]).
    pub fn sender(&self) -> StepSender {
        StepSender {
            tx: self.tx.clone(),
            steps: self.steps.clone(),
        }
    }
}

/// Records a step and publishes it.
#[derive(Debug, Clone)]
pub struct StepSender {
    tx: mpsc::UnboundedSender<Step>,
    steps: Arc<Mutex<Vec<Step>>>,
}

impl StepSender {
    pub fn send(&self, step: Step) {
        apply_step(&mut self.steps.lock().expect("steps lock"), step.clone());
        let _ = self.tx.send(step);
    }
}

struct Observer(StepSender);

impl StepObserver for Observer {
    fn update(&self, update: StepUpdate) {
        self.0.send(Step::from(update));
    }
}
