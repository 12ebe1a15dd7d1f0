//! The `switchboard` command line.
//!
//! ```text
//! switchboard [serve] [--no-workers]        run the API (embedded mode: and the workers)
//! switchboard migrate                       apply database migrations
//! switchboard token --user ID [--ttl 1h]    mint an HS256 bearer token
//! switchboard keys generate [--id ID]       print a new encryption key entry
//! switchboard keys rotate                   re-encrypt every secret under the first key
//! switchboard mcp probe URL                 test a connection from the command line
//! switchboard mcp conformance-client URL    the MCP conformance suite's client command
//! ```

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use switchboard_core::config::Settings;
use switchboard_core::services::Overrides;
use switchboard_core::store::SqlStore;
use switchboard_core::telemetry;
use tokio::net::TcpListener;

use crate::commands::{conformance, keys, mcp};
use crate::{server, startup};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Connect MCP servers and system tools to your agents"
)]
// No `Debug`: the arguments may hold a bearer token or header values.
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

impl std::fmt::Debug for Cli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cli").finish_non_exhaustive()
    }
}

#[derive(Subcommand)]
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
    /// Talk to an MCP server directly.
    #[command(subcommand)]
    Mcp(McpCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new random key as `id:base64`, to put first in SWITCHBOARD_ENCRYPTION_KEYS.
    Generate {
        #[arg(long)]
        id: Option<String>,
    },
    /// Re-encrypt every stored secret under the first configured key (idempotent).
    Rotate,
}

#[derive(Subcommand)]
enum McpCommand {
    /// Run a connection test and print the report as JSON (exit 1 when it fails).
    Probe {
        url: String,
        /// Bearer token to send.
        #[arg(long)]
        bearer: Option<String>,
        /// Extra header, `NAME=VALUE` (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// Time the whole test may take.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
        budget: Duration,
    },
    /// Client command for the official MCP conformance suite.
    ConformanceClient { url: String },
}

/// Parses arguments, loads settings and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generating a key needs no configuration (it is how the configuration starts).
    if let Some(Command::Keys(KeysCommand::Generate { id })) = cli.command {
        return keys::generate(id).unwrap_or_else(|e| {
            eprintln!("switchboard: {e:#}");
            ExitCode::FAILURE
        });
    }
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
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let database = settings.database().map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
            SqlStore::connect(&database, 1).await?.migrate().await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { user, ttl } => keys::token(&settings, &user, ttl),
        Command::Keys(KeysCommand::Generate { id }) => keys::generate(id),
        Command::Keys(KeysCommand::Rotate) => keys::rotate(&settings).await,
        Command::Mcp(McpCommand::Probe {
            url,
            bearer,
            headers,
            budget,
        }) => mcp::probe(&settings, &url, bearer, &headers, budget).await,
        Command::Mcp(McpCommand::ConformanceClient { url }) => conformance::run(&settings, &url).await,
    }
}
