//! [`TestApp`]: the real Switchboard app, started on port 0 with a fresh
//! database (SQLite in a temp dir, or a fresh PostgreSQL database).

use std::time::Duration;

use std::sync::Arc;
use switchboard_api::AppState;
use switchboard_api::auth::mint_token;
use switchboard_core::Secret;

use switchboard_core::config::{AgentSettings, JobSettings, Settings, UserLimits};
use switchboard_core::services::Overrides;
use switchboard_core::vault::Vault;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::UserClient;
use crate::postgres::PgTestDb;
use crate::redis::RedisPrefix;

/// Job settings for tests: short delays, no rate limit, no scheduled checks, loopback allowed.
pub fn fast_jobs(redis_prefix: Option<String>) -> JobSettings {
    JobSettings {
        test_budget: Duration::from_secs(3),
        test_rate_limit: 0,
        health_interval: None,
        poll_interval: Duration::from_millis(20),
        heartbeat: Duration::from_secs(1),
        shutdown_grace: Duration::from_secs(2),
        sse_keepalive: Duration::from_millis(500),
        concurrency: 16,
        redis_prefix: redis_prefix.unwrap_or_else(|| "switchboard".into()),
        // Fixture servers listen on loopback: allow it in both modes (the loopback fuse stays on).
        egress_allow: Some(switchboard_core::egress::AllowList::loopback()),
        ..JobSettings::default()
    }
}

/// Leases and the reconciler for tests: a worker that stops loses its run
/// within seconds (the default caps stay on, as in production).
pub fn fast_limits() -> UserLimits {
    UserLimits {
        lease: Duration::from_secs(2),
        reconcile_interval: Duration::from_millis(200),
        requeue_after: Duration::from_secs(5),
        max_requeues: 5,
        ..UserLimits::default()
    }
}

/// Tool-use settings for tests: a 1 s retry delay, a 5 s call timeout, no rate limit.
pub fn fast_agent() -> AgentSettings {
    AgentSettings {
        retry_delay: Duration::from_secs(1),
        invoke_timeout: Duration::from_secs(5),
        invoke_rate_limit: 0,
        ..AgentSettings::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

type Configure = Box<dyn FnOnce(&mut Settings) + Send>;

/// Options for [`TestApp`] before it starts.
#[allow(missing_debug_implementations)]
pub struct TestAppBuilder {
    backend: Backend,
    configure: Vec<Configure>,
    empty_database: bool,
    workers: bool,
}

impl TestAppBuilder {
    /// Adjusts the settings before start-up.
    pub fn configure(mut self, f: impl FnOnce(&mut Settings) + Send + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// Runs no queue workers in the test process (jobs wait, or go to worker processes).
    pub fn without_workers(mut self) -> Self {
        self.workers = false;
        self
    }

    /// Starts against a PostgreSQL database without migrations.
    pub fn unmigrated(mut self) -> Self {
        self.empty_database = true;
        self
    }

    pub async fn spawn(self) -> TestApp {
        self.try_spawn().await.expect("app starts")
    }

    /// Like [`Self::spawn`], but returns a start-up failure instead of panicking.
    pub async fn try_spawn(self) -> anyhow::Result<TestApp> {
        crate::logs::capture();
        switchboard_core::telemetry::install_crypto_provider();
        let data_dir = tempfile::tempdir().unwrap();
        let pg = match self.backend {
            Backend::Postgres if self.empty_database => Some(PgTestDb::create_empty().await),
            Backend::Postgres => Some(PgTestDb::create().await),
            Backend::Sqlite => None,
        };
        let redis = pg.as_ref().map(|_| RedisPrefix::new());
        let mut settings = Settings {
            data_dir: data_dir.path().to_path_buf(),
            database_url: pg.as_ref().map(|db| Secret::new(db.url.clone())),
            redis_url: redis.as_ref().map(|_| Secret::new(crate::redis::url())),
            encryption_keys: Some(Vault::generate_key_entry("test1").unwrap()),
            jwt_secret: Some(Secret::new(format!("test-secret-{}", uuid::Uuid::new_v4()))),
            db_max_connections: 5,
            jobs: fast_jobs(redis.as_ref().map(|r| r.prefix.clone())),
            agent: fast_agent(),
            limits: fast_limits(),
            ..Settings::default()
        };
        for f in self.configure {
            f(&mut settings);
        }
        if redis.is_some() {
            crate::redis::require().await;
        }
        let overrides = Overrides {
            resolver: Some(Arc::new(crate::probe::test_resolver())),
            loopback_fuse: true,
        };
        let state = switchboard_api::startup::build_state(settings.clone(), overrides).await?;
        Ok(TestApp::start(state, settings, data_dir, pg, redis, self.workers).await)
    }
}

/// A running app. Dropping it shuts the server down and drops its database.
pub struct TestApp {
    pub base_url: String,
    pub state: AppState,
    pub settings: Settings,
    pub http: reqwest::Client,
    pub data_dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    /// The Redis prefix of this app's queues, keys and channels (distributed mode).
    pub redis: Option<RedisPrefix>,
    _pg: Option<PgTestDb>,
}

impl TestApp {
    pub fn builder(backend: Backend) -> TestAppBuilder {
        TestAppBuilder {
            backend,
            configure: Vec::new(),
            empty_database: false,
            workers: true,
        }
    }

    pub async fn spawn(backend: Backend) -> Self {
        Self::builder(backend).spawn().await
    }

    async fn start(
        state: AppState,
        settings: Settings,
        data_dir: TempDir,
        pg: Option<PgTestDb>,
        redis: Option<RedisPrefix>,
        workers: bool,
    ) -> Self {
        // Port 0, unless the test configured `listen` (e.g. to know its origin in advance).
        let configured = settings.listen != Settings::default().listen;
        let addr = if configured {
            settings.listen.to_string()
        } else {
            "127.0.0.1:0".to_owned()
        };
        let listener = TcpListener::bind(addr).await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let served = state.clone();
        let server = tokio::spawn(async move {
            switchboard_api::server::serve_with_workers(served, listener, workers, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            base_url,
            state,
            settings,
            http,
            data_dir,
            shutdown: Some(tx),
            server: Some(server),
            redis,
            _pg: pg,
        }
    }

    /// A bearer token for `user`, signed with the app's secret.
    pub fn token(&self, user: &str) -> String {
        // Without a configured secret, the one the server made in its data dir.
        let made = || switchboard_core::keys::jwt_secret(self.data_dir.path()).unwrap().value;
        let secret = self.settings.jwt_secret.clone().unwrap_or_else(made);
        mint_token(
            &secret,
            user,
            Duration::from_secs(3600),
            self.settings.jwt_issuer.as_deref(),
            self.settings.jwt_audience.as_deref(),
        )
        .unwrap()
    }

    /// Requests as `user`.
    pub fn user(&self, user: &str) -> UserClient<'_> {
        UserClient::new(self, Some(self.token(user)))
    }

    /// Requests without a token.
    pub fn anonymous(&self) -> UserClient<'_> {
        UserClient::new(self, None)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The Prometheus text of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Everything this app keeps outside its process, as text: in distributed
    /// mode its Redis keys (queues, events), in embedded mode every file of
    /// the data dir (the SQLite databases and their WAL files). For canaries.
    pub async fn stored_text(&self) -> String {
        match &self.redis {
            Some(redis) => crate::redis::dump(&redis.prefix).await,
            None => std::fs::read_dir(self.data_dir.path())
                .unwrap()
                .map(|entry| {
                    String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap_or_default()).into_owned()
                })
                .collect(),
        }
    }

    /// Runs SQL statements (`;`-separated) on this app's database, behind
    /// the service's back: for tests that set up what older versions left.
    pub async fn execute_sql(&self, sql: &str) {
        match &self.settings.database_url {
            Some(url) => {
                let pool = sqlx::PgPool::connect(url.expose()).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
                pool.close().await;
            }
            None => {
                let path = self.data_dir.path().join("switchboard.db");
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display()))
                    .await
                    .unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// The first column of each row `sql` returns, as text, read from this
    /// app's database behind the service's back.
    pub async fn query_strings(&self, sql: &str) -> Vec<String> {
        let rows: Vec<(String,)> = match &self.settings.database_url {
            Some(url) => {
                let pool = sqlx::PgPool::connect(url.expose()).await.unwrap();
                let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
            None => {
                let path = self.data_dir.path().join("switchboard.db");
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display()))
                    .await
                    .unwrap();
                let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
        };
        rows.into_iter().map(|(s,)| s).collect()
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").field("base_url", &self.base_url).finish()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
