//! Benchmark of connection tests end to end in distributed mode.
//!
//! Starts `switchboard serve` and `switchboard-worker` (release binaries, as
//! separate processes, on PostgreSQL and Redis) and a fast rmcp fixture
//! server in this process, then measures:
//!
//! 1. the floor: `initialize` + `tools/list` done directly by the MCP client;
//! 2. a connection test through the API: `POST /api/connectors/test` → the
//!    terminal SSE event, one at a time (low load), and the ratio to the floor;
//! 3. open-loop rates, to find the highest one whose p99 stays under 100 ms;
//! 4. the worker's peak RSS.
//!
//! Run with `ops/bench/pipeline.sh` (builds in release mode first).

#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use switchboard_core::domain::{Credentials, CustomHeaders};
use switchboard_core::sse;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::probe::{Recorder, test_client};

const JWT_SECRET: &str = "bench-secret-bench-secret-bench-secret";

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// One test through the API: POST, then read the run's events until `finished`.
async fn one_test(http: &reqwest::Client, api: &str, token: &str, server_url: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let run: serde_json::Value = http
        .post(format!("{api}/api/connectors/test"))
        .bearer_auth(token)
        .json(&serde_json::json!({"server_url": server_url}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let events_url = run["events_url"].as_str().ok_or_else(|| format!("no run: {run}"))?;
    let response = http
        .get(format!("{api}{events_url}"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut events = Box::pin(sse::events(response.bytes_stream(), 1 << 20));
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| e.to_string())?;
        let done = event.event == "finished" || (event.event == "run" && event.data.contains("\"finished_at\":\""));
        if done {
            if !event.data.contains("\"status\":\"succeeded\"") {
                return Err(format!("run failed: {}", event.data));
            }
            return Ok(started.elapsed());
        }
    }
    Err("stream ended early".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bin = std::env::var("SWITCHBOARD_BIN_DIR").unwrap_or_else(|_| "target/release".into());
    let pg_admin = std::env::var("PG_ADMIN").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    switchboard_core::telemetry::install_crypto_provider();
    let workers: usize = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(1);

    // Database and queue namespace of this run.
    let db = "sbbench_pipeline";
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&pg_admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {db} with (force)"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {db}")))
        .execute(&mut admin)
        .await?;
    let database_url = format!("{}/{db}?sslmode=disable", pg_admin.rsplit_once('/').unwrap().0);
    let prefix = format!("bench-{}", std::process::id());
    let keys = switchboard_core::vault::Vault::generate_key_entry("bench")?
        .expose()
        .to_owned();
    let api_port = free_port();
    let env: Vec<(&str, String)> = vec![
        ("DATABASE_URL", database_url.clone()),
        ("REDIS_URL", "redis://127.0.0.1:6379/".into()),
        ("SWITCHBOARD_ENCRYPTION_KEYS", keys),
        ("SWITCHBOARD_JWT_SECRET", JWT_SECRET.into()),
        ("SWITCHBOARD_REDIS_PREFIX", prefix.clone()),
        ("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8".into()),
        ("SWITCHBOARD_TEST_RATE_LIMIT", "0".into()),
        ("SWITCHBOARD_HEALTH_INTERVAL", "0".into()),
        ("SWITCHBOARD_LISTEN", format!("127.0.0.1:{api_port}")),
        ("RUST_LOG", "warn".into()),
        (
            "SWITCHBOARD_QUEUE_POLL_INTERVAL",
            std::env::var("POLL").unwrap_or_else(|_| "20ms".into()),
        ),
    ];
    let spawn = |args: &[&str], extra: &[(&str, String)]| -> std::io::Result<Child> {
        let mut command = Command::new(format!("{bin}/{}", args[0]));
        command.args(&args[1..]).stdout(Stdio::null()).stderr(Stdio::inherit());
        for (k, v) in env.iter().chain(extra) {
            command.env(k, v);
        }
        command.spawn()
    };
    let status = spawn(&["switchboard", "migrate"], &[])?.wait()?;
    anyhow::ensure!(status.success(), "migrate failed");
    let mut procs = Procs(vec![spawn(&["switchboard", "serve"], &[])?]);
    let mut worker_pids = Vec::new();
    for _ in 0..workers {
        let child = spawn(
            &["switchboard-worker"],
            &[("SWITCHBOARD_WORKER_LISTEN", format!("127.0.0.1:{}", free_port()))],
        )?;
        worker_pids.push(child.id());
        procs.0.push(child);
    }
    let api = format!("http://127.0.0.1:{api_port}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(512)
        .build()?;
    for _ in 0..100 {
        if http
            .get(format!("{api}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // workers subscribe

    let fixture = McpFixture::with_tools(5, 50).spawn().await;
    let token = switchboard_api::auth::mint_token(
        &switchboard_core::Secret::new(JWT_SECRET),
        "bench-user",
        Duration::from_secs(3600),
        None,
        None,
    )?;

    // 1. The floor: the MCP client alone, in this process.
    let client = test_client(switchboard_core::mcp::McpLimits::default());
    let mut floor = Vec::new();
    for i in 0..300 {
        let started = Instant::now();
        let report = client
            .probe(
                &fixture.url,
                &Credentials::None,
                &CustomHeaders::default(),
                Duration::from_secs(5),
                &Recorder::default(),
            )
            .await;
        anyhow::ensure!(report.failure.is_none(), "floor probe failed: {:?}", report.failure);
        if i >= 20 {
            floor.push(started.elapsed());
        }
    }
    floor.sort();

    // 2. End to end, one at a time.
    let mut e2e = Vec::new();
    for i in 0..300 {
        let took = one_test(&http, &api, &token, &fixture.url)
            .await
            .map_err(anyhow::Error::msg)?;
        if i >= 20 {
            e2e.push(took);
        }
    }
    e2e.sort();
    // Where the time goes: a few runs with `Prefer: wait` instead of SSE, and
    // the run's own timestamps (queue wait = started - created).
    let mut waits = Vec::new();
    let mut runs = Vec::new();
    let mut awaited = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        let run: serde_json::Value = http
            .post(format!("{api}/api/connectors/test"))
            .bearer_auth(&token)
            .header("prefer", "wait=5")
            .json(&serde_json::json!({"server_url": fixture.url}))
            .send()
            .await?
            .json()
            .await?;
        awaited.push(started.elapsed());
        let at = |k: &str| chrono::DateTime::parse_from_rfc3339(run[k].as_str().unwrap_or_default()).ok();
        if let (Some(c), Some(s), Some(f)) = (at("created_at"), at("started_at"), at("finished_at")) {
            waits.push((s - c).to_std().unwrap_or_default());
            runs.push((f - s).to_std().unwrap_or_default());
        }
    }
    for v in [&mut waits, &mut runs, &mut awaited] {
        v.sort();
    }
    println!(
        "breakdown (Prefer: wait, 100 runs): total p50 {:.2} ms; queue wait p50 {:.2} ms p99 {:.2} ms; worker run p50 {:.2} ms",
        ms(percentile(&awaited, 0.5)),
        ms(percentile(&waits, 0.5)),
        ms(percentile(&waits, 0.99)),
        ms(percentile(&runs, 0.5))
    );
    let (f50, f99, e50, e99) = (
        percentile(&floor, 0.5),
        percentile(&floor, 0.99),
        percentile(&e2e, 0.5),
        percentile(&e2e, 0.99),
    );
    println!("low load, sequential ({} samples each):", floor.len());
    println!(
        "  floor (MCP client in-process)   p50 {:7.2} ms   p99 {:7.2} ms",
        ms(f50),
        ms(f99)
    );
    println!(
        "  end to end (POST → SSE finish)  p50 {:7.2} ms   p99 {:7.2} ms",
        ms(e50),
        ms(e99)
    );
    println!(
        "  ratio p50 {:.2}x; pipeline overhead p50 {:.2} ms, p99 {:.2} ms",
        ms(e50) / ms(f50),
        ms(e50) - ms(f50),
        ms(e99) - ms(f99)
    );

    // 3. Open loop at fixed rates.
    let rates: Vec<u64> = std::env::var("RATES")
        .ok()
        .map(|r| r.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 200, 300, 400, 500, 600]);
    let seconds: u64 = std::env::var("SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let mut best = None;
    println!("open loop, {seconds} s per rate (p99 target < 100 ms):");
    for rate in rates {
        let http = http.clone();
        let (api, token, url) = (
            Arc::new(api.clone()),
            Arc::new(token.clone()),
            Arc::new(fixture.url.clone()),
        );
        let total = rate * seconds;
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            tokio::time::sleep_until(start + interval * i as u32).await;
            let (http, api, token, url) = (http.clone(), api.clone(), token.clone(), url.clone());
            let scheduled = start + interval * i as u32;
            tasks.push(tokio::spawn(async move {
                // Latency from the scheduled send time: a late send counts against us.
                let sent = tokio::time::Instant::now();
                let result = tokio::time::timeout(Duration::from_secs(10), one_test(&http, &api, &token, &url)).await;
                match result {
                    Ok(Ok(took)) => Ok(took + (sent - scheduled)),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err("timeout".into()),
                }
            }));
        }
        let mut latencies = Vec::new();
        let mut errors = 0;
        for task in tasks {
            match task.await? {
                Ok(d) => latencies.push(d),
                Err(_) => errors += 1,
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        latencies.sort();
        let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
        let achieved = latencies.len() as f64 / elapsed;
        println!(
            "  {rate:4}/s: completed {:6.1}/s  p50 {:7.2} ms  p99 {:8.2} ms  errors {errors}",
            achieved,
            ms(p50),
            ms(p99)
        );
        if errors == 0 && ms(p99) < 100.0 {
            best = Some(rate);
        } else {
            break;
        }
    }
    match best {
        Some(rate) => println!("highest sustained rate with p99 < 100 ms: {rate} tests/s"),
        None => println!("no tested rate kept p99 < 100 ms"),
    }
    for pid in worker_pids {
        println!("worker {pid} peak RSS: {:.1} MiB", rss_mib(pid));
    }
    println!("API peak RSS: {:.1} MiB", rss_mib(procs.0[0].id()));
    drop(procs);
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&pg_admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {db} with (force)"
    )))
    .execute(&mut admin)
    .await?;
    let _ = switchboard_tests::redis::RedisPrefix { prefix }; // dropped: deletes the run's keys
    Ok(())
}
