//! # switchboard-core
//!
//! What the API, the workers and the system-tool plugins share.
//!
//! # Layout
//! - [`config`]: typed settings (defaults → `switchboard.toml` → env) and the run mode.
//! - [`secret`]: [`secret::Secret`], a string that never prints.
//! - [`vault`]: AES-256-GCM sealing of credentials, bound to (field, owner, row).
//! - [`domain`]: parsed, always-valid values (connector names, server URLs, auth, headers).
//! - [`store`]: the storage traits and their SQL implementation for PostgreSQL and SQLite.
//! - [`keys`]: first-start generation of the embedded-mode key and JWT secret.
//! - [`telemetry`]: tracing subscriber, Prometheus recorder and the rustls provider.
#![forbid(unsafe_code)]

pub mod config;
pub mod domain;
pub mod keys;
pub mod secret;
pub mod store;
pub mod telemetry;
pub mod vault;

pub use secret::Secret;
