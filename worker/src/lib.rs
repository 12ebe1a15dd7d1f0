//! # switchboard-worker
//!
//! Job handlers and the `switchboard-worker` binary. The API links this crate
//! to run the same handlers in-process in embedded mode.
//!
//! # Layout
//! Empty until the job pipeline lands (connection tests, tool discovery,
//! invocations); the crate exists now so the dependency direction
//! core ← plugins ← worker ← api is fixed from the start.
#![forbid(unsafe_code)]
