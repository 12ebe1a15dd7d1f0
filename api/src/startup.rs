//! From settings to a running API: the shared [`Services`] plus the bearer
//! token verifier and the API's rate limits.
//!
//! - Embedded (SQLite): migrations run automatically; the encryption key and
//!   JWT secret come from the environment or are generated once into the data
//!   dir (mode 0600); workers run in this process.
//! - Distributed (PostgreSQL + Redis): `switchboard migrate` applies
//!   migrations; the key and the JWT configuration must come from the
//!   environment; workers are `switchboard-worker` processes.

use std::sync::Arc;

use switchboard_core::Secret;
use switchboard_core::config::Settings;
use switchboard_core::keys;
use switchboard_core::queue::QueueBackend;
use switchboard_core::ratelimit::RateLimiter;
use switchboard_core::services::{Overrides, Services, announce};
use switchboard_core::telemetry;
use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;
use crate::state::AppState;

/// The HS256 secret: configured, generated (embedded mode without JWKS), or none.
pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Option<Secret>> {
    match (&settings.jwt_secret, &settings.jwks_url) {
        (Some(secret), _) => Ok(Some(secret.clone())),
        (None, Some(_)) => Ok(None),
        (None, None) => {
            anyhow::ensure!(
                settings.is_embedded(),
                "SWITCHBOARD_JWT_SECRET or SWITCHBOARD_JWKS_URL is required with PostgreSQL: tokens must be verifiable"
            );
            let secret = keys::jwt_secret(&settings.data_dir)?;
            Ok(Some(announce(
                secret,
                "JWT signing secret",
                "mint a token with `cargo run -- token --user <you>`",
            )))
        }
    }
}

/// Everything a server needs, built from settings.
pub async fn build_state(settings: Settings, overrides: Overrides) -> anyhow::Result<AppState> {
    telemetry::install_crypto_provider();
    let jwt = jwt_secret(&settings)?;
    let server_made = settings.jwt_secret.is_none() && settings.jwks_url.is_none();
    let dev_sign_in = jwt
        .clone()
        .filter(|_| server_made && settings.listen.ip().is_loopback());
    let auth = Authenticator::new(
        jwt.as_ref(),
        settings.jwks_url.clone(),
        settings.jwt_issuer.clone(),
        settings.jwt_audience.clone(),
    )?;
    let services = Services::build(settings, overrides).await?;
    let limiter = |name, per_minute| match &services.queue {
        QueueBackend::Redis(q) => RateLimiter::redis(name, per_minute, q.connection(), &q.settings().prefix),
        QueueBackend::Sqlite(_) => RateLimiter::in_memory(name, per_minute),
    };
    let test_limiter = limiter("tests", services.settings.jobs.test_rate_limit);
    let invoke_limiter = limiter("invocations", services.settings.agent.invoke_rate_limit);
    let authorize_limiter = limiter("authorizations", services.settings.agent.authorize_rate_limit);
    let limits = services.settings.limits.clone();
    Ok(AppState {
        answered_hosts: Arc::new(services.settings.answered_hosts()),
        streams: crate::slots::UserSlots::new(limits.streams),
        gateway_sessions: crate::slots::UserSlots::new(limits.gateway_sessions),
        services,
        auth: Arc::new(auth),
        tools: switchboard_plugins::registry(),
        metrics: telemetry::metrics_handle(),
        test_limiter: Arc::new(test_limiter),
        invoke_limiter: Arc::new(invoke_limiter),
        authorize_limiter: Arc::new(authorize_limiter),
        shutdown: CancellationToken::new(),
        dev_sign_in,
    })
}
