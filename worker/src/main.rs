//! `switchboard-worker`: consumes the Redis queues (distributed mode). Needs
//! the same DATABASE_URL, REDIS_URL and SWITCHBOARD_ENCRYPTION_KEYS as the API.

use std::process::ExitCode;

use switchboard_core::config::Settings;
use switchboard_core::services::Overrides;
use switchboard_core::telemetry;

fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("switchboard-worker: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_tracing(settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("switchboard-worker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = switchboard_worker::shutdown_signal();
    match runtime.block_on(switchboard_worker::run_process(
        settings,
        Overrides::default(),
        shutdown,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "worker failed");
            eprintln!("switchboard-worker: {e:#}");
            ExitCode::FAILURE
        }
    }
}
