//! Waking idle workers when a job is pushed, so queue latency is not a poll
//! interval. [`Wake`] is a stream that yields once per signal (signals that
//! arrive while nobody listens are coalesced, never lost). With Redis the
//! producer publishes on `{prefix}:pushed:{kind}` after each push; the SQLite
//! queue signals in-process. Workers also keep a short fallback poll,
//! because apalis can consume a signal while a fetch is already in flight.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use futures::{Stream, StreamExt as _};

use crate::jobs::RunKind;

#[derive(Debug, Default)]
struct Inner {
    waker: AtomicWaker,
    set: AtomicBool,
}

/// A wake-up signal for one queue's workers.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<Inner>);

impl Wake {
    pub fn signal(&self) {
        self.0.set.store(true, Ordering::Release);
        self.0.waker.wake();
    }
}

impl Stream for Wake {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let inner = &self.0;
        if inner.set.swap(false, Ordering::AcqRel) {
            return Poll::Ready(Some(()));
        }
        inner.waker.register(cx.waker());
        if inner.set.swap(false, Ordering::AcqRel) {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}

/// One [`Wake`] per job kind.
pub type Wakes = Arc<HashMap<RunKind, Wake>>;

pub fn wakes() -> Wakes {
    Arc::new(RunKind::ALL.into_iter().map(|k| (k, Wake::default())).collect())
}

/// Subscribes to the "task available" channels of `channels` (channel → kind)
/// and signals the matching wake; reconnects on failure.
pub async fn listen_redis(
    client: redis::Client,
    channels: HashMap<String, RunKind>,
    wakes: Wakes,
) -> anyhow::Result<()> {
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut ready_tx = Some(ready_tx);
        loop {
            match subscribe(&client, &channels).await {
                Ok(mut pubsub) => {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(());
                    }
                    // Something may have been pushed while we were (re)subscribing.
                    wakes.values().for_each(Wake::signal);
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        if let Some(wake) = channels.get(message.get_channel_name()).and_then(|k| wakes.get(k)) {
                            wake.signal();
                        }
                    }
                    tracing::warn!("queue wake-up subscription ended; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "failed to subscribe to queue wake-ups"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready).await??;
    Ok(())
}

async fn subscribe(
    client: &redis::Client,
    channels: &HashMap<String, RunKind>,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    for channel in channels.keys() {
        pubsub.subscribe(channel).await?;
    }
    Ok(pubsub)
}
