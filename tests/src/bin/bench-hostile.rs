//! Benchmark: how long each hostile server shape holds a connection test at
//! the default 10 s budget (target: every run over by budget + 1 s), and the
//! API's and the worker's memory after the battery.
//!
//! Starts `switchboard serve` and `switchboard-worker` (release binaries, on
//! PostgreSQL and Redis), one hostile server per shape in this process, and
//! runs every shape `ROUNDS` times (default 3), all at once.
//!
//! Run with `ops/bench/hostile.sh` (builds in release mode first).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_tests::bench::{Cluster, current_rss_mib, rss_mib};
use switchboard_tests::fixtures::hostile::{self, Shape};

async fn one_test(cluster: &Cluster, url: &str) -> Result<(Duration, Value), String> {
    let started = Instant::now();
    let run: Value = cluster
        .http
        .post(format!("{}/api/connectors/test", cluster.api))
        .bearer_auth(&cluster.token)
        .header("prefer", "wait=30")
        .json(&json!({"server_url": url}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if run["finished_at"].is_null() {
        return Err(format!("not finished after 30 s: {}", run["status"]));
    }
    Ok((started.elapsed(), run))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let cluster = Cluster::start("sbbench_hostile", 1, &[]).await?;
    let budget = Duration::from_secs(10);
    println!(
        "hostile shapes at the default {} s budget, {rounds} rounds, all at once:",
        budget.as_secs()
    );
    let mut servers = Vec::new();
    for shape in Shape::ALL {
        servers.push((shape, hostile::spawn(shape).await));
    }
    let runs = futures::future::join_all(
        servers
            .iter()
            .flat_map(|(shape, server)| (0..rounds).map(move |_| (*shape, server.url.clone())))
            .map(|(shape, url)| {
                let cluster = &cluster;
                async move { (shape, one_test(cluster, &url).await) }
            }),
    )
    .await;
    let mut worst_over = Duration::ZERO;
    let mut failures = 0;
    println!(
        "  {:<22} {:<20} {:>10} {:>10}",
        "shape", "code", "worst s", "in budget+1s"
    );
    for shape in Shape::ALL {
        let mine: Vec<_> = runs.iter().filter(|(s, _)| *s == shape).map(|(_, r)| r).collect();
        let mut worst = Duration::ZERO;
        let mut code = String::new();
        for result in mine {
            match result {
                Ok((took, run)) => {
                    worst = worst.max(*took);
                    code = run["result"]["error_code"].as_str().unwrap_or("-").to_owned();
                }
                Err(e) => {
                    failures += 1;
                    code = format!("ERROR {e}");
                }
            }
        }
        worst_over = worst_over.max(worst.saturating_sub(budget));
        let ok = worst <= budget + Duration::from_secs(1);
        println!(
            "  {:<22} {:<20} {:>10.2} {:>10}",
            format!("{shape:?}"),
            code,
            worst.as_secs_f64(),
            if ok { "yes" } else { "NO" }
        );
    }
    println!(
        "worst time past the budget: {:.2} s; unfinished: {failures}",
        worst_over.as_secs_f64()
    );
    println!(
        "after the battery: API RSS {:.1} MiB (peak {:.1}), worker RSS {:.1} MiB (peak {:.1})",
        current_rss_mib(cluster.api_pid),
        rss_mib(cluster.api_pid),
        current_rss_mib(cluster.worker_pids[0]),
        rss_mib(cluster.worker_pids[0])
    );
    drop(servers);
    cluster.stop().await
}
