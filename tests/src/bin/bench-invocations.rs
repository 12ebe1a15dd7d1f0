//! Benchmark of tool invocations through the queue, distributed mode.
//!
//! Starts `switchboard serve` and `switchboard-worker` (release binaries, as
//! separate processes, on PostgreSQL and Redis) and, for each MCP era in
//! `ERAS` (`session,stateless` by default), a fast rmcp fixture server in this
//! process speaking that era, saved as a connector, then measures:
//!
//! 1. the floor: `tools/call` made directly by the MCP client on an open session;
//! 2. cold calls: open (handshake, or nothing for a stateless server whose era
//!    is remembered), `tools/call`, close — what a call costs without reuse;
//! 3. the same call through the API (`POST /api/agent/invocations` with
//!    `Prefer: wait`: queued, run by the worker, answered when it ends), one
//!    at a time, and the ratio and overhead against the floor;
//! 4. open-loop rates, to find the highest one whose p99 stays ≤ 50 ms;
//! 5. the processes' peak RSS.
//!
//! Run with `ops/bench/invocations.sh` (builds in release mode first).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_core::domain::{Credentials, CustomHeaders, ServerUrl};
use switchboard_core::mcp::{McpLimits, Session, close};
use switchboard_tests::bench::{Cluster, open_loop, rates_from_env, report_low_load};
use switchboard_tests::fixtures::Fixture;
use switchboard_tests::fixtures::mcp::McpFixture;
use switchboard_tests::probe::test_client;

const SAMPLES: usize = 500;
const WARM_UP: usize = 50;

/// Slow calls described so far (a few are printed, to see where the time went).
static SLOW_SHOWN: AtomicUsize = AtomicUsize::new(0);

/// One call through the API, waited for; an error unless it succeeded.
async fn invoke(http: &reqwest::Client, api: &str, token: &str, era: &str) -> Result<(), String> {
    let started = Instant::now();
    let run: serde_json::Value = http
        .post(format!("{api}/api/agent/invocations"))
        .bearer_auth(token)
        .header("prefer", "wait=10")
        .json(&json!({"tool": format!("{era}__tool_0"), "arguments": {"text": "bench"}}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if started.elapsed() > Duration::from_millis(500) && SLOW_SHOWN.fetch_add(1, Ordering::Relaxed) < 3 {
        let at = |k: &str| run[k].as_str().unwrap_or("-").to_owned();
        eprintln!(
            "slow call ({:.0} ms): created {} started {} finished {} steps {}",
            started.elapsed().as_secs_f64() * 1000.0,
            at("created_at"),
            at("started_at"),
            at("finished_at"),
            run["steps"]
        );
    }
    if run["status"] == "succeeded" && run["result"]["isError"] == false {
        Ok(())
    } else {
        Err(format!("not succeeded: {run}"))
    }
}

/// `tools/call` made directly on `session`.
async fn call(session: &Session) -> anyhow::Result<()> {
    let arguments = json!({"text": "bench"}).as_object().unwrap().clone();
    switchboard_core::mcp::call::call_tool(
        session,
        "tool_0",
        arguments,
        Duration::from_secs(5),
        &McpLimits::default(),
    )
    .await
    .map(drop)
    .map_err(|f| anyhow::anyhow!("direct call failed: {f:?}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let workers: usize = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(1);
    let eras = std::env::var("ERAS").unwrap_or_else(|_| "session,stateless".into());
    let cluster = Cluster::start("sbbench_invocations", workers, &[]).await?;
    println!("{workers} worker process(es)");
    for era in eras.split(',').map(str::trim) {
        let fixture = match era {
            "session" => McpFixture::with_tools(5, 50),
            "stateless" => McpFixture::with_tools(5, 50).stateless_only(),
            other => anyhow::bail!("unknown era {other:?} in ERAS (session, stateless)"),
        };
        println!("\n== {era} era");
        bench_era(&cluster, era, fixture.spawn().await).await?;
    }
    cluster.stop().await
}

async fn bench_era(cluster: &Cluster, era: &str, fixture: Fixture) -> anyhow::Result<()> {
    let (http, api, token) = (cluster.http.clone(), cluster.api.clone(), cluster.token.clone());
    let saved = http
        .post(format!("{api}/api/connectors"))
        .bearer_auth(&token)
        .json(&json!({"name": era, "server_url": fixture.url, "tool_policy": "allow"}))
        .send()
        .await?;
    anyhow::ensure!(
        saved.status().as_u16() == 201,
        "saving the connector failed: {}",
        saved.text().await?
    );

    // 1. The floor: tools/call on an open session, in this process.
    let client = test_client(McpLimits::default());
    let url = ServerUrl::parse(&fixture.url).map_err(anyhow::Error::msg)?;
    let open = || async {
        client
            .connect(
                &url,
                &Credentials::None,
                &CustomHeaders::default(),
                Duration::from_secs(5),
            )
            .await
            .map(|(session, _)| session)
            .map_err(|f| anyhow::anyhow!("connect failed: {f:?}"))
    };
    let session = open().await?;
    let mut floor = Vec::new();
    for i in 0..SAMPLES + WARM_UP {
        let started = Instant::now();
        call(&session).await?;
        if i >= WARM_UP {
            floor.push(started.elapsed());
        }
    }
    floor.sort();

    // 2. Cold: a new session for each call (the era is remembered after the first).
    let mut cold = Vec::new();
    for i in 0..SAMPLES + WARM_UP {
        let started = Instant::now();
        let fresh = open().await?;
        call(&fresh).await?;
        close(fresh).await;
        if i >= WARM_UP {
            cold.push(started.elapsed());
        }
    }
    cold.sort();
    report_low_load(
        "floor (tools/call on an open session)",
        &floor,
        "cold (open, tools/call, close)",
        &cold,
    );

    // 3. Through the queue, one at a time.
    let mut queued = Vec::new();
    for i in 0..SAMPLES + WARM_UP {
        let started = Instant::now();
        invoke(&http, &api, &token, era).await.map_err(anyhow::Error::msg)?;
        if i >= WARM_UP {
            queued.push(started.elapsed());
        }
    }
    queued.sort();
    report_low_load(
        "floor (tools/call, MCP client in-process)",
        &floor,
        "through the queue (POST, Prefer: wait)",
        &queued,
    );

    // 4. Open loop.
    let (rates, seconds) = rates_from_env(&[200, 400, 600, 800, 1000, 1200]);
    let (api, token, era) = (Arc::new(api), Arc::new(token), Arc::new(era.to_owned()));
    let best = open_loop(&rates, seconds, Duration::from_millis(50), || {
        let (http, api, token, era) = (http.clone(), api.clone(), token.clone(), era.clone());
        async move { invoke(&http, &api, &token, &era).await }
    })
    .await?;
    match best {
        Some(rate) => println!("highest sustained rate with p99 ≤ 50 ms: {rate} invocations/s"),
        None => println!("no tested rate kept p99 ≤ 50 ms"),
    }
    drop(session);
    Ok(())
}
