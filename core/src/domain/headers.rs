//! Custom headers a user adds to every request to their server (API keys,
//! tenant ids). Values may be secrets: they are sealed with the credentials.
//!
//! On update a header sent with value `null` keeps its stored value, and an
//! omitted `headers` object keeps them all, unless the server's host changed.

use std::collections::BTreeMap;

use super::validation::FieldError;
use crate::secret::Secret;

pub const MAX_HEADERS: usize = 20;
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_VALUE_LEN: usize = 4096;

/// Headers Switchboard sets itself, or that would change how HTTP is spoken.
pub const RESERVED: &[&str] = &[
    "accept",
    "accept-encoding",
    "authorization",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "cookie",
    "expect",
    "host",
    "keep-alive",
    "last-event-id",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Validated custom headers, by name as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CustomHeaders(BTreeMap<String, Secret>);

impl CustomHeaders {
    /// Parses `headers` from a body; a `null` value takes the stored header's
    /// value. After [`Self::check`] passed, the only error left is a `null`
    /// with no stored value to keep.
    pub fn parse(input: &BTreeMap<String, Option<String>>, stored: Option<&CustomHeaders>) -> Result<Self, FieldError> {
        Self::check(input)?;
        let mut out = BTreeMap::new();
        for (name, value) in input {
            let value = match value {
                Some(value) => Secret::new(value.clone()),
                None => stored.and_then(|s| s.get(name)).cloned().ok_or_else(|| {
                    FieldError::body(
                        &["headers", name],
                        "a value is required (null keeps a stored value, and none is stored)",
                    )
                })?,
            };
            out.insert(name.clone(), value);
        }
        Ok(Self(out))
    }

    /// Checks what `headers` says by itself: the count, each name and each
    /// value given (`null` values are left to [`Self::parse`]).
    pub fn check(input: &BTreeMap<String, Option<String>>) -> Result<(), FieldError> {
        if input.len() > MAX_HEADERS {
            return Err(FieldError::body(&["headers"], format!("at most {MAX_HEADERS} headers")));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (name, value) in input {
            let at = |msg: String| FieldError::body(&["headers", name], msg);
            check_name(name).map_err(at)?;
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(at("header appears twice (names are case-insensitive)".into()));
            }
            if let Some(value) = value {
                check_value(value).map_err(at)?;
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Header names, for responses (values are never shown).
    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn get(&self, name: &str) -> Option<&Secret> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!("header names must be 1-{MAX_NAME_LEN} characters"));
    }
    // RFC 9110 token characters.
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        return Err("header names may contain only letters, digits and !#$%&'*+-.^_`|~".into());
    }
    let lower = name.to_ascii_lowercase();
    if lower == "authorization" {
        return Err("set credentials with auth_type and auth_config, not an Authorization header".into());
    }
    if RESERVED.contains(&lower.as_str()) || lower.starts_with("mcp-") || lower.starts_with("sec-") {
        return Err(format!("`{name}` is set by Switchboard and cannot be overridden"));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_VALUE_LEN {
        return Err(format!("header values must be 1-{MAX_VALUE_LEN} characters"));
    }
    if value.trim() != value || !value.bytes().all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic()) {
        return Err("header values may contain only visible ASCII and inner spaces".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn valid_headers_parse_and_expose_only_names() {
        let h =
            CustomHeaders::parse(&input(&[("X-Api-Key", Some("k 1")), ("X-Tenant", Some("t"))]), None).expect("valid");
        assert_eq!(h.names(), ["X-Api-Key", "X-Tenant"]);
    }

    #[test]
    fn reserved_and_malformed_headers_are_refused_at_their_name() {
        let bad_names = [
            "Authorization",
            "mcp-session-id",
            "MCP-Protocol-Version",
            "Host",
            "Content-Type",
            "Bad Name",
            "",
            "Sec-Fetch-Mode",
        ];
        for name in bad_names {
            let err = CustomHeaders::parse(&input(&[(name, Some("v"))]), None).expect_err(name);
            assert_eq!(err.loc, ["body", "headers", name]);
        }
        for value in ["", " lead", "trail ", "a\r\nInjected: 1", "é"] {
            let err = CustomHeaders::parse(&input(&[("X-Ok", Some(value))]), None).expect_err(value);
            assert_eq!(err.loc, ["body", "headers", "X-Ok"], "{value:?}");
        }
        let dup = CustomHeaders::parse(&input(&[("X-A", Some("1")), ("x-a", Some("2"))]), None);
        assert!(dup.expect_err("duplicate").msg.contains("twice"));
        let many: Vec<(String, Option<String>)> = (0..21).map(|i| (format!("X-{i}"), Some("v".into()))).collect();
        let err = CustomHeaders::parse(&many.into_iter().collect(), None).expect_err("too many");
        assert_eq!(err.loc, ["body", "headers"]);
    }

    #[test]
    fn null_keeps_the_stored_value() {
        let stored = CustomHeaders::parse(&input(&[("X-Key", Some("secret"))]), None).expect("valid");
        let kept = CustomHeaders::parse(&input(&[("x-key", None)]), Some(&stored)).expect("kept");
        assert_eq!(kept.iter().next().map(|(_, v)| v.expose()), Some("secret"));
        assert!(CustomHeaders::parse(&input(&[("X-Key", None)]), None).is_err());
    }
}
