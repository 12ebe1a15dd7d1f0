//! The compile-time registry of system tools.

use std::sync::OnceLock;

use crate::SystemTool;

/// One `inventory` entry; created by [`crate::register_tool!`].
pub struct Registration(pub &'static dyn SystemTool);

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Registration").field(&self.0.descriptor().id).finish()
    }
}

inventory::collect!(Registration);

/// Every registered tool, sorted by id.
pub struct Registry {
    tools: Vec<&'static dyn SystemTool>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.tools.iter().map(|t| t.descriptor().id))
            .finish()
    }
}

impl Registry {
    /// Builds a registry, sorted by id. Panics on a duplicate or malformed id:
    /// two tools claiming one id is a build mistake, not a runtime condition.
    pub fn new(mut tools: Vec<&'static dyn SystemTool>) -> Self {
        tools.sort_by_key(|t| t.descriptor().id);
        for pair in tools.windows(2) {
            assert_ne!(
                pair[0].descriptor().id,
                pair[1].descriptor().id,
                "duplicate system tool id"
            );
        }
        for tool in &tools {
            let d = tool.descriptor();
            let valid_id = |s: &str, max: usize| {
                !s.is_empty()
                    && s.len() <= max
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            };
            assert!(valid_id(d.id, 32), "malformed system tool id `{}`", d.id);
            let mut names: Vec<&str> = d.functions.iter().map(|f| f.name).collect();
            names.sort_unstable();
            assert!(
                names.windows(2).all(|w| w[0] != w[1]),
                "duplicate function in `{}`",
                d.id
            );
            assert!(
                names.iter().all(|n| valid_id(n, 40)),
                "malformed function name in `{}`",
                d.id
            );
        }
        Self { tools }
    }

    pub fn all(&self) -> &[&'static dyn SystemTool] {
        &self.tools
    }

    pub fn get(&self, id: &str) -> Option<&'static dyn SystemTool> {
        self.tools.iter().copied().find(|t| t.descriptor().id == id)
    }
}

/// The registry of every tool linked into this binary, built on first use.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Registry::new(inventory::iter::<Registration>.into_iter().map(|r| r.0).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ToolAuth, ToolContext, ToolDescriptor, ToolError, ToolOutput};

    struct Fake(ToolDescriptor);
    #[async_trait::async_trait]
    impl SystemTool for Fake {
        fn descriptor(&self) -> &ToolDescriptor {
            &self.0
        }
        async fn invoke(&self, _: &ToolContext<'_>, _: &str, _: serde_json::Value) -> Result<ToolOutput, ToolError> {
            Err(ToolError::new("FAKE", "fake"))
        }
    }
    const fn fake(id: &'static str) -> Fake {
        Fake(ToolDescriptor {
            id,
            name: "Fake",
            description: "",
            icon: "x",
            category: "test",
            auth: ToolAuth::None,
            is_beta: false,
            functions: &[],
        })
    }
    static A: Fake = fake("a");
    static A_AGAIN: Fake = fake("a");
    static BAD: Fake = fake("Bad Id");

    #[test]
    fn every_expected_tool_is_registered_sorted() {
        let ids: Vec<&str> = registry().all().iter().map(|t| t.descriptor().id).collect();
        assert_eq!(ids, ["analytics", "calendar", "export", "gmail"]);
        assert!(registry().get("gmail").is_some());
        assert!(registry().get("nope").is_none());
    }

    #[test]
    #[should_panic(expected = "duplicate system tool id")]
    fn a_duplicate_id_panics() {
        Registry::new(vec![&A, &A_AGAIN]);
    }

    #[test]
    #[should_panic(expected = "malformed system tool id")]
    fn a_malformed_id_panics() {
        Registry::new(vec![&BAD]);
    }

    #[test]
    fn every_function_schema_is_an_object_schema() {
        for tool in registry().all() {
            for f in tool.descriptor().functions {
                let schema = (f.input_schema)();
                assert_eq!(schema["type"], "object", "{}.{}", tool.descriptor().id, f.name);
            }
        }
    }
}
