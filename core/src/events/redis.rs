//! The Redis event bus (distributed mode): a list per run holds the log (one
//! Lua call appends, sets the TTL and publishes), and one subscriber task per
//! process fans published events out to local watchers, reconnecting if Redis
//! drops the subscription (watchers fill any gap from the log).

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::StreamExt as _;
use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::watchers::{UserSignals, Watch, Watchers};
use super::{Envelope, EventBus};
use crate::runs::RunEvent;

/// ARGV: the TTL, then per event its JSON and the head of its envelope.
const APPEND: &str = r"
local seq = 0
for i = 2, #ARGV, 2 do
    seq = redis.call('RPUSH', KEYS[1], ARGV[i])
    redis.call('PUBLISH', KEYS[2], ARGV[i + 1] .. seq .. '}')
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return seq
";

#[derive(Debug, Clone)]
pub struct RedisBus {
    conn: ConnectionManager,
    prefix: String,
    /// TTL of a running run's log.
    retention: Duration,
    /// TTL of a finished run's log (the run's row holds the outcome).
    finished_ttl: Duration,
    watchers: Watchers,
    users: UserSignals,
    script: std::sync::Arc<redis::Script>,
}

impl RedisBus {
    /// Starts this process's subscriber and waits until it is subscribed.
    pub async fn start(
        client: redis::Client,
        conn: ConnectionManager,
        prefix: &str,
        retention: Duration,
        finished_ttl: Duration,
    ) -> anyhow::Result<Self> {
        let bus = Self {
            conn,
            prefix: prefix.to_owned(),
            retention,
            finished_ttl,
            watchers: Watchers::default(),
            users: UserSignals::default(),
            script: std::sync::Arc::new(redis::Script::new(APPEND)),
        };
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let fan_out = FanOut {
            runs_channel: bus.channel(),
            catalog_channel: bus.catalog_channel(),
            watchers: bus.watchers.clone(),
            users: bus.users.clone(),
        };
        tokio::spawn(subscribe_forever(client, fan_out, ready_tx));
        tokio::time::timeout(Duration::from_secs(10), ready)
            .await
            .context("timed out subscribing to run events in Redis")?
            .context("the run event subscriber stopped")?;
        Ok(bus)
    }

    fn channel(&self) -> String {
        format!("{}:run-events", self.prefix)
    }

    fn catalog_channel(&self) -> String {
        format!("{}:catalog-changed", self.prefix)
    }

    fn log_key(&self, run_id: Uuid) -> String {
        format!("{}:run:{run_id}:events", self.prefix)
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn append_all(&self, run_id: Uuid, events: Vec<RunEvent>) -> anyhow::Result<u64> {
        let events: Vec<RunEvent> = events.into_iter().map(RunEvent::bounded).collect();
        let ttl = if events.iter().any(RunEvent::is_terminal) {
            self.finished_ttl
        } else {
            self.retention
        };
        let mut invocation = self.script.key(self.log_key(run_id));
        invocation.key(self.channel()).arg(ttl.as_secs().max(1));
        for event in events {
            let json = serde_json::to_string(&event)?;
            let head = format!(r#"{{"run_id":"{run_id}","event":{json},"seq":"#);
            invocation.arg(json).arg(head);
        }
        let mut conn = self.conn.clone();
        let seq: u64 = invocation
            .invoke_async(&mut conn)
            .await
            .context("Failed to append run events to Redis")?;
        Ok(seq)
    }

    async fn since(&self, run_id: Uuid, after: u64) -> anyhow::Result<Vec<(u64, RunEvent)>> {
        let mut conn = self.conn.clone();
        let start = isize::try_from(after).unwrap_or(isize::MAX);
        let raw: Vec<String> = redis::cmd("LRANGE")
            .arg(self.log_key(run_id))
            .arg(start)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .context("Failed to read run events from Redis")?;
        raw.iter()
            .enumerate()
            .map(|(i, json)| Ok((after + i as u64 + 1, serde_json::from_str(json)?)))
            .collect()
    }

    fn watch(&self, run_id: Uuid) -> Watch {
        self.watchers.watch(run_id)
    }

    async fn catalog_changed(&self, user: &str) {
        let mut conn = self.conn.clone();
        let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(self.catalog_channel())
            .arg(user)
            .query_async(&mut conn)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "failed to announce a catalog change");
        }
    }

    fn watch_catalog(&self, user: &str) -> tokio::sync::broadcast::Receiver<()> {
        self.users.watch(user)
    }
}

/// Where this process's subscriber delivers what it receives.
struct FanOut {
    runs_channel: String,
    catalog_channel: String,
    watchers: Watchers,
    users: UserSignals,
}

async fn subscribe_forever(client: redis::Client, fan_out: FanOut, ready: tokio::sync::oneshot::Sender<()>) {
    let mut ready = Some(ready);
    let mut backoff = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub
                .subscribe(&[&fan_out.runs_channel, &fan_out.catalog_channel])
                .await
            {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        if message.get_channel_name() == fan_out.catalog_channel {
                            fan_out.users.signal(&payload);
                            continue;
                        }
                        match serde_json::from_str::<Envelope>(&payload) {
                            Ok(envelope) => fan_out.watchers.dispatch(envelope),
                            Err(e) => tracing::warn!(error = %e, "ignoring a malformed run event"),
                        }
                    }
                    tracing::warn!("run event subscription ended; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "failed to subscribe to run events"),
            },
            Err(e) => tracing::warn!(error = %e, "failed to open the run event subscription"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
