//! [`UserId`]: who owns an object. Every store lookup is keyed by it.

use std::fmt;

/// The `sub` claim of a verified bearer token: 1–255 bytes, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.is_empty() || value.len() > 255 {
            return Err("user id must be 1-255 bytes".into());
        }
        if value.chars().any(char::is_control) {
            return Err("user id must not contain control characters".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_bounded_and_printable() {
        assert!(UserId::parse("auth0|123").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(&"u".repeat(256)).is_err());
        assert!(UserId::parse("a\nb").is_err());
    }
}
