//! Waiting for a run to end: woken by its terminal event (from any process),
//! with a periodic re-read of the row in case an event was lost.

use std::time::Duration;

use uuid::Uuid;

use super::RunRecord;
use crate::domain::UserId;
use crate::services::Services;
use crate::store::StoreResult;

/// Waits until the run ends or `timeout` passes; returns the latest row.
pub async fn until_finished(
    services: &Services,
    owner: &UserId,
    id: Uuid,
    timeout: Duration,
) -> StoreResult<RunRecord> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut watch = services.events.watch(id);
    loop {
        let run = services.store.run(owner, id).await?;
        if run.status().is_terminal() || tokio::time::Instant::now() >= deadline {
            return Ok(run);
        }
        let recheck = tokio::time::Instant::now() + Duration::from_secs(1);
        tokio::select! {
            () = async { while let Ok(e) = watch.recv().await { if e.event.is_terminal() { break } } } => {}
            () = tokio::time::sleep_until(recheck.min(deadline)) => {}
        }
    }
}
