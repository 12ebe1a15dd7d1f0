//! When an idle worker fetches: as soon as a push is announced ([`Wake`]), or
//! at the latest after the fallback interval. Unlike apalis's own interval
//! strategy, this one leaves both wakers armed every time it is driven (its
//! interval re-arms without registering a waker, so a fetch slower than the
//! interval lost the wake-up, and with it the worker's heartbeats).

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::backend::ext::poll_strategy::{PollSnapshot, PollStrategy};
use futures::StreamExt as _;
use switchboard_core::queue::wake::Wake;
use tokio::time::{Instant, Sleep};

pub struct Armed {
    wake: Wake,
    sleep: Pin<Box<Sleep>>,
    period: Duration,
}

impl std::fmt::Debug for Armed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Armed").field("period", &self.period).finish()
    }
}

impl Armed {
    pub fn new(wake: Wake, period: Duration) -> Self {
        Self {
            wake,
            sleep: Box::pin(tokio::time::sleep(period)),
            period,
        }
    }
}

impl PollStrategy for Armed {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _: &PollSnapshot) -> Poll<Option<()>> {
        let mut fired = false;
        // Drain the signal until the stream is pending again: its waker is then registered.
        while let Poll::Ready(Some(())) = self.wake.poll_next_unpin(cx) {
            fired = true;
        }
        // Likewise the timer: re-armed and polled until pending.
        while self.sleep.as_mut().poll(cx).is_ready() {
            fired = true;
            self.sleep.as_mut().reset(Instant::now() + self.period);
        }
        if fired { Poll::Ready(Some(())) } else { Poll::Pending }
    }
}
