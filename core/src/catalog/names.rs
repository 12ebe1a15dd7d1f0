//! Tool names an agent sees. Model APIs accept `^[a-zA-Z0-9_-]{1,64}$`; MCP
//! tool names may be up to 128 characters of `[A-Za-z0-9_.-]` (and servers do
//! not always keep to that). A catalog name is `{source}__{tool}`: the
//! source's slug, two underscores, the sanitised tool name; when that is too
//! long, or already taken in the user's catalog, it is shortened and given a
//! short hash of the tool's identity, so it stays unique, valid and stable
//! (the same tool of the same connector always gets the same name, as long as
//! the tools added before it keep theirs).

use std::collections::HashSet;

/// Longest name model APIs accept.
pub const MAX_NAME: usize = 64;
/// Longest source slug kept in a name.
const MAX_SLUG: usize = 20;
/// `_` plus 8 hex digits.
const HASH_SUFFIX: usize = 9;

/// `value` reduced to `[a-zA-Z0-9_-]`: other characters become `_`, runs of
/// `_` collapse, leading and trailing `_`/`-` go; empty becomes `fallback`.
pub fn sanitize(value: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    let trimmed = out.trim_matches(|c| c == '_' || c == '-');
    if trimmed.is_empty() {
        fallback.to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The slug of a source (a connector's name, a system tool's id).
pub fn slug(source: &str) -> String {
    let slug = sanitize(&source.to_ascii_lowercase(), "server");
    slug.chars()
        .take(MAX_SLUG)
        .collect::<String>()
        .trim_end_matches(['_', '-'])
        .to_owned()
}

/// 8 hex digits of a stable (FNV-1a) hash: the same input on every machine and release.
pub fn short_hash(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:08x}", hash as u32 ^ (hash >> 32) as u32)
}

/// Whether `name` is acceptable to model APIs.
pub fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Assigns catalog names in order; earlier tools keep the plain form.
#[derive(Debug, Default)]
pub struct Namer {
    taken: HashSet<String>,
}

impl Namer {
    /// The name for `tool` of the source with this `slug`; `identity` (e.g.
    /// the connector id) makes the hash differ between sources.
    pub fn name(&mut self, slug: &str, identity: &str, tool: &str) -> String {
        let plain = format!("{slug}__{}", sanitize(tool, "tool"));
        let changed = plain.len() > MAX_NAME || self.taken.contains(&plain.to_ascii_lowercase());
        let mut name = if changed {
            hashed(&plain, identity, tool, 0)
        } else {
            plain
        };
        let mut round = 1;
        while self.taken.contains(&name.to_ascii_lowercase()) {
            name = hashed(&name, identity, tool, round);
            round += 1;
        }
        self.taken.insert(name.to_ascii_lowercase());
        name
    }
}

fn hashed(base: &str, identity: &str, tool: &str, round: u32) -> String {
    let hash = short_hash(&[identity, tool, &round.to_string()]);
    let keep = MAX_NAME - HASH_SUFFIX;
    let head: String = base.chars().take(keep).collect();
    format!("{}_{hash}", head.trim_end_matches(['_', '-']))
}

#[cfg(test)]
mod tests;
