//! Real worker processes for distributed-mode tests (the `test-worker` binary
//! of this crate), configured from a [`TestApp`]'s settings.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::TestApp;

/// A running worker process; killed when dropped.
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
    /// Where it serves `/metrics`.
    pub metrics_url: String,
}

impl WorkerProcess {
    /// Starts `binary` (the e2e tests pass `env!("CARGO_BIN_EXE_test-worker")`)
    /// on `app`'s database and queues; `extra` env vars override.
    pub async fn spawn(binary: &str, app: &TestApp, extra: &[(&str, &str)]) -> Self {
        let settings = &app.settings;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env(
                "DATABASE_URL",
                settings.database_url.as_ref().expect("distributed mode").expose(),
            )
            .env(
                "REDIS_URL",
                settings.redis_url.as_ref().expect("distributed mode").expose(),
            )
            .env(
                "SWITCHBOARD_ENCRYPTION_KEYS",
                settings.encryption_keys.as_ref().unwrap().expose(),
            )
            .env("SWITCHBOARD_REDIS_PREFIX", &settings.jobs.redis_prefix)
            .env("SWITCHBOARD_WORKER_HEARTBEAT", "1s")
            .env(
                "SWITCHBOARD_WORKER_MISSED_HEARTBEATS",
                settings.jobs.missed_heartbeats.to_string(),
            )
            .env(
                "SWITCHBOARD_RUN_LEASE",
                format!("{}ms", settings.limits.lease.as_millis()),
            )
            .env(
                "SWITCHBOARD_RECONCILE_INTERVAL",
                format!("{}ms", settings.limits.reconcile_interval.as_millis()),
            )
            .env(
                "SWITCHBOARD_REQUEUE_AFTER",
                format!("{}ms", settings.limits.requeue_after.as_millis()),
            )
            .env("SWITCHBOARD_QUEUE_POLL_INTERVAL", "20ms")
            .env("SWITCHBOARD_HEALTH_INTERVAL", "0")
            .env("SWITCHBOARD_SHUTDOWN_GRACE", "10s")
            .env(
                "SWITCHBOARD_TEST_BUDGET",
                format!("{}ms", settings.jobs.test_budget.as_millis()),
            )
            .env("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.0/8,::1")
            .env("SWITCHBOARD_WORKER_LISTEN", &listen)
            .env("SWITCHBOARD_DATA_DIR", app.data_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (name, value) in extra {
            command.env(name, value);
        }
        let child = command.spawn().expect("start test-worker");
        let worker = Self {
            child,
            metrics_url: format!("http://{listen}/metrics"),
        };
        worker.wait_until_healthy().await;
        worker
    }

    async fn wait_until_healthy(&self) {
        let health = self.metrics_url.replace("/metrics", "/healthz");
        for _ in 0..200 {
            if reqwest::get(&health).await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the worker process did not become healthy");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`TERM`, `KILL`) with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "worker {} did not exit",
                self.pid()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its `/metrics` page.
    pub async fn metrics(&self) -> String {
        reqwest::get(&self.metrics_url).await.unwrap().text().await.unwrap()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
