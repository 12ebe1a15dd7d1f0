//! # switchboard-tests
//!
//! Harness and fixtures for the end-to-end tests in `e2e/` (one test binary).
//!
//! # Layout
//! - [`app`]: [`TestApp`], the real service on port 0 against SQLite or PostgreSQL.
//! - [`postgres`]: a fresh database per test, cloned from a migrated template.
//! - [`client`]: [`client::UserClient`], typed requests as one user.
//! - [`logs`]: captures every log line of the test process (canary checks).
//! - [`fixtures`]: MCP servers (well-behaved, legacy, broken) and a scripted model server.
//! - [`bench`]: what the benchmark binaries in `src/bin/` share.
//! - [`chaos`]: the chaos harness (its own PostgreSQL and Redis, faults, a mixed load).
//! - [`browser`]: headless chromium through chromedriver, for the UI tests.
//! - [`sign_in`]: the browser's part of an OAuth sign-in, without a browser.
//! - [`scripts`]: programs that report in JSON lines (the MCP SDK clients, the host-agent example).
//! - [`auth_proxy`]: adds a bearer token for clients that send none (the conformance runner).
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod app;
pub mod auth_proxy;
pub mod bench;
pub mod browser;
pub mod chaos;
pub mod client;
pub mod fixtures;
pub mod logs;
pub mod migrations;
pub mod postgres;
pub mod probe;
pub mod redis;
pub mod runs;
pub mod scripts;
pub mod seed;
pub mod sign_in;
pub mod workers;

pub use app::{Backend, TestApp};
pub use client::{Resp, UserClient};
