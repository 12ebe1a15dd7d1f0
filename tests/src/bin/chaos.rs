//! The chaos harness: see `switchboard_tests::chaos`. Configured by
//! `JOBS` (default 2000), `RATE` (submissions per second, default 100),
//! `WORKERS` (default 2) and `DRAIN` (seconds, default 90); binaries from
//! `SWITCHBOARD_BIN_DIR` (default `target/release`). Exits non-zero when a
//! run did not end or an unsafe call ran twice. Run with `ops/chaos/run.sh`.

use std::time::Duration;

use switchboard_tests::chaos::{Config, run};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config {
        jobs: env("JOBS", 2000),
        rate: env("RATE", 100),
        workers: env("WORKERS", 2),
        drain: Duration::from_secs(env("DRAIN", 90)),
    };
    println!("chaos: {config:?}");
    match run(&config).await {
        Ok(report) => {
            report.print();
            if report.passed() {
                println!("chaos: passed");
                std::process::ExitCode::SUCCESS
            } else {
                println!("chaos: FAILED (a run did not end, or an unsafe call ran twice)");
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("chaos: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
