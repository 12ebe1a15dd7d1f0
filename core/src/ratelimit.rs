//! Per-user rate limits (connection tests, later invocations): a fixed
//! one-minute window, counted in Redis in distributed mode (so every API
//! process shares the count) and in memory in embedded mode.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;

use crate::domain::UserId;

#[derive(Debug)]
enum Counter {
    Memory(Mutex<HashMap<String, (u64, u32)>>),
    Redis { conn: ConnectionManager, prefix: String },
}

/// Allows `per_minute` actions per user per minute; 0 disables the limit.
#[derive(Debug)]
pub struct RateLimiter {
    name: &'static str,
    per_minute: u32,
    counter: Counter,
}

impl RateLimiter {
    pub fn in_memory(name: &'static str, per_minute: u32) -> Self {
        Self {
            name,
            per_minute,
            counter: Counter::Memory(Mutex::default()),
        }
    }

    pub fn redis(name: &'static str, per_minute: u32, conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            name,
            per_minute,
            counter: Counter::Redis {
                conn,
                prefix: prefix.to_owned(),
            },
        }
    }

    /// `Ok(())`, or `Err(seconds until the window resets)`.
    pub async fn check(&self, user: &UserId) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let window = now / 60;
        let retry_after = 60 - now % 60;
        let count = match &self.counter {
            Counter::Memory(map) => {
                let mut map = map.lock().expect("rate limit lock");
                if map.len() > 100_000 {
                    map.retain(|_, (w, _)| *w == window);
                }
                let entry = map.entry(user.as_str().to_owned()).or_insert((window, 0));
                if entry.0 != window {
                    *entry = (window, 0);
                }
                entry.1 += 1;
                entry.1
            }
            Counter::Redis { conn, prefix } => {
                let key = format!("{prefix}:ratelimit:{}:{window}:{}", self.name, user.as_str());
                let mut conn = conn.clone();
                let counted: Result<(u32,), _> = redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .expire(&key, 120)
                    .ignore()
                    .query_async(&mut conn)
                    .await;
                match counted {
                    Ok((n,)) => n,
                    Err(e) => {
                        // Fail open: a Redis hiccup must not block every test.
                        tracing::warn!(error = %e, limiter = self.name, "rate limit check failed; allowing");
                        return Ok(());
                    }
                }
            }
        };
        if count > self.per_minute {
            Err(retry_after)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_limit_is_per_user_and_zero_disables_it() {
        let limiter = RateLimiter::in_memory("tests", 2);
        let (alice, bob) = (UserId::parse("alice").expect("id"), UserId::parse("bob").expect("id"));
        assert!(limiter.check(&alice).await.is_ok());
        assert!(limiter.check(&alice).await.is_ok());
        let retry = limiter.check(&alice).await.expect_err("third is refused");
        assert!((1..=60).contains(&retry));
        assert!(limiter.check(&bob).await.is_ok());
        let off = RateLimiter::in_memory("tests", 0);
        for _ in 0..100 {
            assert!(off.check(&alice).await.is_ok());
        }
    }
}
