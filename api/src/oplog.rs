//! One structured log event per connector or system-tool operation:
//! `operation`, `user_id`, `object_id`, `outcome` (`ok` or the error code) and
//! `duration_ms`. Never arguments, URLs or anything else that may hold a secret.

use std::time::Instant;

use switchboard_core::domain::UserId;

use crate::error::ApiError;

/// An operation in progress; [`Op::finish`] logs it.
#[derive(Debug)]
pub struct Op {
    operation: &'static str,
    user: String,
    started: Instant,
}

impl Op {
    pub fn start(operation: &'static str, user: &UserId) -> Self {
        Self {
            operation,
            user: user.as_str().to_owned(),
            started: Instant::now(),
        }
    }

    /// Logs the outcome and passes the result through.
    pub fn finish<T>(self, object_id: Option<&str>, result: Result<T, ApiError>) -> Result<T, ApiError> {
        let duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        tracing::info!(
            target: "switchboard::ops",
            operation = self.operation,
            user_id = %self.user,
            object_id = object_id.unwrap_or(""),
            outcome,
            duration_ms,
            "operation finished"
        );
        result
    }
}
