//! Metric names of the workers. Labels are kinds, outcomes and error codes:
//! never users, connectors or URLs.

use std::time::Duration;

use switchboard_core::jobs::RunKind;

/// A job finished: `outcome` is `succeeded`, `failed`, `duplicate` or `error`.
pub fn job_finished(kind: RunKind, outcome: &'static str, run_time: Duration) {
    metrics::counter!("switchboard_jobs_total", "kind" => kind.as_str(), "outcome" => outcome).increment(1);
    metrics::histogram!("switchboard_job_run_seconds", "kind" => kind.as_str()).record(run_time.as_secs_f64());
}

/// Time from enqueue to a worker starting the job.
pub fn job_waited(kind: RunKind, wait: Duration) {
    metrics::histogram!("switchboard_job_wait_seconds", "kind" => kind.as_str()).record(wait.as_secs_f64());
}

/// A connection test or discovery ended with `code` (`OK` when it passed).
pub fn test_outcome(kind: RunKind, code: &str) {
    let metric = match kind {
        RunKind::ConnectionTest => "switchboard_connection_tests_total",
        RunKind::DiscoverTools => "switchboard_connector_checks_total",
        RunKind::InvokeTool | RunKind::AgentTurn => return,
    };
    metrics::counter!(metric, "code" => code.to_owned()).increment(1);
}

pub fn queue_depth(kind: RunKind, depth: u64) {
    metrics::gauge!("switchboard_queue_depth", "kind" => kind.as_str()).set(depth as f64);
}

pub fn degraded_connectors(count: i64) {
    metrics::gauge!("switchboard_degraded_connectors").set(count as f64);
}

/// A worker process proved it is alive.
pub fn heartbeat() {
    metrics::counter!("switchboard_worker_heartbeats_total").increment(1);
    metrics::gauge!("switchboard_worker_last_heartbeat_seconds").set(chrono::Utc::now().timestamp() as f64);
}
