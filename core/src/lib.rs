//! # switchboard-core
//!
//! What the API, the workers and the system-tool plugins share.
//!
//! # Layout
//! - [`config`]: typed settings (defaults → `switchboard.toml` → env) and the run mode.
//! - [`secret`]: [`secret::Secret`], a string that never prints.
//! - [`vault`]: AES-256-GCM sealing of credentials, bound to (field, owner, row).
//! - [`domain`]: parsed, always-valid values (connector names, server URLs, auth, headers).
//! - [`egress`]: the SSRF guard and the outbound HTTP stack (deadlines, caps, redirects).
//! - [`binding`]: which secret may be sent where (the one rule every path applies).
//! - [`store`]: the storage traits and their SQL implementation for PostgreSQL and SQLite.
//! - [`connector_secrets`]: sealing/opening a connector's credentials and headers.
//! - [`approvals`]: allow / ask / block per tool, and the approvals a person gives.
//! - [`audit`]: the audit log of security-relevant changes.
//! - [`rotation`]: re-sealing every stored secret under the first key.
//! - [`mcp`]: the MCP client (connection tests) and its error codes.
//! - [`oauth`]: OAuth for MCP servers and Google: flows, grants, refresh.
//! - [`sse`]: a bounded Server-Sent Events parser.
//! - [`jobs`], [`queue`]: job kinds and the apalis queues (Redis or SQLite).
//! - [`runs`]: the client-facing record of every job, and launching one.
//! - [`events`]: run event logs and their live fan-out (memory or Redis).
//! - [`services`]: everything above, built once from the settings.
//! - [`ratelimit`]: per-user fixed-window limits.
//! - [`keys`]: first-start generation of the embedded-mode key and JWT secret.
//! - [`telemetry`]: tracing subscriber, Prometheus recorder and the rustls provider.
#![forbid(unsafe_code)]

pub mod approvals;
pub mod audit;
pub mod binding;
pub mod catalog;
pub mod config;
pub mod connector_secrets;
pub mod domain;
pub mod egress;
pub mod events;
pub mod jobs;
pub mod keys;
pub mod llm;
pub mod mcp;
pub mod oauth;
pub mod queue;
pub mod ratelimit;
pub mod rotation;
pub mod runs;
pub mod secret;
pub mod services;
pub mod sse;
pub mod store;
pub mod telemetry;
pub mod vault;

pub use secret::Secret;
