//! Parsed, always-valid values. Request bodies are parsed into these at the edge
//! ("parse, don't validate"); past that point an invalid value cannot exist.
//!
//! - [`validation`]: [`FieldError`], a problem located at a request field.
//! - [`user`]: [`UserId`], the `sub` of a verified token.
//! - [`connector`]: name, description, server URL and the connector draft.
//! - [`auth`]: auth types and the credentials sealed by the vault.
//! - [`headers`]: custom headers sent to a connector's server.
//! - [`patterns`]: the same rules as regular expressions, for the API document.
//! - [`tools`]: a tool as discovered on an MCP server.
//! - [`pins`]: the approved copy of a connector's tools, and what a changed server may serve.

pub mod auth;
pub mod connector;
pub mod headers;
pub mod patterns;
pub mod pins;
pub mod tools;
pub mod user;
pub mod validation;

pub use auth::{AuthInput, AuthType, Credentials};
pub use connector::{ConnectorDraft, ConnectorInput, ConnectorName, Description, ServerUrl, name_key};
pub use headers::CustomHeaders;
pub use pins::{ToolChange, ToolPins};
pub use tools::ToolInfo;
pub use user::UserId;
pub use validation::FieldError;
