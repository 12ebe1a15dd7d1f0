//! Settings of the job pipeline: queues, workers, connection tests, health
//! checks, event streams and the egress guard. Every delay is configurable
//! down to milliseconds (`250ms`, `10s`, `15m`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, Sources};
use crate::egress::AllowList;
use crate::mcp::McpLimits;

#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `SWITCHBOARD_TEST_BUDGET`: time a connection test may take (default 10s).
    pub test_budget: Duration,
    /// `SWITCHBOARD_TEST_RATE_LIMIT`: connection tests per user per minute (default 30; 0 = off).
    pub test_rate_limit: u32,
    /// `SWITCHBOARD_RUN_RETENTION`: finished runs older than this are pruned (default 7d).
    pub run_retention: Duration,
    /// `SWITCHBOARD_AUDIT_RETENTION`: how long audit events are kept (default 365d).
    pub audit_retention: Duration,
    /// `SWITCHBOARD_HEALTH_INTERVAL`: how often enabled connectors are re-checked (default 15m; 0 = off).
    pub health_interval: Option<Duration>,
    /// `SWITCHBOARD_WORKER_CONCURRENCY`: jobs a worker process runs at once, per queue (default 64).
    pub concurrency: usize,
    /// `SWITCHBOARD_QUEUE_BATCH_SIZE`: jobs fetched per poll (default 4).
    pub batch_size: usize,
    /// `SWITCHBOARD_QUEUE_POLL_INTERVAL`: idle workers' fallback poll (default 20ms; pushes wake them at
    /// once, the poll only catches a wake-up apalis consumed during a fetch).
    pub poll_interval: Duration,
    /// `SWITCHBOARD_WORKER_HEARTBEAT`: worker heartbeat, at least 1s (default 5s).
    pub heartbeat: Duration,
    /// `SWITCHBOARD_WORKER_MISSED_HEARTBEATS`: heartbeats a worker may miss before the others take
    /// its queued tasks (default 6: a Redis stall under 30 s is not a death). Runs themselves are
    /// taken over by the reconciler when their lease expires, whatever this says.
    pub missed_heartbeats: usize,
    /// `SWITCHBOARD_SHUTDOWN_GRACE`: time in-flight jobs get to finish on SIGTERM (default 30s).
    pub shutdown_grace: Duration,
    /// `SWITCHBOARD_REDIS_TIMEOUT`: how long a Redis command (enqueue, rate limit, run event) may
    /// take before it fails; the API answers 503 `QUEUE_UNAVAILABLE` instead of hanging (default 2s).
    pub redis_timeout: Duration,
    /// `SWITCHBOARD_REDIS_PREFIX`: prefix of every Redis key, queue and channel (default `switchboard`).
    pub redis_prefix: String,
    /// `SWITCHBOARD_QUEUE_PATH`: embedded mode's queue file (default `<data dir>/queue.db`).
    pub queue_path: Option<PathBuf>,
    /// `SWITCHBOARD_WORKER_LISTEN`: where a worker serves `/metrics` and `/healthz` (default 127.0.0.1:9091).
    pub worker_listen: SocketAddr,
    /// `SWITCHBOARD_SSE_KEEPALIVE`: keep-alive comment interval on event streams (default 15s).
    pub sse_keepalive: Duration,
    /// `SWITCHBOARD_EVENT_LOG_TTL`: how long a finished run's event log is kept for clients that
    /// resume a stream (default 60s); the run itself, with its steps, stays in the database.
    pub event_log_ttl: Duration,
    /// `SWITCHBOARD_EGRESS_ALLOW`: CIDRs and host:port that may be reached although private,
    /// or `none`. Default: loopback in embedded mode, nothing in distributed mode.
    pub egress_allow: Option<AllowList>,
    /// `SWITCHBOARD_MCP_MAX_…`: caps on what a server may send (see [`McpLimits`]).
    pub mcp: McpLimits,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            test_budget: Duration::from_secs(10),
            test_rate_limit: 30,
            run_retention: Duration::from_secs(7 * 24 * 3600),
            audit_retention: Duration::from_secs(365 * 24 * 3600),
            health_interval: Some(Duration::from_secs(15 * 60)),
            concurrency: 64,
            batch_size: 4,
            poll_interval: Duration::from_millis(20),
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 6,
            shutdown_grace: Duration::from_secs(30),
            redis_timeout: Duration::from_secs(2),
            redis_prefix: "switchboard".into(),
            queue_path: None,
            worker_listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
            sse_keepalive: Duration::from_secs(15),
            event_log_ttl: Duration::from_secs(60),
            egress_allow: None,
            mcp: McpLimits::default(),
        }
    }
}

impl JobSettings {
    pub(super) fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let d = Self::default();
        let health = src.duration_or("SWITCHBOARD_HEALTH_INTERVAL", d.health_interval.unwrap_or_default())?;
        let settings = Self {
            test_budget: src.duration_or("SWITCHBOARD_TEST_BUDGET", d.test_budget)?,
            test_rate_limit: src.parse_or("SWITCHBOARD_TEST_RATE_LIMIT", d.test_rate_limit)?,
            run_retention: src.duration_or("SWITCHBOARD_RUN_RETENTION", d.run_retention)?,
            audit_retention: src.duration_or("SWITCHBOARD_AUDIT_RETENTION", d.audit_retention)?,
            health_interval: (!health.is_zero()).then_some(health),
            concurrency: src.parse_or("SWITCHBOARD_WORKER_CONCURRENCY", d.concurrency)?,
            batch_size: src.parse_or("SWITCHBOARD_QUEUE_BATCH_SIZE", d.batch_size)?,
            poll_interval: src.duration_or("SWITCHBOARD_QUEUE_POLL_INTERVAL", d.poll_interval)?,
            heartbeat: src.duration_or("SWITCHBOARD_WORKER_HEARTBEAT", d.heartbeat)?,
            missed_heartbeats: src.parse_or("SWITCHBOARD_WORKER_MISSED_HEARTBEATS", d.missed_heartbeats)?,
            shutdown_grace: src.duration_or("SWITCHBOARD_SHUTDOWN_GRACE", d.shutdown_grace)?,
            redis_timeout: src.duration_or("SWITCHBOARD_REDIS_TIMEOUT", d.redis_timeout)?,
            redis_prefix: src.parse_or("SWITCHBOARD_REDIS_PREFIX", d.redis_prefix)?,
            queue_path: src.parse("SWITCHBOARD_QUEUE_PATH")?,
            worker_listen: src.parse_or("SWITCHBOARD_WORKER_LISTEN", d.worker_listen)?,
            sse_keepalive: src.duration_or("SWITCHBOARD_SSE_KEEPALIVE", d.sse_keepalive)?,
            event_log_ttl: src.duration_or("SWITCHBOARD_EVENT_LOG_TTL", d.event_log_ttl)?,
            egress_allow: src.parse("SWITCHBOARD_EGRESS_ALLOW")?,
            mcp: mcp_limits(src, d.mcp)?,
        };
        for (name, ok) in [
            ("SWITCHBOARD_TEST_BUDGET", !settings.test_budget.is_zero()),
            ("SWITCHBOARD_WORKER_CONCURRENCY", settings.concurrency >= 1),
            ("SWITCHBOARD_QUEUE_BATCH_SIZE", settings.batch_size >= 1),
            ("SWITCHBOARD_QUEUE_POLL_INTERVAL", !settings.poll_interval.is_zero()),
            ("SWITCHBOARD_WORKER_HEARTBEAT", !settings.heartbeat.is_zero()),
            ("SWITCHBOARD_WORKER_MISSED_HEARTBEATS", settings.missed_heartbeats >= 2),
            ("SWITCHBOARD_SSE_KEEPALIVE", !settings.sse_keepalive.is_zero()),
            ("SWITCHBOARD_REDIS_TIMEOUT", !settings.redis_timeout.is_zero()),
            ("SWITCHBOARD_MCP_MAX_TOOLS", settings.mcp.max_tools >= 1),
            (
                "SWITCHBOARD_MCP_MAX_RESPONSE_BYTES",
                settings.mcp.max_message_bytes >= 1,
            ),
            (
                "SWITCHBOARD_MCP_MAX_TOOL_LIST_BYTES",
                settings.mcp.max_tool_list_bytes >= 1,
            ),
            ("SWITCHBOARD_MCP_MAX_SCHEMA_DEPTH", settings.mcp.max_schema_depth >= 1),
            ("SWITCHBOARD_MCP_MAX_RESULT_BYTES", settings.mcp.max_result_bytes >= 1),
        ] {
            src.check(name, ok, "must be greater than zero")?;
        }
        // apalis stores heartbeats as whole seconds: below one second a worker
        // would look dead to itself and re-run its own jobs.
        src.check(
            "SWITCHBOARD_WORKER_HEARTBEAT",
            settings.heartbeat >= Duration::from_secs(1),
            "must be at least 1s (the queues track heartbeats in whole seconds)",
        )?;
        let prefix_ok = !settings.redis_prefix.is_empty()
            && settings
                .redis_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        src.check(
            "SWITCHBOARD_REDIS_PREFIX",
            prefix_ok,
            "use letters, digits, `_` and `-` only",
        )?;
        Ok(settings)
    }
}

fn mcp_limits(src: &Sources, d: McpLimits) -> Result<McpLimits, ConfigError> {
    Ok(McpLimits {
        max_message_bytes: src.parse_or("SWITCHBOARD_MCP_MAX_RESPONSE_BYTES", d.max_message_bytes)?,
        max_tools: src.parse_or("SWITCHBOARD_MCP_MAX_TOOLS", d.max_tools)?,
        max_tool_list_bytes: src.parse_or("SWITCHBOARD_MCP_MAX_TOOL_LIST_BYTES", d.max_tool_list_bytes)?,
        max_description_bytes: src.parse_or("SWITCHBOARD_MCP_MAX_DESCRIPTION_BYTES", d.max_description_bytes)?,
        max_schema_bytes: src.parse_or("SWITCHBOARD_MCP_MAX_SCHEMA_BYTES", d.max_schema_bytes)?,
        max_schema_depth: src.parse_or("SWITCHBOARD_MCP_MAX_SCHEMA_DEPTH", d.max_schema_depth)?,
        max_result_bytes: src.parse_or("SWITCHBOARD_MCP_MAX_RESULT_BYTES", d.max_result_bytes)?,
        ..d
    })
}
