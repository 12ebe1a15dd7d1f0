//! What the benchmark binaries share: a distributed-mode [`Cluster`] (the
//! release `switchboard serve` and `switchboard-worker` processes on a fresh
//! PostgreSQL database and Redis prefix), percentiles, and an open-loop
//! driver that finds the highest rate meeting a p99 target.

use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use switchboard_core::Secret;

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret";

/// The `p` percentile (nearest rank) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Peak resident memory of a process, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Resident memory of a process now, in MiB.
pub fn current_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// The API and worker processes of one benchmark, with their database.
#[derive(Debug)]
pub struct Cluster {
    pub api: String,
    pub token: String,
    pub http: reqwest::Client,
    pub api_pid: u32,
    pub worker_pids: Vec<u32>,
    children: Vec<Child>,
    pg_admin: String,
    db: String,
    prefix: String,
}

impl Cluster {
    /// Starts the processes (binaries from `SWITCHBOARD_BIN_DIR`, default
    /// `target/release`) on database `db` with `workers` worker processes.
    pub async fn start(db: &str, workers: usize, extra: &[(&str, String)]) -> anyhow::Result<Self> {
        let bin = std::env::var("SWITCHBOARD_BIN_DIR").unwrap_or_else(|_| "target/release".into());
        let pg_admin =
            std::env::var("PG_ADMIN").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        switchboard_core::telemetry::install_crypto_provider();
        recreate_database(&pg_admin, db, true).await?;
        let database_url = format!("{}/{db}?sslmode=disable", pg_admin.rsplit_once('/').unwrap().0);
        let prefix = format!("bench-{}", std::process::id());
        let keys = switchboard_core::vault::Vault::generate_key_entry("bench")?
            .expose()
            .to_owned();
        let api_port = free_port();
        let mut env: Vec<(&str, String)> = vec![
            ("DATABASE_URL", database_url),
            ("REDIS_URL", "redis://127.0.0.1:6379/".into()),
            ("SWITCHBOARD_ENCRYPTION_KEYS", keys),
            ("SWITCHBOARD_JWT_SECRET", JWT_SECRET.into()),
            ("SWITCHBOARD_REDIS_PREFIX", prefix.clone()),
            ("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8".into()),
            ("SWITCHBOARD_TEST_RATE_LIMIT", "0".into()),
            ("SWITCHBOARD_INVOKE_RATE_LIMIT", "0".into()),
            ("SWITCHBOARD_HEALTH_INTERVAL", "0".into()),
            ("SWITCHBOARD_LISTEN", format!("127.0.0.1:{api_port}")),
            ("RUST_LOG", "warn".into()),
            (
                "SWITCHBOARD_QUEUE_POLL_INTERVAL",
                std::env::var("POLL").unwrap_or_else(|_| "20ms".into()),
            ),
        ];
        env.extend(extra.iter().cloned());
        let spawn = |args: &[&str], more: &[(&str, String)]| -> std::io::Result<Child> {
            let mut command = Command::new(format!("{bin}/{}", args[0]));
            command.args(&args[1..]).stdout(Stdio::null()).stderr(Stdio::inherit());
            for (k, v) in env.iter().chain(more) {
                command.env(k, v);
            }
            command.spawn()
        };
        let status = spawn(&["switchboard", "migrate"], &[])?.wait()?;
        anyhow::ensure!(status.success(), "migrate failed");
        let mut children = vec![spawn(&["switchboard", "serve"], &[])?];
        let mut worker_pids = Vec::new();
        for _ in 0..workers {
            let listen = format!("127.0.0.1:{}", free_port());
            let child = spawn(&["switchboard-worker"], &[("SWITCHBOARD_WORKER_LISTEN", listen)])?;
            worker_pids.push(child.id());
            children.push(child);
        }
        let api = format!("http://127.0.0.1:{api_port}");
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(1024)
            .build()?;
        let mut ready = false;
        for _ in 0..100 {
            if http
                .get(format!("{api}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::ensure!(ready, "the API did not become ready");
        tokio::time::sleep(Duration::from_millis(500)).await; // workers subscribe
        let token = switchboard_api::auth::mint_token(
            &Secret::new(JWT_SECRET),
            "bench-user",
            Duration::from_secs(3600),
            None,
            None,
        )?;
        Ok(Self {
            api,
            token,
            http,
            api_pid: children[0].id(),
            worker_pids,
            children,
            pg_admin,
            db: db.to_owned(),
            prefix,
        })
    }

    /// Prints the processes' peak memory, stops them and drops the database and Redis keys.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        for pid in &self.worker_pids {
            println!("worker {pid} peak RSS: {:.1} MiB", rss_mib(*pid));
        }
        println!("API peak RSS: {:.1} MiB", rss_mib(self.api_pid));
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        recreate_database(&self.pg_admin, &self.db, false).await?;
        let _ = crate::redis::RedisPrefix {
            prefix: self.prefix.clone(),
        }; // dropped: deletes the keys
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn recreate_database(pg_admin: &str, db: &str, create: bool) -> anyhow::Result<()> {
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(pg_admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {db} with (force)"
    )))
    .execute(&mut admin)
    .await?;
    if create {
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {db}")))
            .execute(&mut admin)
            .await?;
    }
    Ok(())
}

/// Prints the low-load comparison of `measured` against the `floor` (sorted samples).
pub fn report_low_load(floor_label: &str, floor: &[Duration], measured_label: &str, measured: &[Duration]) {
    let (f50, f99, m50, m99) = (
        percentile(floor, 0.5),
        percentile(floor, 0.99),
        percentile(measured, 0.5),
        percentile(measured, 0.99),
    );
    println!("low load, sequential ({} samples each):", floor.len());
    println!("  {floor_label:<42} p50 {:7.2} ms   p99 {:7.2} ms", ms(f50), ms(f99));
    println!("  {measured_label:<42} p50 {:7.2} ms   p99 {:7.2} ms", ms(m50), ms(m99));
    println!(
        "  ratio p50 {:.2}x; overhead p50 {:.2} ms, p99 {:.2} ms",
        ms(m50) / ms(f50),
        ms(m50) - ms(f50),
        ms(m99) - ms(f99)
    );
}

/// Rates from `RATES` (comma-separated) or `default`, and seconds per rate from `SECONDS`.
pub fn rates_from_env(default: &[u64]) -> (Vec<u64>, u64) {
    let rates = std::env::var("RATES")
        .ok()
        .map(|r| r.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec());
    let seconds = std::env::var("SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    (rates, seconds)
}

/// Drives `op` open loop at each rate in turn (latency counted from the
/// scheduled send time, so a late send counts against us) and stops at the
/// first rate with errors or a p99 over `target`; returns the highest rate met.
pub async fn open_loop<F, Fut>(rates: &[u64], seconds: u64, target: Duration, op: F) -> anyhow::Result<Option<u64>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut best = None;
    println!("open loop, {seconds} s per rate (p99 target ≤ {} ms):", ms(target));
    for &rate in rates {
        let total = rate * seconds;
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            let scheduled = start + interval.mul_f64(i as f64);
            tokio::time::sleep_until(scheduled).await;
            let fut = op();
            tasks.push(tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), fut).await {
                    Ok(Ok(())) => Ok(scheduled.elapsed()),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err("timeout".to_owned()),
                }
            }));
        }
        let mut latencies = Vec::new();
        let mut errors = Vec::new();
        for task in tasks {
            match task.await? {
                Ok(d) => latencies.push(d),
                Err(e) => errors.push(e),
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        latencies.sort();
        let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
        println!(
            "  {rate:5}/s: completed {:7.1}/s  p50 {:7.2} ms  p99 {:8.2} ms  errors {}{}",
            latencies.len() as f64 / elapsed,
            ms(p50),
            ms(p99),
            errors.len(),
            errors.first().map(|e| format!(" (first: {e})")).unwrap_or_default()
        );
        if errors.is_empty() && p99 <= target {
            best = Some(rate);
        } else {
            break;
        }
    }
    Ok(best)
}
