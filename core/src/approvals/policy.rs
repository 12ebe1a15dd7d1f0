//! What happens when an agent calls a tool: [`Policy`] per tool, and the
//! [`DefaultPolicy`] a connector (or a connected system tool) gives tools
//! that have none of their own.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tool's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Calls run at once.
    Allow,
    /// Each call waits for a person to approve it.
    Ask,
    /// The tool is hidden from agents and its calls are refused.
    Block,
}

impl Policy {
    pub const ALL: [Self; 3] = [Self::Allow, Self::Ask, Self::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Ask => "ask",
            Self::Block => "block",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

/// The policy of tools without one of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DefaultPolicy {
    /// `allow` for tools marked read-only (`readOnlyHint`), `ask` for the rest.
    #[default]
    Auto,
    Allow,
    Ask,
    Block,
}

impl DefaultPolicy {
    pub const ALL: [Self; 4] = [Self::Auto, Self::Allow, Self::Ask, Self::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Allow => "allow",
            Self::Ask => "ask",
            Self::Block => "block",
        }
    }

    /// Unknown values read as `ask`: a stored value this build does not know
    /// never lets a call through unasked.
    pub fn parse(value: &str) -> Self {
        Self::ALL.into_iter().find(|p| p.as_str() == value).unwrap_or(Self::Ask)
    }

    /// The policy of a tool that has none of its own.
    pub fn for_tool(self, read_only: bool) -> Policy {
        match self {
            Self::Auto if read_only => Policy::Allow,
            Self::Auto | Self::Ask => Policy::Ask,
            Self::Allow => Policy::Allow,
            Self::Block => Policy::Block,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_asks_unless_the_tool_only_reads() {
        assert_eq!(DefaultPolicy::Auto.for_tool(true), Policy::Allow);
        assert_eq!(DefaultPolicy::Auto.for_tool(false), Policy::Ask);
        assert_eq!(DefaultPolicy::Ask.for_tool(true), Policy::Ask);
        assert_eq!(DefaultPolicy::Allow.for_tool(false), Policy::Allow);
        assert_eq!(DefaultPolicy::Block.for_tool(true), Policy::Block);
    }

    #[test]
    fn an_unknown_stored_default_asks() {
        assert_eq!(DefaultPolicy::parse("sometimes"), DefaultPolicy::Ask);
        assert_eq!(DefaultPolicy::parse("allow"), DefaultPolicy::Allow);
        assert_eq!(Policy::parse("maybe"), None);
    }
}
