//! The system under chaos: `switchboard serve` and worker processes (real
//! binaries from `SWITCHBOARD_BIN_DIR`) on the harness's own PostgreSQL and
//! Redis, with fast leases and a fast reconciler, and no per-user caps.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use switchboard_core::Secret;

const JWT_SECRET: &str = "chaos-secret-chaos-secret-chaos-secret";

#[derive(Debug)]
pub struct Cluster {
    bin: String,
    env: Vec<(String, String)>,
    api: Child,
    pub workers: Vec<Child>,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Cluster {
    /// Migrates `database_url`, starts the API and `workers` workers.
    pub async fn start(database_url: &str, redis_url: &str, model: &str, workers: usize) -> anyhow::Result<Self> {
        let bin = std::env::var("SWITCHBOARD_BIN_DIR").unwrap_or_else(|_| "target/release".into());
        let port = crate::bench::free_port();
        let keys = switchboard_core::vault::Vault::generate_key_entry("chaos")?
            .expose()
            .to_owned();
        let env: Vec<(String, String)> = [
            ("DATABASE_URL", database_url.to_owned()),
            ("REDIS_URL", redis_url.to_owned()),
            ("SWITCHBOARD_ENCRYPTION_KEYS", keys),
            ("SWITCHBOARD_JWT_SECRET", JWT_SECRET.into()),
            ("SWITCHBOARD_LISTEN", format!("127.0.0.1:{port}")),
            ("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8".into()),
            ("SWITCHBOARD_TEST_RATE_LIMIT", "0".into()),
            ("SWITCHBOARD_INVOKE_RATE_LIMIT", "0".into()),
            ("SWITCHBOARD_HEALTH_INTERVAL", "0".into()),
            ("SWITCHBOARD_USER_RUNNING_CALLS", "0".into()),
            ("SWITCHBOARD_USER_RUNNING_TESTS", "0".into()),
            ("SWITCHBOARD_USER_RUNNING_TURNS", "0".into()),
            ("SWITCHBOARD_USER_STREAMS", "0".into()),
            ("SWITCHBOARD_WORKER_HEARTBEAT", "1s".into()),
            ("SWITCHBOARD_RUN_LEASE", "3s".into()),
            ("SWITCHBOARD_RECONCILE_INTERVAL", "500ms".into()),
            ("SWITCHBOARD_REQUEUE_AFTER", "5s".into()),
            ("SWITCHBOARD_MAX_REQUEUES", "20".into()),
            ("SWITCHBOARD_EVENT_LOG_TTL", "5s".into()),
            ("SWITCHBOARD_RETRY_DELAY", "200ms".into()),
            ("SWITCHBOARD_INVOKE_TIMEOUT", "10s".into()),
            ("SWITCHBOARD_TEST_BUDGET", "5s".into()),
            ("SWITCHBOARD_SHUTDOWN_GRACE", "2s".into()),
            ("SWITCHBOARD_LLM_BASE_URL", model.to_owned()),
            ("SWITCHBOARD_LLM_MODEL", "reflex".into()),
            ("RUST_LOG", "error,rmcp=off".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let spawn = |args: &[&str], more: &[(&str, String)]| -> std::io::Result<Child> {
            let mut command = Command::new(format!("{bin}/{}", args[0]));
            command.args(&args[1..]).stdout(Stdio::null()).stderr(Stdio::null());
            command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            command.envs(more.iter().map(|(k, v)| (*k, v.as_str())));
            command.spawn()
        };
        let migrated = spawn(&["switchboard", "migrate"], &[])?.wait()?;
        anyhow::ensure!(migrated.success(), "migrate failed");
        let api = spawn(&["switchboard", "serve"], &[])?;
        let mut cluster = Self {
            bin: bin.clone(),
            env,
            api,
            workers: Vec::new(),
            base: format!("http://127.0.0.1:{port}"),
            token: switchboard_api::auth::mint_token(
                &Secret::new(JWT_SECRET),
                "chaos-user",
                Duration::from_secs(7200),
                None,
                None,
            )?,
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(256)
                .build()?,
        };
        for _ in 0..workers {
            cluster.add_worker()?;
        }
        for _ in 0..200 {
            let ready = cluster.http.get(format!("{}/readyz", cluster.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(cluster);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the API did not become ready")
    }

    /// Starts one more worker process.
    pub fn add_worker(&mut self) -> anyhow::Result<()> {
        let listen = format!("127.0.0.1:{}", crate::bench::free_port());
        let child = Command::new(format!("{}/switchboard-worker", self.bin))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("SWITCHBOARD_WORKER_LISTEN", listen)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("Failed to start a worker")?;
        self.workers.push(child);
        Ok(())
    }

    /// SIGKILLs worker `index` and starts a replacement.
    pub fn kill_worker(&mut self, index: usize) -> anyhow::Result<()> {
        let mut victim = self.workers.remove(index % self.workers.len());
        let killed = victim.kill();
        victim.wait()?;
        killed?;
        self.add_worker()
    }

    /// A request with the chaos user's token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in std::iter::once(&mut self.api).chain(self.workers.iter_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
