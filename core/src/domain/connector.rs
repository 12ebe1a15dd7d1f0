//! A connector: a user's remote MCP server. [`ConnectorInput`] is the request
//! body of create, update and test; [`ConnectorDraft::parse`] turns it into
//! valid values or a list of located [`FieldError`]s.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use url::Url;
use utoipa::ToSchema;

use super::auth::{AuthInput, AuthType};
use super::validation::{Errors, FieldError, no_control_chars};

pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_URL_LEN: usize = 2048;

/// Body of `POST /api/connectors`, `PUT /api/connectors/{id}` and the connection tests.
/// Its `Debug` leaves out `auth_config` and the header values.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    /// 1–64 visible characters (no format characters such as zero-width spaces or bidi
    /// overrides), unique per user: names that differ only in case or by compatibility
    /// forms (fullwidth `Ｃａｒｏｌ` and `Carol`) are the same name.
    pub name: Option<String>,
    /// Up to 500 characters.
    pub description: Option<String>,
    /// `http(s)://…` of the MCP endpoint; no user name, password or fragment.
    pub server_url: Option<String>,
    /// `none` (default), `bearer` or `oauth`.
    pub auth_type: Option<String>,
    /// Shape depends on `auth_type`: `{"token"}` for bearer; see `OauthConfig` for oauth.
    #[schema(value_type = Option<Object>)]
    pub auth_config: Option<Value>,
    /// Extra headers sent to the server; on update `null` keeps a stored value.
    #[schema(value_type = Option<HashMap<String, Option<String>>>)]
    pub headers: Option<BTreeMap<String, Option<String>>>,
    /// Defaults to `true` on create.
    pub enabled: Option<bool>,
    /// What agents' calls of its tools do when a tool has no policy of its own:
    /// `auto` (default on create: `allow` for tools the server marks read-only,
    /// `ask` for the rest), `allow`, `ask` or `block`. On update, omitted keeps it.
    pub tool_policy: Option<crate::approvals::DefaultPolicy>,
    /// Create/update: a passed connection test of exactly these settings. Without
    /// it, the server runs the test itself and refuses to save if it fails.
    pub test_run_id: Option<uuid::Uuid>,
}

impl fmt::Debug for ConnectorInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorInput")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("server_url", &self.server_url)
            .field("auth_type", &self.auth_type)
            .field("auth_config", &crate::secret::REDACTED)
            .field("headers", &self.headers.as_ref().map(|h| h.keys().collect::<Vec<_>>()))
            .field("enabled", &self.enabled)
            .field("tool_policy", &self.tool_policy)
            .field("test_run_id", &self.test_run_id)
            .finish()
    }
}

/// A connector's display name: trimmed, 1–64 characters, no control
/// characters and nothing invisible (format characters such as zero-width
/// spaces and bidi overrides, or blank letters), so two names that look alike
/// differ visibly or collide (see [`ConnectorName::key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorName(String);

impl ConnectorName {
    /// Checks the name as sent (at most 64 characters, none of them control
    /// or invisible), then trims it (it must not be blank).
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.chars().count() > MAX_NAME_CHARS {
            return Err(format!("name must be 1-{MAX_NAME_CHARS} characters"));
        }
        no_control_chars(value, "name")?;
        if let Some(c) = value.chars().find(|&c| is_invisible(c)) {
            return Err(format!(
                "name must not contain invisible or formatting characters (U+{:04X})",
                u32::from(c)
            ));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("name must be 1-{MAX_NAME_CHARS} characters"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key uniqueness is checked on (see [`name_key`]).
    pub fn key(&self) -> String {
        name_key(&self.0)
    }
}

/// A name's uniqueness key: compatibility-normalized (NFKC) and case-folded,
/// so `Carol`, `CAROL` and the fullwidth `Ｃａｒｏｌ` share one.
pub fn name_key(name: &str) -> String {
    use caseless::Caseless;
    use unicode_normalization::UnicodeNormalization;
    name.nfkc().default_case_fold().nfkc().collect()
}

/// Format characters (Unicode category Cf: zero-width, bidi controls, BOM…)
/// and the letters that render blank.
pub fn is_invisible(c: char) -> bool {
    use unicode_general_category::{GeneralCategory, get_general_category};
    const BLANK: [char; 5] = ['\u{115F}', '\u{1160}', '\u{2800}', '\u{3164}', '\u{FFA0}'];
    get_general_category(c) == GeneralCategory::Format || BLANK.contains(&c)
}

/// The form a `server_url` must have, as a regular expression (for the API
/// document; [`url_shape`] checks the same): `http(s)://`, an authority of
/// RFC 3986 characters without user info, then a path or query without
/// spaces, control characters, backslashes or a fragment.
pub const URL_PATTERN: &str =
    r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~%!$&'()*+,;=:\[\]-]+([/?][^\u0000-\u0020\u007f#\\]*)?$";

/// Checks `value` against [`URL_PATTERN`], saying what is wrong. The URL
/// parser is lenient (it drops tabs, turns `\` into `/`, fills in a missing
/// `//`); Switchboard takes a server URL only as written plainly.
/// A URL without `http(s)://`: empty, or one to suggest with `https://`.
fn missing_scheme(value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        "enter the server's address, e.g. https://mcp.example.com/mcp".into()
    } else if !value.contains("://") && !value.contains(char::is_whitespace) && value.len() <= 200 {
        format!("the address needs to start with https:// (or http://): did you mean https://{value}?")
    } else {
        "the address needs to start with https:// or http://, e.g. https://mcp.example.com/mcp".into()
    }
}

pub fn url_shape(value: &str) -> Result<(), String> {
    let scheme_len = ["http://", "https://"]
        .iter()
        .find(|s| value.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)))
        .map(|s| s.len())
        .ok_or_else(|| missing_scheme(value))?;
    let rest = &value[scheme_len..];
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err("server_url must not contain a user name or password: use auth_config or headers".into());
    }
    if authority.is_empty() {
        return Err("server_url must name a host".into());
    }
    let authority_char = |c: char| c.is_ascii_alphanumeric() || "._~%!$&'()*+,;=:[]-".contains(c);
    if !authority.chars().all(authority_char) {
        return Err("server_url's host may contain only letters, digits and . - _ ~ % : [ ]".into());
    }
    if tail.contains('#') {
        return Err("server_url must not contain a #fragment".into());
    }
    if tail.chars().any(|c| c == '\\' || c <= ' ' || c == '\u{7f}') {
        return Err("server_url must not contain spaces, control characters or backslashes".into());
    }
    Ok(())
}

/// Free text up to 500 characters; newlines and tabs allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    /// Checks the text as sent, then trims it.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(format!(
                "description must be at most {MAX_DESCRIPTION_CHARS} characters"
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err("description must not contain control characters".into());
        }
        Ok(Self(value.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `http`/`https` URL with a host and no user info or fragment,
/// written plainly (see [`url_shape`]). Syntax only: whether Switchboard may
/// connect to it is the egress guard's call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(Url);

impl ServerUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.chars().count() > MAX_URL_LEN {
            return Err(format!("server_url must be at most {MAX_URL_LEN} characters"));
        }
        url_shape(value)?;
        let url = Url::parse(value)
            .map_err(|e| format!("server_url is not a valid URL ({e}); expected e.g. https://mcp.example.com/mcp"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("server_url must start with http:// or https://".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("server_url must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("server_url must not contain a user name or password: use auth_config or headers".into());
        }
        if url.fragment().is_some() {
            return Err("server_url must not contain a #fragment".into());
        }
        Ok(Self(url))
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether `other` points at another origin (scheme, host or port), so that
    /// stored secrets must not follow the URL there.
    pub fn origin_differs(&self, other: &ServerUrl) -> bool {
        self.0.origin() != other.0.origin()
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// A parsed [`ConnectorInput`]: everything valid, secrets not yet merged with
/// the stored ones (see [`AuthInput::resolve`]). `Debug` leaves out the
/// header values.
pub struct ConnectorDraft {
    pub name: ConnectorName,
    pub description: Description,
    pub server_url: ServerUrl,
    pub auth_type: AuthType,
    pub auth: AuthInput,
    pub headers: Option<BTreeMap<String, Option<String>>>,
    pub enabled: Option<bool>,
    pub tool_policy: Option<crate::approvals::DefaultPolicy>,
}

impl fmt::Debug for ConnectorDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorDraft")
            .field("name", &self.name)
            .field("server_url", &self.server_url)
            .field("auth_type", &self.auth_type)
            .field("auth", &self.auth)
            .field("headers", &self.headers.as_ref().map(|h| h.keys().collect::<Vec<_>>()))
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl ConnectorDraft {
    pub fn parse(input: ConnectorInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let name = errors.take(
            &["name"],
            required(input.name.as_deref()).and_then(ConnectorName::parse),
        );
        let description = errors.take(
            &["description"],
            Description::parse(input.description.as_deref().unwrap_or("")),
        );
        let server_url = errors.take(
            &["server_url"],
            required(input.server_url.as_deref()).and_then(ServerUrl::parse),
        );
        let auth_type = errors.take(&["auth_type"], parse_auth_type(input.auth_type.as_deref()));
        let auth = auth_type.and_then(|t| AuthInput::parse(t, input.auth_config.as_ref(), &mut errors));
        if let Some(Err(e)) = input.headers.as_ref().map(super::CustomHeaders::check) {
            errors.push(e);
        }
        errors.finish(|| Self {
            name: name.expect("checked"),
            description: description.expect("checked"),
            server_url: server_url.expect("checked"),
            auth_type: auth_type.expect("checked"),
            auth: auth.expect("checked"),
            headers: input.headers,
            enabled: input.enabled,
            tool_policy: input.tool_policy,
        })
    }
}

fn required(value: Option<&str>) -> Result<&str, String> {
    value.ok_or_else(|| "this field is required".to_owned())
}

/// `auth_type`, defaulting to `none`.
pub fn parse_auth_type(value: Option<&str>) -> Result<AuthType, String> {
    match value {
        None => Ok(AuthType::None),
        Some(v) => AuthType::parse(v).ok_or_else(|| format!("unknown auth_type `{v}`: expected none, bearer or oauth")),
    }
}

#[cfg(test)]
mod tests;
