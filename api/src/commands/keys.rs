//! `switchboard token`, `switchboard keys generate` and `switchboard keys rotate`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use switchboard_core::config::Settings;
use switchboard_core::vault::Vault;
use switchboard_core::{keys, rotation, services};

use crate::auth::{DEFAULT_TOKEN_TTL, mint_token};

/// Prints an HS256 token for `user`.
pub fn token(settings: &Settings, user: &str, ttl: Duration) -> anyhow::Result<ExitCode> {
    let secret = match &settings.jwt_secret {
        Some(secret) => secret.clone(),
        None if settings.is_embedded() && settings.jwks_url.is_none() => keys::jwt_secret(&settings.data_dir)?.value,
        None => anyhow::bail!("no SWITCHBOARD_JWT_SECRET: tokens come from your identity provider (JWKS)"),
    };
    let ttl = if ttl.is_zero() { DEFAULT_TOKEN_TTL } else { ttl };
    println!(
        "{}",
        mint_token(
            &secret,
            user,
            ttl,
            settings.jwt_issuer.as_deref(),
            settings.jwt_audience.as_deref()
        )?
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints a new key entry `id:base64`.
pub fn generate(id: Option<String>) -> anyhow::Result<ExitCode> {
    let id = id.unwrap_or_else(|| format!("k{}", chrono::Utc::now().format("%Y%m%d%H%M")));
    println!("{}", Vault::generate_key_entry(&id)?.expose());
    eprintln!(
        "put this entry first in SWITCHBOARD_ENCRYPTION_KEYS (keep the old ones after it), then run `switchboard keys rotate`"
    );
    Ok(ExitCode::SUCCESS)
}

/// Re-seals every stored secret under the first key.
pub async fn rotate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let vault = Vault::from_spec(&services::encryption_keys(settings)?).context("SWITCHBOARD_ENCRYPTION_KEYS")?;
    let store = services::open_store(settings).await?;
    let report = rotation::rotate_all(&store, &vault).await?;
    println!(
        "rotated {} secret(s) to key `{}`; {} already current; {} changed concurrently",
        report.rotated,
        vault.primary_key_id(),
        report.current,
        report.raced
    );
    for (field, row, reason) in &report.failed {
        eprintln!("could not re-encrypt {field} of {row}: {reason}");
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
