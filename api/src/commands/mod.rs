//! The subcommands other than `serve`.

pub mod conformance;
pub mod keys;
pub mod mcp;
