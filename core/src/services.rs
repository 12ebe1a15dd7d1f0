//! Everything the API and the workers share at run time, built once from the
//! settings: store, vault, MCP client (with its egress guard), event bus and
//! job queue. Embedded mode: SQLite, the SQLite queue and an in-process bus;
//! distributed mode: PostgreSQL, Redis queues and the Redis bus.

use std::sync::Arc;

use anyhow::Context as _;

use crate::binding::{Reach, grant_applies};
use crate::config::{Mode, Settings};
use crate::domain::Credentials;
use crate::egress::http::EgressHttp;
use crate::egress::{EgressGuard, EgressPolicy, NameResolver, SystemResolver};
use crate::events::{DynEventBus, MemoryBus, RedisBus};
use crate::keys;
use crate::mcp::McpClient;
use crate::oauth::{OAuthService, OAuthTarget, TokenError};
use crate::queue::{QueueBackend, QueueSettings, RedisQueue, SqliteQueue};
use crate::runs::wait::RunWaits;
use crate::secret::Secret;
use crate::store::{SqlStore, Store};
use crate::vault::Vault;

/// Replacements for tests, injected in code (never from the environment).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// Resolve names from a table instead of DNS.
    pub resolver: Option<Arc<dyn NameResolver>>,
    /// Refuse every non-loopback address whatever the allow-list says.
    pub loopback_fuse: bool,
}

#[derive(Clone)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub vault: Arc<Vault>,
    pub mcp: McpClient,
    /// The client for upstreams the operator configured (model API, Gmail):
    /// no egress guard; use it through [`crate::egress::http`]'s helpers.
    pub operator_http: reqwest::Client,
    pub oauth: OAuthService,
    pub events: DynEventBus,
    pub queue: QueueBackend,
    /// The runs this process waits on, with one shared safety-net read.
    pub waits: RunWaits,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("backend", &self.store.backend())
            .field("queue", &self.queue)
            .finish()
    }
}

impl Services {
    pub async fn build(settings: Settings, overrides: Overrides) -> anyhow::Result<Self> {
        crate::telemetry::install_crypto_provider();
        let mode = settings.mode().map_err(|e| anyhow::anyhow!(e))?;
        let vault = Vault::from_spec(&encryption_keys(&settings)?).context("SWITCHBOARD_ENCRYPTION_KEYS")?;
        let store = open_store(&settings).await?;
        let queue_settings = QueueSettings {
            prefix: settings.jobs.redis_prefix.clone(),
            heartbeat: settings.jobs.heartbeat,
            missed_heartbeats: settings.jobs.missed_heartbeats,
            poll_interval: settings.jobs.poll_interval,
            batch_size: settings.jobs.batch_size,
        };
        let retention = settings
            .jobs
            .run_retention
            .min(std::time::Duration::from_secs(24 * 3600));
        let (queue, events): (QueueBackend, DynEventBus) = match &mode {
            Mode::Embedded { queue, .. } => (
                QueueBackend::Sqlite(SqliteQueue::open(queue, queue_settings).await?),
                Arc::new(MemoryBus::new(settings.jobs.event_log_ttl)),
            ),
            Mode::Distributed { redis, .. } => {
                let queue = RedisQueue::connect(redis, queue_settings, settings.jobs.redis_timeout).await?;
                let bus = RedisBus::start(
                    queue.client().clone(),
                    queue.connection(),
                    &settings.jobs.redis_prefix,
                    retention,
                    settings.jobs.event_log_ttl,
                )
                .await?;
                (QueueBackend::Redis(queue), Arc::new(bus))
            }
        };
        let allow = settings.egress_allow();
        tracing::info!(allow = %allow, "egress guard: private destinations allowed only if listed");
        if settings.is_embedded() && settings.jobs.egress_allow.is_none() && !settings.loopback_egress_by_default() {
            tracing::warn!(listen = %settings.listen,
                "the API listens beyond loopback, so servers on this machine are not reachable by default; \
                 set SWITCHBOARD_EGRESS_ALLOW to allow them");
        }
        let policy = EgressPolicy {
            allow,
            loopback_fuse: overrides.loopback_fuse,
        };
        let resolver = overrides.resolver.unwrap_or_else(|| Arc::new(SystemResolver));
        let limits = settings.jobs.mcp;
        let http = EgressHttp::new(EgressGuard::new(policy, resolver))?;
        let mcp = McpClient::new(http.clone(), limits);
        let store: Arc<dyn Store> = Arc::new(store);
        let vault = Arc::new(vault);
        let oauth = OAuthService::new(&settings, store.clone(), vault.clone(), http);
        Ok(Self {
            settings: Arc::new(settings),
            store,
            vault,
            mcp,
            operator_http: crate::egress::http::operator_client()?,
            oauth,
            events,
            queue,
            waits: RunWaits::default(),
        })
    }
}

impl Services {
    /// The credentials for a request to `url` of the connector saved at
    /// `saved_url`: for OAuth, the access token of its grant (refreshed when
    /// stale) — but only when `url` is the resource the grant was issued for
    /// ([`crate::binding`]). Otherwise, or without a grant, the credentials are
    /// used as they are (a pasted token, or nothing, so that the server answers
    /// `AUTH_REQUIRED`).
    pub async fn usable_credentials(
        &self,
        owner: &str,
        connector_id: uuid::Uuid,
        saved_url: &str,
        url: &str,
        credentials: Credentials,
    ) -> Result<Credentials, TokenError> {
        let Credentials::Oauth(mut config) = credentials else {
            return Ok(credentials);
        };
        if !Reach::of_text(url, saved_url).allows_access_token() {
            return Ok(Credentials::Oauth(config));
        }
        match self
            .oauth
            .access_token(owner, OAuthTarget::Connector(connector_id))
            .await
        {
            Ok(granted) if grant_applies(url, saved_url, &granted.resource) => {
                config.access_token = Some(granted.token)
            }
            Ok(_) => {
                tracing::warn!(%connector_id, "an OAuth grant issued for another resource was not sent");
            }
            Err(TokenError::NeedsAuthorization(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(Credentials::Oauth(config))
    }
}

/// The encryption keys: from the environment, or (embedded mode only)
/// generated once into the data dir.
pub fn encryption_keys(settings: &Settings) -> anyhow::Result<Secret> {
    if let Some(keys) = &settings.encryption_keys {
        return Ok(keys.clone());
    }
    anyhow::ensure!(
        settings.is_embedded(),
        "SWITCHBOARD_ENCRYPTION_KEYS is required with PostgreSQL: generate a key with `switchboard keys generate` \
         and set SWITCHBOARD_ENCRYPTION_KEYS=<id:base64>"
    );
    Ok(announce(
        keys::encryption_keys(&settings.data_dir)?,
        "encryption key",
        "back it up: stored credentials cannot be decrypted without it",
    ))
}

/// Logs where a data-dir secret is, loudly when it was just generated.
pub fn announce(secret: keys::FileSecret, what: &str, hint: &str) -> Secret {
    if secret.generated {
        tracing::warn!(path = %secret.path.display(), "generated a new {what} at {} (mode 0600); {hint}", secret.path.display());
    } else {
        tracing::info!(path = %secret.path.display(), "using the {what} in {}", secret.path.display());
    }
    secret.value
}

/// Connects the database; in embedded mode migrates it, otherwise checks it is migrated.
pub async fn open_store(settings: &Settings) -> anyhow::Result<SqlStore> {
    let database = settings.database().map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    let store = SqlStore::connect(&database, settings.db_max_connections).await?;
    match database {
        crate::config::Database::Sqlite(path) => {
            store.migrate().await?;
            tracing::info!(path = %path.display(), "embedded mode: SQLite database ready");
        }
        crate::config::Database::Postgres(_) => {
            anyhow::ensure!(
                store.is_migrated().await,
                "the PostgreSQL database is not migrated: run `switchboard migrate` first"
            );
            tracing::info!("distributed mode: PostgreSQL database ready");
        }
    }
    Ok(store)
}
