//! A worker's claim on a run: taken with the run (`start_run`), renewed every
//! third of its length while the job works, and dropped with the job. Only
//! its holder may dispatch the run's call or record its outcome; a worker that
//! stalls past the lease finds it taken over and records nothing.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use switchboard_core::runs::RunRecord;
use switchboard_core::services::Services;
use switchboard_core::store::now;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub struct Lease {
    services: Services,
    run_id: Uuid,
    owner: String,
    renewer: Mutex<Option<JoinHandle<()>>>,
    lost: Arc<AtomicBool>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("run_id", &self.run_id)
            .field("owner", &self.owner)
            .finish()
    }
}

fn until(length: std::time::Duration) -> chrono::DateTime<chrono::Utc> {
    now() + chrono::Duration::from_std(length).unwrap_or(chrono::Duration::seconds(30))
}

impl Lease {
    /// A lease on `run_id` for `owner` (unique per delivery of a task).
    pub fn new(services: &Services, run_id: Uuid, owner: String) -> Self {
        Self {
            services: services.clone(),
            run_id,
            owner,
            renewer: Mutex::default(),
            lost: Arc::default(),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// Whether renewing found the run taken over.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Takes the run (a queued one, or a running one whose lease expired) and
    /// starts renewing; `None` when it has ended or another worker holds it.
    pub async fn take(&self) -> anyhow::Result<Option<RunRecord>> {
        let length = self.services.settings.limits.lease;
        let run = self
            .services
            .store
            .start_run(self.run_id, &self.owner, now(), until(length))
            .await?;
        if run.is_some() {
            let (services, run_id, owner, lost) = (
                self.services.clone(),
                self.run_id,
                self.owner.clone(),
                self.lost.clone(),
            );
            let renewer = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(length / 3).await;
                    match services.store.renew_lease(run_id, &owner, until(length)).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(%run_id, "the run's lease was taken over");
                            lost.store(true, Ordering::Release);
                            return;
                        }
                        Err(e) => tracing::warn!(%run_id, error = %e, "could not renew a run's lease"),
                    }
                }
            });
            *self.renewer.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(renewer);
        }
        Ok(run)
    }

    /// Stops renewing (the run ended, or the job stopped).
    pub fn stop(&self) {
        if let Some(renewer) = self
            .renewer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            renewer.abort();
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop();
    }
}
