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

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use switchboard_core::domain::{Credentials, CustomHeaders};
use switchboard_core::sse;
use switchboard_tests::bench::{Cluster, ms, open_loop, percentile, rates_from_env, report_low_load};
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::probe::{Recorder, test_client};

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
    let workers: usize = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(1);
    let cluster = Cluster::start("sbbench_pipeline", workers, &[]).await?;
    let (http, api, token) = (cluster.http.clone(), cluster.api.clone(), cluster.token.clone());
    let fixture = McpFixture::with_tools(5, 50).spawn().await;

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
    report_low_load(
        "floor (MCP client in-process)",
        &floor,
        "end to end (POST → SSE finish)",
        &e2e,
    );

    // 3. Open loop at fixed rates.
    let (rates, seconds) = rates_from_env(&[100, 200, 300, 400, 500, 600]);
    let (api, token, url) = (Arc::new(api), Arc::new(token), Arc::new(fixture.url.clone()));
    let best = open_loop(&rates, seconds, Duration::from_millis(100), || {
        let (http, api, token, url) = (http.clone(), api.clone(), token.clone(), url.clone());
        async move { one_test(&http, &api, &token, &url).await.map(drop) }
    })
    .await?;
    match best {
        Some(rate) => println!("highest sustained rate with p99 ≤ 100 ms: {rate} tests/s"),
        None => println!("no tested rate kept p99 ≤ 100 ms"),
    }
    cluster.stop().await
}
