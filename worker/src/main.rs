//! `switchboard-worker`: consumes the Redis queues (distributed mode). Needs
//! the same DATABASE_URL, REDIS_URL and SWITCHBOARD_ENCRYPTION_KEYS as the API.

use std::process::ExitCode;

use anyhow::Context as _;
use switchboard_core::config::Settings;
use switchboard_core::services::{Overrides, Services};
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
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "worker failed");
            eprintln!("switchboard-worker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    anyhow::ensure!(
        !settings.is_embedded(),
        "switchboard-worker serves distributed mode (DATABASE_URL=postgres://…, REDIS_URL); \
         in embedded mode `switchboard serve` runs the workers itself"
    );
    let listen = settings.jobs.worker_listen;
    let services = Services::build(settings, Overrides::default()).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("Failed to bind SWITCHBOARD_WORKER_LISTEN={listen}"))?;
    tracing::info!(%listen, "worker metrics on http://{listen}/metrics");
    tokio::spawn(switchboard_worker::http::serve(listener, telemetry::metrics_handle()));
    switchboard_worker::run(services, shutdown_signal()).await
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}
