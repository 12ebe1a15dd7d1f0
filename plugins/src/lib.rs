//! # switchboard-plugins
//!
//! System tools: built-in tools a user connects from the Apps menu (Gmail,
//! Analytics, Export, …). Each tool module declares a static [`ToolDescriptor`]
//! and registers it at compile time with [`register_tool!`] (the `inventory`
//! crate); [`registry()`] collects them once, sorted by id, and panics on a
//! duplicate id. Binaries that never name this crate still link it with
//! `use switchboard_plugins as _;`.
//!
//! # Layout
//! - [`descriptor`]: [`SystemTool`], [`ToolDescriptor`], [`ToolFunction`].
//! - [`invoke`]: calling a system tool: context, output, errors.
//! - [`registry`]: the compile-time registry.
//! - [`catalog`]: a user's tool catalog (connectors and connected system tools).
//! - [`calls`]: starting a call of a catalog tool as an `InvokeTool` run
//!   (shared by the API, the MCP gateway and agent turns).
//! - [`schema`]: checking arguments against a tool's input schema.
//! - `tools/`: one module per tool (`gmail`, `analytics`, `export`, `calendar`).
#![forbid(unsafe_code)]

pub mod calls;
pub mod catalog;
pub mod descriptor;
pub mod invoke;
pub mod registry;
pub mod schema;
mod tools;

pub use descriptor::{SystemTool, ToolAuth, ToolDescriptor, ToolFunction};
pub use invoke::{ToolContext, ToolError, ToolOutput};
pub use registry::{Registration, Registry, registry};

#[doc(hidden)]
pub use inventory;

/// Registers a `static` value implementing [`SystemTool`].
#[macro_export]
macro_rules! register_tool {
    ($tool:path) => {
        $crate::inventory::submit! { $crate::Registration(&$tool) }
    };
}
