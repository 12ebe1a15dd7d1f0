//! The `switchboard` command line.
//!
//! ```text
//! switchboard [serve]                      run the API (default)
//! switchboard migrate                      apply database migrations
//! switchboard token --user ID [--ttl 1h]   mint an HS256 bearer token
//! switchboard keys generate [--id ID]      print a new encryption key entry
//! switchboard keys rotate                  re-encrypt every secret under the first key
//! ```

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use switchboard_core::config::Settings;
use switchboard_core::services::{self, Overrides};
use switchboard_core::store::SqlStore;
use switchboard_core::vault::Vault;
use switchboard_core::{keys, rotation, telemetry};
use tokio::net::TcpListener;

use crate::auth::{DEFAULT_TOKEN_TTL, mint_token};
use crate::{server, startup};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Connect MCP servers and system tools to your agents"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server (the default). In embedded mode it also runs the workers.
    Serve {
        /// Do not run queue workers in this process (embedded mode).
        #[arg(long)]
        no_workers: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print a bearer token for a user, signed with the HS256 secret.
    Token {
        /// The user id (`sub` claim).
        #[arg(long)]
        user: String,
        /// Lifetime, e.g. `30m`, `1h`, `7d`.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "1h")]
        ttl: Duration,
    },
    /// Manage encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print a new random key as `id:base64`, to put first in SWITCHBOARD_ENCRYPTION_KEYS.
    Generate {
        #[arg(long)]
        id: Option<String>,
    },
    /// Re-encrypt every stored secret under the first configured key (idempotent).
    Rotate,
}

/// Parses arguments, loads settings and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("switchboard: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_tracing(settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("switchboard: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(
        cli.command.unwrap_or(Command::Serve { no_workers: false }),
        settings,
    )) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "switchboard failed");
            eprintln!("switchboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    telemetry::install_crypto_provider();
    match command {
        Command::Serve { no_workers } => {
            let listener = TcpListener::bind(settings.listen)
                .await
                .with_context(|| format!("Failed to bind SWITCHBOARD_LISTEN={}", settings.listen))?;
            let workers = settings.is_embedded() && !no_workers;
            let state = startup::build_state(settings, Overrides::default()).await?;
            server::serve_with_workers(state, listener, workers, server::shutdown_signal()).await?;
        }
        Command::Migrate => {
            let database = settings.database().map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
            let store = SqlStore::connect(&database, 1).await?;
            store.migrate().await?;
            println!("migrations applied");
        }
        Command::Token { user, ttl } => {
            let secret = match &settings.jwt_secret {
                Some(secret) => secret.clone(),
                None if settings.is_embedded() && settings.jwks_url.is_none() => {
                    keys::jwt_secret(&settings.data_dir)?.value
                }
                None => anyhow::bail!("no SWITCHBOARD_JWT_SECRET: tokens come from your identity provider (JWKS)"),
            };
            let ttl = if ttl.is_zero() { DEFAULT_TOKEN_TTL } else { ttl };
            let token = mint_token(
                &secret,
                &user,
                ttl,
                settings.jwt_issuer.as_deref(),
                settings.jwt_audience.as_deref(),
            )?;
            println!("{token}");
        }
        Command::Keys(KeysCommand::Generate { id }) => {
            let id = id.unwrap_or_else(|| format!("k{}", chrono::Utc::now().format("%Y%m%d%H%M")));
            println!("{}", Vault::generate_key_entry(&id)?.expose());
            eprintln!(
                "put this entry first in SWITCHBOARD_ENCRYPTION_KEYS (keep the old ones after it), then run `switchboard keys rotate`"
            );
        }
        Command::Keys(KeysCommand::Rotate) => {
            let vault =
                Vault::from_spec(&services::encryption_keys(&settings)?).context("SWITCHBOARD_ENCRYPTION_KEYS")?;
            let store = services::open_store(&settings).await?;
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
            if !report.failed.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
