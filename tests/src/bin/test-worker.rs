//! `switchboard-worker` as the tests run it: configured from the environment
//! like the real one, plus the test resolver and the loopback fuse (which the
//! real binary cannot be told to use).

use std::sync::Arc;

use switchboard_core::config::Settings;
use switchboard_core::services::Overrides;

fn main() -> std::process::ExitCode {
    let settings = Settings::load().expect("test worker settings");
    switchboard_core::telemetry::init_tracing(settings.log_format);
    let overrides = Overrides {
        resolver: Some(Arc::new(switchboard_tests::probe::test_resolver())),
        loopback_fuse: true,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    match runtime.block_on(switchboard_worker::run_process(
        settings,
        overrides,
        switchboard_worker::shutdown_signal(),
    )) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-worker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
