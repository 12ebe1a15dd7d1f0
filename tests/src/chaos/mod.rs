//! The chaos harness (`ops/chaos/run.sh`, binary `chaos`): distributed mode on
//! a PostgreSQL cluster and a Redis of its own (faults never touch the
//! services other tests use), a mixed load — connection tests, calls of a safe
//! and of an unsafe tool on a counting fixture, agent turns against a reflex
//! model — while workers are SIGKILLed every 2–6 s and replaced, Redis is
//! paused, its clients killed, and it is restarted empty once, and PostgreSQL
//! is restarted once. Then it drains and checks that every run ended and no
//! unsafe call ran twice.

pub mod cluster;
pub mod pg;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixtures::mcp::McpFixture;
use crate::redis::PrivateRedis;
use cluster::Cluster;
use pg::PrivatePostgres;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Jobs submitted in all.
    pub jobs: usize,
    /// Submissions per second.
    pub rate: u64,
    pub workers: usize,
    /// How long to wait for the last runs to end.
    pub drain: Duration,
}

/// What happened.
#[derive(Debug, Default)]
pub struct Report {
    pub submitted: usize,
    pub refused: BTreeMap<String, usize>,
    pub by_outcome: BTreeMap<String, i64>,
    pub not_terminal: i64,
    pub kills: usize,
    pub unsafe_calls: usize,
    pub unsafe_duplicates: usize,
    pub outcome_unknown: i64,
    pub safe_duplicates: usize,
    pub redis_before: u64,
    pub redis_after: u64,
    pub redis_queue_keys_after: usize,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.not_terminal == 0 && self.unsafe_duplicates == 0 && self.submitted > 0
    }

    pub fn print(&self) {
        println!(
            "submitted: {}   refused at submission: {:?}",
            self.submitted, self.refused
        );
        println!("worker kills: {}", self.kills);
        println!("runs by outcome:");
        for (outcome, n) in &self.by_outcome {
            println!("  {outcome:<40} {n}");
        }
        println!("not terminal after drain: {}", self.not_terminal);
        let share = if self.unsafe_calls == 0 {
            0.0
        } else {
            self.outcome_unknown as f64 * 100.0 / self.unsafe_calls as f64
        };
        println!(
            "unsafe calls submitted: {}   executed twice: {}   OUTCOME_UNKNOWN: {} ({share:.2}%)",
            self.unsafe_calls, self.unsafe_duplicates, self.outcome_unknown
        );
        println!("safe calls executed more than once: {}", self.safe_duplicates);
        println!(
            "Redis memory: before {:.1} MiB, after drain {:.1} MiB; queue keys left: {}",
            self.redis_before as f64 / 1048576.0,
            self.redis_after as f64 / 1048576.0,
            self.redis_queue_keys_after
        );
    }
}

/// One submission of the mixed load: `(path, body)`.
fn job(i: usize) -> (&'static str, Value) {
    let key = format!("k{i}");
    match i % 10 {
        0 | 5 => ("/api/connectors/test", json!({"server_url": "{mcp}"})),
        1 => (
            "/api/agent/runs",
            json!({"messages": [{"role": "user", "content": format!("turn-{key}")}]}),
        ),
        2 | 4 | 6 | 8 => (
            "/api/agent/invocations",
            json!({"tool": "notes__tool_1", "arguments": {"text": key}}),
        ),
        _ => (
            "/api/agent/invocations",
            json!({"tool": "notes__tool_0", "arguments": {"text": key}}),
        ),
    }
}

pub async fn run(config: &Config) -> anyhow::Result<Report> {
    switchboard_core::telemetry::install_crypto_provider();
    let pg = PrivatePostgres::start()?;
    create_database(&pg.admin_url(), "switchboard").await?;
    let mut redis = PrivateRedis::start().await;
    let fixture = McpFixture::with_tools(2, 10);
    fixture.set_call_delay(Duration::from_millis(20));
    let mcp = fixture.clone().spawn().await;
    let model = crate::fixtures::llm::spawn_reflex("notes__tool_1").await;
    let mut cluster = Cluster::start(&pg.url("switchboard"), &redis.url(), &model.url, config.workers).await?;
    let saved = cluster
        .request(reqwest::Method::POST, "/api/connectors")
        .json(&json!({"name": "Notes", "server_url": mcp.url, "tool_policy": "allow"}))
        .send()
        .await?;
    anyhow::ensure!(saved.status() == 201, "saving the connector: {}", saved.text().await?);
    let mut report = Report {
        redis_before: redis.used_memory().await,
        ..Report::default()
    };

    // The load, in the background.
    let submitted = Arc::new(AtomicUsize::new(0));
    let refused: Arc<std::sync::Mutex<BTreeMap<String, usize>>> = Arc::default();
    let load = {
        let (http, base, token) = (cluster.http.clone(), cluster.base.clone(), cluster.token.clone());
        let (config, submitted, refused, mcp_url) =
            (config.clone(), submitted.clone(), refused.clone(), mcp.url.clone());
        tokio::spawn(async move {
            let interval = Duration::from_secs_f64(1.0 / config.rate as f64);
            let start = tokio::time::Instant::now();
            let mut tasks = Vec::new();
            for i in 0..config.jobs {
                tokio::time::sleep_until(start + interval.mul_f64(i as f64)).await;
                let (path, body) = job(i);
                let body: Value = serde_json::from_str(&body.to_string().replace("{mcp}", &mcp_url)).unwrap_or(body);
                let request = http.post(format!("{base}{path}")).bearer_auth(&token).json(&body);
                let (submitted, refused) = (submitted.clone(), refused.clone());
                tasks.push(tokio::spawn(async move {
                    match request.send().await {
                        Ok(r) if r.status() == 202 => {
                            submitted.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => *refused.lock().unwrap().entry(r.status().to_string()).or_default() += 1,
                        Err(_) => *refused.lock().unwrap().entry("connection".into()).or_default() += 1,
                    }
                }));
            }
            for task in tasks {
                let _ = task.await;
            }
        })
    };

    // The faults, while the load runs.
    let load_time = Duration::from_secs_f64(config.jobs as f64 / config.rate as f64);
    let started = Instant::now();
    let mut faults = vec![
        (0.25, "pause"),
        (0.40, "client kill"),
        (0.55, "redis restart"),
        (0.70, "postgres restart"),
    ];
    let mut next_kill = started + kill_gap(0);
    while !load.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let progress = started.elapsed().as_secs_f64() / load_time.as_secs_f64().max(0.001);
        if let Some(&(at, fault)) = faults.first()
            && progress >= at
        {
            faults.remove(0);
            println!("fault at {:.0}%: {fault}", progress * 100.0);
            match fault {
                "pause" => drop(redis.command(&["CLIENT", "PAUSE", "2000", "ALL"]).await),
                "client kill" => drop(redis.command(&["CLIENT", "KILL", "TYPE", "normal"]).await),
                "redis restart" => redis.restart_empty().await,
                _ => pg.restart()?,
            }
        }
        if Instant::now() >= next_kill {
            cluster.kill_worker(report.kills)?;
            report.kills += 1;
            next_kill = Instant::now() + kill_gap(report.kills);
        }
    }
    load.await?;
    report.submitted = submitted.load(Ordering::SeqCst);
    report.refused = refused.lock().unwrap().clone();

    // Drain: every run must end.
    let db = sqlx::PgPool::connect(&pg.url("switchboard")).await?;
    let deadline = Instant::now() + config.drain;
    loop {
        let (open,): (i64,) = sqlx::query_as("select count(*) from runs where status not in ('succeeded', 'failed')")
            .fetch_one(&db)
            .await?;
        report.not_terminal = open;
        if open == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "select kind, status, coalesce(error_code, ''), count(*) from runs group by 1, 2, 3 order by 1, 2, 3",
    )
    .fetch_all(&db)
    .await?;
    for (kind, status, code, n) in rows {
        report.by_outcome.insert(format!("{kind} {status} {code}"), n);
    }
    let (unknown,): (i64,) =
        sqlx::query_as("select count(*) from runs where kind = 'invoke_tool' and error_code = 'OUTCOME_UNKNOWN'")
            .fetch_one(&db)
            .await?;
    report.outcome_unknown = unknown;

    // Executions per key, as the fixture counted them.
    let mut executions: HashMap<(String, String), usize> = HashMap::new();
    for (tool, arguments) in fixture.calls() {
        let key = arguments["text"].as_str().unwrap_or_default().to_owned();
        *executions.entry((tool, key)).or_default() += 1;
    }
    report.unsafe_calls = (0..config.jobs).filter(|i| matches!(i % 10, 1 | 2 | 4 | 6 | 8)).count();
    report.unsafe_duplicates = executions.iter().filter(|((t, _), n)| t == "tool_1" && **n > 1).count();
    report.safe_duplicates = executions.iter().filter(|((t, _), n)| t == "tool_0" && **n > 1).count();

    // What the queue holds once everything ended (event logs expire after 5 s).
    tokio::time::sleep(Duration::from_secs(6)).await;
    report.redis_after = redis.used_memory().await;
    report.redis_queue_keys_after = match redis.command(&["KEYS", "switchboard.*:meta:*"]).await {
        Ok(redis::Value::Array(keys)) => keys.len(),
        _ => 0,
    };
    db.close().await;
    drop(cluster);
    Ok(report)
}

/// 2–6 s between worker kills (varied, but the same each run).
fn kill_gap(n: usize) -> Duration {
    Duration::from_millis(2000 + (n as u64 * 7919) % 4000)
}

async fn create_database(admin: &str, db: &str) -> anyhow::Result<()> {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {db}")))
        .execute(&mut conn)
        .await?;
    Ok(())
}
