//! Switchboard's end-to-end tests: one binary, one module per area.
#![allow(clippy::unwrap_used)]

/// Runs each named `async fn(Backend)` once against SQLite and once against
/// PostgreSQL, as `<name>::sqlite` and `<name>::postgres`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(switchboard_tests::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(switchboard_tests::Backend::Postgres).await
                }
            }
        )*
    };
}

mod agent;
mod approvals;
mod attacks;
mod audit;
mod auth;
mod binding;
mod catalog;
mod connection_tests;
mod connectors;
mod eras;
mod events;
mod gateway;
mod health;
mod host;
mod hostile;
mod idor;
mod invocations;
mod isolation;
mod mcp_client;
mod oauth;
mod openapi;
mod operations;
mod pins;
mod proxy;
mod queue;
mod rotation;
mod secrets;
mod ssrf;
mod startup;
mod system_tools;
mod ui;
mod validation;
mod workers;
