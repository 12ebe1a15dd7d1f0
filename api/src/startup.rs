//! From settings to a running service: pick the mode, find or generate the
//! secrets, connect and migrate the database, build the shared state.
//!
//! - Embedded (SQLite): migrations run automatically; the encryption key and
//!   JWT secret are read from the environment or generated once into the data
//!   dir (mode 0600).
//! - Distributed (PostgreSQL): `switchboard migrate` applies migrations; the
//!   key and the JWT configuration must come from the environment.

use std::sync::Arc;

use anyhow::Context as _;
use switchboard_core::Secret;
use switchboard_core::config::{Database, Settings};
use switchboard_core::store::SqlStore;
use switchboard_core::vault::Vault;
use switchboard_core::{keys, telemetry};

use crate::auth::Authenticator;
use crate::state::AppState;

/// Secrets the service needs, wherever they came from.
#[derive(Debug)]
pub struct ServiceSecrets {
    pub encryption_keys: Secret,
    pub jwt_secret: Option<Secret>,
}

/// Finds the secrets for these settings; in embedded mode, generates missing ones.
pub fn secrets(settings: &Settings) -> anyhow::Result<ServiceSecrets> {
    if settings.is_embedded() {
        let encryption_keys = match &settings.encryption_keys {
            Some(keys) => keys.clone(),
            None => announce(
                keys::encryption_keys(&settings.data_dir)?,
                "encryption key",
                "back it up: stored credentials cannot be decrypted without it",
            ),
        };
        let jwt_secret = match (&settings.jwt_secret, &settings.jwks_url) {
            (Some(secret), _) => Some(secret.clone()),
            (None, Some(_)) => None,
            (None, None) => Some(announce(
                keys::jwt_secret(&settings.data_dir)?,
                "JWT signing secret",
                "mint a token with `cargo run -- token --user <you>`",
            )),
        };
        return Ok(ServiceSecrets {
            encryption_keys,
            jwt_secret,
        });
    }
    let encryption_keys = settings.encryption_keys.clone().context(
        "SWITCHBOARD_ENCRYPTION_KEYS is required with PostgreSQL: generate a key with `switchboard keys generate` \
         and set SWITCHBOARD_ENCRYPTION_KEYS=<id:base64>",
    )?;
    anyhow::ensure!(
        settings.jwt_secret.is_some() || settings.jwks_url.is_some(),
        "SWITCHBOARD_JWT_SECRET or SWITCHBOARD_JWKS_URL is required with PostgreSQL: tokens must be verifiable"
    );
    Ok(ServiceSecrets {
        encryption_keys,
        jwt_secret: settings.jwt_secret.clone(),
    })
}

fn announce(secret: keys::FileSecret, what: &str, hint: &str) -> Secret {
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
        Database::Sqlite(path) => {
            store.migrate().await?;
            tracing::info!(path = %path.display(), "embedded mode: SQLite database ready");
        }
        Database::Postgres(_) => {
            anyhow::ensure!(
                store.is_migrated().await,
                "the PostgreSQL database is not migrated: run `switchboard migrate` first"
            );
            tracing::info!("distributed mode: PostgreSQL database ready");
        }
    }
    Ok(store)
}

/// Everything a server needs, built from settings.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    telemetry::install_crypto_provider();
    let secrets = secrets(&settings)?;
    let vault = Vault::from_spec(&secrets.encryption_keys).context("SWITCHBOARD_ENCRYPTION_KEYS")?;
    let auth = Authenticator::new(
        secrets.jwt_secret.as_ref(),
        settings.jwks_url.clone(),
        settings.jwt_issuer.clone(),
        settings.jwt_audience.clone(),
    )?;
    let store = open_store(&settings).await?;
    Ok(AppState {
        settings: Arc::new(settings),
        store: Arc::new(store),
        vault: Arc::new(vault),
        auth: Arc::new(auth),
        tools: switchboard_plugins::registry(),
        metrics: telemetry::metrics_handle(),
    })
}
