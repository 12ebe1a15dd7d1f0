//! Pinned tool definitions: what the user approved of a connector's tools,
//! and the rule that keeps a server's later changes away from agents until
//! the user reviews them (the "rug pull" or tool-poisoning defence).
//!
//! A connector's pins are the approved copy of each tool (name, title,
//! description, input and output schema, annotations) with a canonical hash
//! of the whole set. A later discovery that hashes the same changes nothing.
//! One that differs is kept as the *offered* set, and agents are served:
//! - an unchanged tool as it is;
//! - a **changed** tool under its approved definition, as long as the new
//!   input schema accepts every call the approved one did
//!   ([`accepts_approved_calls`]); otherwise not at all;
//! - a **new** tool not at all;
//! - a **removed** tool not at all.
//!
//! Each difference is a [`ToolChange`] the user approves (the offered
//! definition becomes the pin) or rejects (the pin stays, and that exact
//! offered definition is not raised again).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::ToolInfo;

/// Marks a rejected removal in [`ToolPins::rejected`].
const REMOVAL: &str = "";

/// What a user approved of one connector's tools, and what its server offers now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolPins {
    /// Canonical hash of `tools` ([`set_hash`]).
    pub hash: String,
    /// The approved definitions.
    pub tools: Vec<ToolInfo>,
    /// The last discovery, when it differs from the approved set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered: Option<Vec<ToolInfo>>,
    /// Tool name → hash of the offered definition the user rejected (empty for a removal).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rejected: BTreeMap<String, String>,
}

/// How a tool differs from its pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Changed => "changed",
            Self::Removed => "removed",
        }
    }
}

/// One difference between the approved and the offered tools.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ToolChange {
    /// The server's tool name.
    pub tool: String,
    pub change: ChangeKind,
    /// True when agents cannot use the tool at all until the change is
    /// approved; false when its approved definition still serves.
    pub held_out: bool,
    /// The approved definition (none for an added tool).
    pub approved: Option<ToolInfo>,
    /// What the server offers now (none for a removed tool).
    pub offered: Option<ToolInfo>,
    /// Hash of the offered definition (empty for a removal): a decision
    /// names it, so it applies to exactly what the user saw.
    pub offered_hash: String,
    /// The user rejected exactly this offer; it is not pending, and may
    /// still be approved by name.
    pub rejected: bool,
}

/// A decision named a tool with no change pending.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("no change is pending for {0}")]
pub struct NoSuchChange(pub String);

impl ToolPins {
    /// Pins `tools` as approved.
    pub fn approved(tools: Vec<ToolInfo>) -> Self {
        Self {
            hash: set_hash(&tools),
            tools,
            offered: None,
            rejected: BTreeMap::new(),
        }
    }

    /// Records what a discovery found. `None` when the server lists exactly
    /// what it listed last time (nothing to record: the common case costs
    /// one comparison and no hashing); otherwise the changes it newly holds
    /// for review (ones not pending or rejected before).
    pub fn observe(&mut self, discovered: Vec<ToolInfo>) -> Option<Vec<ToolChange>> {
        if *self.offered.as_ref().unwrap_or(&self.tools) == discovered {
            return None;
        }
        let before: Vec<(String, String)> = self.changes().into_iter().map(|c| (c.tool, c.offered_hash)).collect();
        if set_hash(&discovered) == self.hash {
            self.offered = None;
            self.rejected.clear();
            return Some(Vec::new());
        }
        self.offered = Some(discovered);
        self.forget_stale_rejections();
        let held = self
            .changes()
            .into_iter()
            .filter(|c| {
                !before
                    .iter()
                    .any(|(tool, hash)| *tool == c.tool && *hash == c.offered_hash)
            })
            .collect();
        Some(held)
    }

    /// The definitions agents may use now.
    pub fn served(&self) -> Vec<ToolInfo> {
        let Some(offered) = &self.offered else {
            return self.tools.clone();
        };
        let offered: HashMap<&str, &ToolInfo> = offered.iter().map(|t| (t.name.as_str(), t)).collect();
        self.tools
            .iter()
            .filter(|pin| offered.get(pin.name.as_str()).is_some_and(|now| still_serves(pin, now)))
            .cloned()
            .collect()
    }

    /// Every difference waiting for the user, in the server's order (removals last).
    pub fn changes(&self) -> Vec<ToolChange> {
        self.differences().into_iter().filter(|c| !c.rejected).collect()
    }

    /// Every difference from the pins, rejected ones included (marked).
    pub fn differences(&self) -> Vec<ToolChange> {
        let Some(offered) = &self.offered else {
            return Vec::new();
        };
        let pins: HashMap<&str, &ToolInfo> = self.tools.iter().map(|t| (t.name.as_str(), t)).collect();
        let change = |tool: &str, change, held_out, approved: Option<&ToolInfo>, offered: Option<&ToolInfo>| {
            let offered_hash = offered.map_or_else(|| REMOVAL.to_owned(), tool_hash);
            ToolChange {
                tool: tool.to_owned(),
                change,
                held_out,
                approved: approved.cloned(),
                offered: offered.cloned(),
                rejected: self.rejected.get(tool) == Some(&offered_hash),
                offered_hash,
            }
        };
        let mut changes: Vec<ToolChange> = offered
            .iter()
            .filter_map(|now| match pins.get(now.name.as_str()) {
                None => Some(change(&now.name, ChangeKind::Added, true, None, Some(now))),
                Some(pin) if *pin != now => Some(change(
                    &now.name,
                    ChangeKind::Changed,
                    !still_serves(pin, now),
                    Some(pin),
                    Some(now),
                )),
                Some(_) => None,
            })
            .collect();
        changes.extend(
            self.tools
                .iter()
                .filter(|pin| !offered.iter().any(|t| t.name == pin.name))
                .map(|pin| change(&pin.name, ChangeKind::Removed, true, Some(pin), None)),
        );
        changes
    }

    /// The tools whose definitions in `tools` differ from the approved ones
    /// (added, changed or removed).
    pub fn differing(&self, tools: &[ToolInfo]) -> Vec<String> {
        let against = Self {
            offered: Some(tools.to_vec()),
            rejected: BTreeMap::new(),
            ..self.clone()
        };
        against.differences().into_iter().map(|c| c.tool).collect()
    }

    /// A digest of the pending changes: a decision carries the one its
    /// reviewer saw, and is refused once the server changed them again.
    pub fn review_hash(&self) -> String {
        let each: Vec<String> = self
            .changes()
            .iter()
            .map(|c| format!("{}\n{:?}\n{}", c.tool, c.change, c.offered_hash))
            .collect();
        hex(ring::digest::digest(&ring::digest::SHA256, each.join("\n").as_bytes()).as_ref())
    }

    /// Approves (the offered definition becomes the pin) or rejects (the pin
    /// stays) the pending changes of `only` these tools, or of all. Returns
    /// the tools decided.
    pub fn decide(&mut self, approve: bool, only: Option<&[String]>) -> Result<Vec<String>, NoSuchChange> {
        // A rejected offer can still be approved, by name.
        let pending: Vec<ToolChange> = match (approve, only) {
            (true, Some(_)) => self.differences(),
            _ => self.changes(),
        };
        if let Some(names) = only
            && let Some(missing) = names.iter().find(|n| !pending.iter().any(|c| &c.tool == *n))
        {
            return Err(NoSuchChange(missing.clone()));
        }
        let chosen: Vec<ToolChange> = pending
            .into_iter()
            .filter(|c| only.is_none_or(|names| names.contains(&c.tool)))
            .collect();
        for change in &chosen {
            if approve {
                self.apply(change);
            } else {
                self.rejected.insert(change.tool.clone(), change.offered_hash.clone());
            }
        }
        if approve {
            self.hash = set_hash(&self.tools);
            if self.offered.as_ref().is_some_and(|o| set_hash(o) == self.hash) {
                self.offered = None;
                self.rejected.clear();
            }
        }
        Ok(chosen.into_iter().map(|c| c.tool).collect())
    }

    fn apply(&mut self, change: &ToolChange) {
        self.rejected.remove(&change.tool);
        let at = self.tools.iter().position(|t| t.name == change.tool);
        match (&change.offered, at) {
            (Some(offered), Some(i)) => self.tools[i] = offered.clone(),
            (Some(offered), None) => self.tools.push(offered.clone()),
            (None, Some(i)) => {
                self.tools.remove(i);
            }
            (None, None) => {}
        }
    }

    /// A rejection stands only while the server offers what was rejected.
    fn forget_stale_rejections(&mut self) {
        let current: HashMap<String, String> = self
            .differences()
            .into_iter()
            .map(|c| (c.tool, c.offered_hash))
            .collect();
        self.rejected.retain(|tool, hash| current.get(tool) == Some(hash));
    }
}

/// Whether a changed tool keeps serving under its approved definition: the
/// new input schema accepts every approved call ([`accepts_approved_calls`]),
/// and its annotations claim no more safety than it lost (a tool that stops
/// being read-only or idempotent, or becomes destructive, is held out: the
/// approved hints decide whether a failed call is retried).
fn still_serves(pin: &ToolInfo, now: &ToolInfo) -> bool {
    pin == now || (accepts_approved_calls(&pin.input_schema, &now.input_schema) && !less_safe(pin, now))
}

fn less_safe(pin: &ToolInfo, now: &ToolInfo) -> bool {
    let hint = |tool: &ToolInfo, name: &str| {
        tool.annotations
            .as_ref()
            .and_then(|a| a.get(name))
            .and_then(Value::as_bool)
    };
    let lost = |name: &str| hint(pin, name) == Some(true) && hint(now, name) != Some(true);
    lost("readOnlyHint")
        || lost("idempotentHint")
        || (hint(pin, "destructiveHint") != Some(true) && hint(now, "destructiveHint") == Some(true))
}

/// Whether every call valid under `approved` is still valid under `offered`,
/// judged conservatively on the schema's shape:
/// - the same `type`;
/// - no newly required property (`required` may only shrink);
/// - each approved property keeps an identical schema, or is dropped from a
///   schema that still admits additional properties;
/// - `additionalProperties` stays as it was, or becomes `true`;
/// - every other keyword (`oneOf`, `allOf`, `patternProperties`, bounds, …)
///   is unchanged, except annotations (`title`, `description`, `examples`,
///   `default`, `$comment`, `$schema`).
///
/// So new optional properties and reworded descriptions pass; anything that
/// could reject an approved call does not.
pub fn accepts_approved_calls(approved: &Value, offered: &Value) -> bool {
    if approved == offered {
        return true;
    }
    let (Some(old), Some(new)) = (approved.as_object(), offered.as_object()) else {
        return false;
    };
    const SHAPED: [&str; 4] = ["type", "properties", "required", "additionalProperties"];
    const ANNOTATIONS: [&str; 6] = ["title", "description", "examples", "default", "$comment", "$schema"];
    let other_keys_same = old
        .keys()
        .chain(new.keys())
        .filter(|k| !SHAPED.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()))
        .all(|k| old.get(k) == new.get(k));
    let names = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let old_required = names(old.get("required"));
    let required_shrinks = names(new.get("required")).iter().all(|r| old_required.contains(r));
    let new_open = matches!(new.get("additionalProperties"), None | Some(Value::Bool(true)));
    let extra_kept = new_open || old.get("additionalProperties") == new.get("additionalProperties");
    let empty = serde_json::Map::new();
    let old_props = old.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let new_props = new.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let properties_kept = old_props.iter().all(|(name, schema)| match new_props.get(name) {
        Some(now) => now == schema,
        None => new_open,
    });
    old.get("type") == new.get("type") && other_keys_same && required_shrinks && properties_kept && extra_kept
}

/// SHA-256 (hex) of a tool's canonical JSON: its serialized form with object
/// keys sorted at every level and no whitespace, streamed into the digest.
pub fn tool_hash(tool: &ToolInfo) -> String {
    let mut digest = Digest(ring::digest::Context::new(&ring::digest::SHA256));
    // The fields in key order, as `ToolInfo` serializes them (absent ones skipped).
    let fields: [(&str, Option<Text<'_>>); 6] = [
        ("annotations", tool.annotations.as_ref().map(Text::Json)),
        ("description", tool.description.as_deref().map(Text::Str)),
        ("input_schema", Some(Text::Json(&tool.input_schema))),
        ("name", Some(Text::Str(&tool.name))),
        ("output_schema", tool.output_schema.as_ref().map(Text::Json)),
        ("title", tool.title.as_deref().map(Text::Str)),
    ];
    digest.put(b"{");
    let mut first = true;
    for (key, value) in fields {
        let Some(value) = value else { continue };
        if !std::mem::take(&mut first) {
            digest.put(b",");
        }
        digest.string(key);
        digest.put(b":");
        match value {
            Text::Str(s) => digest.string(s),
            Text::Json(v) => digest.canonical(v),
        }
    }
    digest.put(b"}");
    hex(digest.0.finish().as_ref())
}

/// SHA-256 (hex) of a tool set, independent of the order the server listed it in.
pub fn set_hash(tools: &[ToolInfo]) -> String {
    let mut each: Vec<String> = tools.iter().map(|t| format!("{}\n{}", t.name, tool_hash(t))).collect();
    each.sort();
    hex(ring::digest::digest(&ring::digest::SHA256, each.join("\n").as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A field's value: a string, or JSON.
enum Text<'a> {
    Str(&'a str),
    Json(&'a Value),
}

/// A SHA-256 fed with canonical JSON.
struct Digest(ring::digest::Context);

impl Digest {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// A JSON string, escaped as serde_json escapes it.
    fn string(&mut self, s: &str) {
        self.put(serde_json::to_string(s).unwrap_or_default().as_bytes());
    }

    fn canonical(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                self.put(b"{");
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        self.put(b",");
                    }
                    self.string(key);
                    self.put(b":");
                    self.canonical(&map[key]);
                }
                self.put(b"}");
            }
            Value::Array(items) => {
                self.put(b"[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.put(b",");
                    }
                    self.canonical(item);
                }
                self.put(b"]");
            }
            Value::String(s) => self.string(s),
            scalar => self.put(scalar.to_string().as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests;
