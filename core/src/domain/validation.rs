//! Validation errors located at a request field, FastAPI style:
//! `{"loc": ["body", "server_url"], "msg": "…"}`.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path to the offending value, starting with `body`, `path` or `query`.
    pub loc: Vec<String>,
    /// What is wrong and how to fix it.
    pub msg: String,
}

impl FieldError {
    /// An error at `body.<path…>`.
    pub fn body(path: &[&str], msg: impl Into<String>) -> Self {
        let mut loc = vec!["body".to_owned()];
        loc.extend(path.iter().map(|p| (*p).to_owned()));
        Self { loc, msg: msg.into() }
    }
}

/// Collects field errors while a body is parsed.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// Keeps the value, or records the error at `path` and returns `None`.
    pub fn take<T>(&mut self, path: &[&str], result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(msg) => {
                self.0.push(FieldError::body(path, msg));
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() { Ok(value()) } else { Err(self.0) }
    }
}

/// Rejects ASCII and Unicode control characters (tabs and newlines included).
pub fn no_control_chars(value: &str, what: &str) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        Err(format!("{what} must not contain control characters"))
    } else {
        Ok(())
    }
}

/// Visible ASCII only: safe to place in an HTTP header value.
pub fn header_safe(value: &str, what: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if value.len() > max {
        return Err(format!("{what} must be at most {max} characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("{what} may contain only visible ASCII characters (no spaces)"));
    }
    Ok(())
}

/// A serde error message without the offending value: `invalid type: string
/// "…", expected …` would echo whatever was sent, a pasted token included.
pub fn serde_message(error: &impl std::fmt::Display) -> String {
    let msg = error.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    for prefix in ["invalid type: string \"", "invalid value: string \""] {
        if let Some(rest) = msg.strip_prefix(prefix)
            && let Some((_, tail)) = rest.rsplit_once("\", ")
        {
            return format!("{}a string, {tail}", &prefix[..prefix.len() - "string \"".len()]);
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::serde_message;

    #[test]
    fn serde_messages_drop_the_value_and_position() {
        let err = serde_json::from_str::<bool>("\"secret-token\"").expect_err("type mismatch");
        let msg = serde_message(&err);
        assert!(!msg.contains("secret-token"), "{msg}");
        assert!(msg.starts_with("invalid type: a string, expected a boolean"), "{msg}");
        let err = serde_json::from_str::<u8>("300").expect_err("out of range");
        assert!(!serde_message(&err).contains("at line"));
    }
}
