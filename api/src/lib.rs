//! # switchboard-api
//!
//! The HTTP API and the `switchboard` binary (`serve`, `migrate`, `token`, `keys`).
//!
//! # Layout
//! - [`cli`]: command-line parsing; [`commands`]: `token`, `keys`, `mcp`.
//! - [`startup`]: settings → secrets, database, shared state.
//! - [`server`]: [`serve`] runs the app on a bound listener until a shutdown future resolves.
//! - [`routes`]: one module per resource, assembled by [`app`]; among them the
//!   MCP gateway `/mcp` and the per-connector proxy `/mcp/connectors/{id}`.
//! - [`auth`]: bearer-token verification (HS256, JWKS) and minting.
//! - [`error`] / [`extract`]: the API's error policy and JSON extractors.
//! - [`paging`]: cursor paging of lists (runs, approvals, the audit log).
//! - [`hosts`]: the `Host` names the browser-facing API answers to.
//! - [`runs`]: run views, `Prefer: wait`, and waiting for a run to end.
//! - [`oplog`]: one structured log event per operation.
//! - [`slots`]: per-user caps on open event streams and MCP sessions.
//! - [`state`]: [`AppState`], shared by the handlers.
//! - [`ui`]: the web UI (embedded HTML, CSS and JS) and dev sign-in.
#![forbid(unsafe_code)]

pub mod auth;
pub mod cli;
pub mod commands;
pub mod error;
pub mod extract;
pub mod hosts;
pub mod oplog;
pub mod paging;
pub mod routes;
pub mod runs;
pub mod server;
pub mod slots;
pub mod startup;
pub mod state;
pub mod ui;

pub use routes::app;
pub use server::serve;
pub use state::AppState;
