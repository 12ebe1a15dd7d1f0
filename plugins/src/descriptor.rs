//! What a system tool declares about itself.

use serde_json::Value;

use crate::invoke::{ToolContext, ToolError, ToolOutput};

/// How a user connects a system tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolAuth {
    /// Connects at once.
    None,
    /// Needs the user to sign in with Google (popup), for these scopes.
    Google { scopes: &'static [&'static str] },
}

impl ToolAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Google { .. } => "oauth",
        }
    }
}

/// One function an agent can call.
#[derive(Debug)]
pub struct ToolFunction {
    /// Unique within the tool; `^[a-z0-9_]{1,40}$`.
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments.
    pub input_schema: fn() -> Value,
    /// Only reads data (MCP `readOnlyHint`).
    pub read_only: bool,
    /// May delete or send something that cannot be undone (MCP `destructiveHint`).
    pub destructive: bool,
}

/// The static description of a system tool.
#[derive(Debug)]
pub struct ToolDescriptor {
    /// Stable id used in URLs: `^[a-z0-9_-]{1,32}$`.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// Icon key the web UI maps to an embedded SVG.
    pub icon: &'static str,
    pub category: &'static str,
    pub auth: ToolAuth,
    /// Shown as "coming soon"; cannot be connected.
    pub is_beta: bool,
    pub functions: &'static [ToolFunction],
}

/// A built-in tool. Implementors are `static` values registered with
/// [`crate::register_tool!`].
#[async_trait::async_trait]
pub trait SystemTool: Send + Sync + 'static {
    fn descriptor(&self) -> &ToolDescriptor;

    /// Runs `function` with arguments already validated against its schema.
    async fn invoke(&self, ctx: &ToolContext<'_>, function: &str, arguments: Value) -> Result<ToolOutput, ToolError>;
}
