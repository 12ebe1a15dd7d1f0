//! Fairness between users: how much of the workers and of the API's
//! long-lived connections one user may hold at a time. `0` disables a cap.

use std::time::Duration;

use super::{ConfigError, Sources};
use crate::jobs::RunKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLimits {
    /// `SWITCHBOARD_USER_RUNNING_CALLS`: a user's tool calls queued or running at once, across
    /// all workers (default 8); more wait their turn (`waiting`).
    pub running_calls: u32,
    /// `SWITCHBOARD_USER_RUNNING_TESTS`: a user's connection tests and re-discoveries at once (default 4).
    pub running_tests: u32,
    /// `SWITCHBOARD_USER_RUNNING_TURNS`: a user's agent turns at once (default 4). Per kind, so turns
    /// waiting on their own calls cannot deadlock.
    pub running_turns: u32,
    /// `SWITCHBOARD_USER_BACKLOG`: runs of one kind a user may have waiting; past it, 429 (default 100).
    pub backlog: u32,
    /// `SWITCHBOARD_USER_STREAMS`: a user's open run event streams, per API process (default 16).
    pub streams: u32,
    /// `SWITCHBOARD_USER_GATEWAY_SESSIONS`: a user's open MCP gateway sessions, per API process (default 8).
    pub gateway_sessions: u32,
    /// `SWITCHBOARD_RUN_LEASE`: how long a worker's claim on a run lasts without renewal (renewed
    /// every third of it while the run works; default 30s). A worker silent for longer loses the run.
    pub lease: Duration,
    /// `SWITCHBOARD_REQUEUE_AFTER`: a run still queued this long is enqueued again (its job was
    /// lost, e.g. with Redis's data; default 60s), at most `SWITCHBOARD_MAX_REQUEUES` times (default 3),
    /// then it fails with `QUEUE_LOST`.
    pub requeue_after: Duration,
    pub max_requeues: u32,
    /// `SWITCHBOARD_RECONCILE_INTERVAL`: how often one process reconciles the runs table with the
    /// workers (default 5s).
    pub reconcile_interval: Duration,
    /// `SWITCHBOARD_APPROVAL_TIMEOUT`: how long a call waits for a person to approve it before it
    /// fails with `APPROVAL_TIMEOUT`, and how long a gateway approval stays usable (default 10m).
    /// A user has at most `SWITCHBOARD_USER_BACKLOG` approvals pending.
    pub approval_timeout: Duration,
}

impl Default for UserLimits {
    fn default() -> Self {
        Self {
            running_calls: 8,
            running_tests: 4,
            running_turns: 4,
            backlog: 100,
            streams: 16,
            gateway_sessions: 8,
            lease: Duration::from_secs(30),
            requeue_after: Duration::from_secs(60),
            max_requeues: 3,
            reconcile_interval: Duration::from_secs(5),
            approval_timeout: Duration::from_secs(600),
        }
    }
}

impl UserLimits {
    /// The cap on a user's queued and running runs of `kind` (`0`: none).
    pub fn running(&self, kind: RunKind) -> u32 {
        match kind {
            RunKind::InvokeTool => self.running_calls,
            RunKind::ConnectionTest | RunKind::DiscoverTools => self.running_tests,
            RunKind::AgentTurn => self.running_turns,
        }
    }

    /// No caps at all (benchmarks, the chaos harness).
    pub fn unlimited() -> Self {
        Self {
            running_calls: 0,
            running_tests: 0,
            running_turns: 0,
            streams: 0,
            gateway_sessions: 0,
            ..Self::default()
        }
    }

    pub(super) fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let d = Self::default();
        let limits = Self {
            running_calls: src.parse_or("SWITCHBOARD_USER_RUNNING_CALLS", d.running_calls)?,
            running_tests: src.parse_or("SWITCHBOARD_USER_RUNNING_TESTS", d.running_tests)?,
            running_turns: src.parse_or("SWITCHBOARD_USER_RUNNING_TURNS", d.running_turns)?,
            backlog: src.parse_or("SWITCHBOARD_USER_BACKLOG", d.backlog)?,
            streams: src.parse_or("SWITCHBOARD_USER_STREAMS", d.streams)?,
            gateway_sessions: src.parse_or("SWITCHBOARD_USER_GATEWAY_SESSIONS", d.gateway_sessions)?,
            lease: src.duration_or("SWITCHBOARD_RUN_LEASE", d.lease)?,
            requeue_after: src.duration_or("SWITCHBOARD_REQUEUE_AFTER", d.requeue_after)?,
            max_requeues: src.parse_or("SWITCHBOARD_MAX_REQUEUES", d.max_requeues)?,
            reconcile_interval: src.duration_or("SWITCHBOARD_RECONCILE_INTERVAL", d.reconcile_interval)?,
            approval_timeout: src.duration_or("SWITCHBOARD_APPROVAL_TIMEOUT", d.approval_timeout)?,
        };
        for (name, ok) in [
            ("SWITCHBOARD_RUN_LEASE", limits.lease >= Duration::from_millis(300)),
            ("SWITCHBOARD_REQUEUE_AFTER", !limits.requeue_after.is_zero()),
            ("SWITCHBOARD_RECONCILE_INTERVAL", !limits.reconcile_interval.is_zero()),
            (
                "SWITCHBOARD_APPROVAL_TIMEOUT",
                limits.approval_timeout >= Duration::from_secs(1),
            ),
        ] {
            src.check(name, ok, "is too short")?;
        }
        Ok(limits)
    }
}
