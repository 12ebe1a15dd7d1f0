//! Typed settings: defaults in code, then an optional `switchboard.toml`, then
//! environment variables (`SWITCHBOARD_…`, `DATABASE_URL`, `REDIS_URL`).
//!
//! Every setting has one name, its environment variable; the TOML key is that
//! name without the `SWITCHBOARD_` prefix, lowercased (`listen`, `data_dir`,
//! `database_url`). A value that does not parse stops start-up with an error
//! naming the setting and where the value came from. Secrets are [`Secret`]s.

mod agent;
mod google;
mod jobs;
mod limits;
mod sources;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use url::Url;

use crate::secret::Secret;
pub use agent::AgentSettings;
pub use google::GoogleSettings;
pub use jobs::JobSettings;
pub use limits::UserLimits;
pub use sources::{ConfigError, Sources};

/// Default number of connectors a user may keep.
pub const DEFAULT_MAX_CONNECTORS: u32 = 10;

/// Everything the binaries read at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `SWITCHBOARD_LISTEN`: address the API binds.
    pub listen: SocketAddr,
    /// `SWITCHBOARD_DATA_DIR`: SQLite files and generated secrets (embedded mode).
    pub data_dir: PathBuf,
    /// `DATABASE_URL`: `postgres://…` for distributed mode, `sqlite:PATH` or unset for embedded.
    pub database_url: Option<Secret>,
    /// `REDIS_URL`: the job queue and event bus in distributed mode.
    pub redis_url: Option<Secret>,
    /// `SWITCHBOARD_ENCRYPTION_KEYS`: `id:base64,…`; the first key encrypts.
    pub encryption_keys: Option<Secret>,
    /// `SWITCHBOARD_JWT_SECRET`: HS256 secret for bearer tokens (at least 32 bytes).
    pub jwt_secret: Option<Secret>,
    /// `SWITCHBOARD_JWKS_URL`: JWKS document for RS256/ES256 bearer tokens.
    pub jwks_url: Option<Url>,
    /// `SWITCHBOARD_JWT_ISSUER`: required `iss` claim, when set.
    pub jwt_issuer: Option<String>,
    /// `SWITCHBOARD_JWT_AUDIENCE`: required `aud` claim, when set.
    pub jwt_audience: Option<String>,
    /// `SWITCHBOARD_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `SWITCHBOARD_MAX_CONNECTORS`: connectors per user (default 10).
    pub max_connectors: u32,
    /// `SWITCHBOARD_DB_MAX_CONNECTIONS`: database pool size (default: 2 × CPU cores; on a
    /// small machine more connections only add context switches).
    pub db_max_connections: u32,
    /// Queues, workers, tests, health checks, events and egress.
    pub jobs: JobSettings,
    /// Invocations, the agent's model, the gateway, system tools' upstreams.
    pub agent: AgentSettings,
    /// Per-user caps, run leases and the reconciler.
    pub limits: UserLimits,
    /// Google sign-in (the Gmail system tool).
    pub google: GoogleSettings,
    /// `SWITCHBOARD_UI_TOKEN_ORIGINS`: origins (`https://app.example.com`, comma-separated)
    /// whose pages may hand the web UI a token with `postMessage` (default: none).
    pub ui_token_origins: Vec<String>,
    /// `SWITCHBOARD_UI_FRAME_ANCESTORS`: origins (comma-separated) whose pages may show the
    /// web UI in a frame (`frame-ancestors`; default: none, the page is never framed). The page
    /// sends such a parent its height and change notices by `postMessage`.
    pub ui_frame_ancestors: Vec<String>,
    /// `SWITCHBOARD_ALLOWED_HOSTS`: more host names the browser-facing API answers to (comma-separated,
    /// e.g. behind a reverse proxy); `SWITCHBOARD_PUBLIC_URL`'s host and the listen address always are.
    pub allowed_hosts: Vec<String>,
    /// `SWITCHBOARD_METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <it>`.
    pub metrics_token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected `text` or `json`".into()),
        }
    }
}

fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

/// The two supported ways to run.
#[derive(Debug, Clone)]
pub enum Mode {
    /// SQLite store, SQLite queue, in-process workers.
    Embedded { db: PathBuf, queue: PathBuf },
    /// PostgreSQL store, Redis queues and events, worker processes.
    Distributed { db: Secret, redis: Secret },
}

/// Which database the settings select.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(Secret),
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            encryption_keys: None,
            jwt_secret: None,
            jwks_url: None,
            jwt_issuer: None,
            jwt_audience: None,
            log_format: LogFormat::Text,
            max_connectors: DEFAULT_MAX_CONNECTORS,
            db_max_connections: default_pool_size(),
            jobs: JobSettings::default(),
            agent: AgentSettings::default(),
            limits: UserLimits::default(),
            google: GoogleSettings::default(),
            ui_token_origins: Vec::new(),
            ui_frame_ancestors: Vec::new(),
            allowed_hosts: Vec::new(),
            metrics_token: None,
        }
    }
}

impl Settings {
    /// Loads `switchboard.toml` (or `SWITCHBOARD_CONFIG`) and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_sources(&Sources::from_process()?)
    }

    pub fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let d = Self::default();
        let settings = Self {
            listen: src.parse_or("SWITCHBOARD_LISTEN", d.listen)?,
            data_dir: src.parse_or("SWITCHBOARD_DATA_DIR", d.data_dir)?,
            database_url: src.secret("DATABASE_URL"),
            redis_url: src.secret("REDIS_URL"),
            encryption_keys: src.secret("SWITCHBOARD_ENCRYPTION_KEYS"),
            jwt_secret: src.secret("SWITCHBOARD_JWT_SECRET"),
            jwks_url: src.parse("SWITCHBOARD_JWKS_URL")?,
            jwt_issuer: src.parse("SWITCHBOARD_JWT_ISSUER")?,
            jwt_audience: src.parse("SWITCHBOARD_JWT_AUDIENCE")?,
            log_format: src.parse_or("SWITCHBOARD_LOG_FORMAT", d.log_format)?,
            max_connectors: src.parse_or("SWITCHBOARD_MAX_CONNECTORS", d.max_connectors)?,
            db_max_connections: src.parse_or("SWITCHBOARD_DB_MAX_CONNECTIONS", d.db_max_connections)?,
            jobs: JobSettings::from_sources(src)?,
            agent: AgentSettings::from_sources(src)?,
            limits: UserLimits::from_sources(src)?,
            google: GoogleSettings::from_sources(src)?,
            ui_token_origins: origins(src, "SWITCHBOARD_UI_TOKEN_ORIGINS")?,
            ui_frame_ancestors: origins(src, "SWITCHBOARD_UI_FRAME_ANCESTORS")?,
            allowed_hosts: src
                .parse::<String>("SWITCHBOARD_ALLOWED_HOSTS")?
                .map(|raw| {
                    raw.split(',')
                        .map(|h| {
                            h.trim()
                                .trim_start_matches('[')
                                .trim_end_matches(']')
                                .to_ascii_lowercase()
                        })
                        .filter(|h| !h.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            metrics_token: src.secret("SWITCHBOARD_METRICS_TOKEN"),
        };
        src.check(
            "SWITCHBOARD_MAX_CONNECTORS",
            settings.max_connectors >= 1,
            "must be at least 1",
        )?;
        src.check(
            "SWITCHBOARD_DB_MAX_CONNECTIONS",
            settings.db_max_connections >= 1,
            "must be at least 1",
        )?;
        if let Some(secret) = &settings.jwt_secret {
            src.check(
                "SWITCHBOARD_JWT_SECRET",
                secret.expose().len() >= 32,
                "must be at least 32 bytes",
            )?;
        }
        settings.database().map_err(|msg| src.invalid("DATABASE_URL", msg))?;
        settings.mode().map_err(|msg| src.invalid("REDIS_URL", msg))?;
        src.reject_unknown_file_keys()?;
        Ok(settings)
    }

    /// The database these settings select; SQLite under the data dir by default.
    pub fn database(&self) -> Result<Database, String> {
        let Some(url) = &self.database_url else {
            return Ok(Database::Sqlite(self.data_dir.join("switchboard.db")));
        };
        let url = url.expose();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres(Secret::new(url)))
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("a sqlite URL needs a file path, e.g. sqlite:./data/switchboard.db".into());
            }
            Ok(Database::Sqlite(Path::new(path).to_path_buf()))
        } else {
            Err("expected a postgres:// or sqlite: URL".into())
        }
    }

    /// The longest a queued tool call may take end to end: opening a session,
    /// two attempts and the delay between them, plus slack for the queue. Callers
    /// that wait for a call (the MCP gateway, agent turns) wait this long.
    pub fn call_budget(&self) -> std::time::Duration {
        self.agent.invoke_timeout * 2
            + self.agent.retry_delay
            + self.jobs.test_budget * 2
            + std::time::Duration::from_secs(5)
    }

    /// Whether these settings select embedded mode (SQLite, in-process workers).
    pub fn is_embedded(&self) -> bool {
        matches!(self.database(), Ok(Database::Sqlite(_)))
    }

    /// The supported combinations: SQLite with the SQLite queue (embedded), or
    /// PostgreSQL with Redis (distributed). Any other mix is refused.
    pub fn mode(&self) -> Result<Mode, String> {
        match (self.database()?, &self.redis_url) {
            (Database::Sqlite(db), None) => {
                let queue = self.jobs.queue_path.clone().unwrap_or_else(|| self.data_dir.join("queue.db"));
                Ok(Mode::Embedded { db, queue })
            }
            (Database::Postgres(db), Some(redis)) => Ok(Mode::Distributed { db, redis: redis.clone() }),
            (Database::Postgres(_), None) => {
                Err("PostgreSQL needs Redis for its queues: set REDIS_URL (or unset DATABASE_URL for embedded mode)".into())
            }
            (Database::Sqlite(_), Some(_)) => Err(
                "REDIS_URL is set but DATABASE_URL is not PostgreSQL: distributed mode needs both; embedded mode needs neither".into(),
            ),
        }
    }

    /// What the egress guard allows: the configured list, or the mode's default
    /// (loopback in embedded mode, nothing in distributed mode).
    pub fn egress_allow(&self) -> crate::egress::AllowList {
        match &self.jobs.egress_allow {
            Some(list) => list.clone(),
            None if self.loopback_egress_by_default() => crate::egress::AllowList::loopback(),
            None => crate::egress::AllowList::default(),
        }
    }

    /// The host names the browser-facing API answers to (lowercase, no port):
    /// `SWITCHBOARD_PUBLIC_URL`'s host, the listen address, the loopback names
    /// when listening on loopback or on every interface, and
    /// `SWITCHBOARD_ALLOWED_HOSTS`. Anything else is refused, so a page on a
    /// rebound DNS name cannot use the API.
    pub fn answered_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .agent
            .public_url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase())
            .into_iter()
            .collect();
        let ip = self.listen.ip();
        if !ip.is_unspecified() {
            hosts.push(ip.to_string());
        }
        if ip.is_loopback() || ip.is_unspecified() {
            hosts.extend(["localhost", "127.0.0.1", "::1"].map(str::to_owned));
        }
        hosts.extend(self.allowed_hosts.iter().cloned());
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// Loopback servers are reachable by default only in embedded mode on a
    /// loopback listener: a developer trying a server on their own machine.
    /// An API other machines can reach must not reach this machine's services.
    pub fn loopback_egress_by_default(&self) -> bool {
        self.is_embedded() && self.listen.ip().is_loopback()
    }
}

#[cfg(test)]
mod tests;

/// A comma-separated list of web origins (`scheme://host[:port]`, nothing more).
fn origins(src: &Sources, name: &str) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = src.parse::<String>(name)? else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|value| {
            // Plain host names only: these go into a CSP source list and are compared exactly.
            let plain = |u: &Url| {
                u.host_str().is_some_and(|h| {
                    h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'))
                })
            };
            let origin = Url::parse(value)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && plain(u))
                .map(|u| u.origin().ascii_serialization());
            match origin {
                Some(origin) if origin == value.trim_end_matches('/') => Ok(origin),
                _ => Err(src.invalid(name, format!("`{value}` is not an origin like https://app.example.com"))),
            }
        })
        .collect()
}
