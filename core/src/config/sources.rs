//! Where setting values come from, and the errors that name them.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Display};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::secret::Secret;

const ENV_PREFIX: &str = "SWITCHBOARD_";
const PLAIN_ENV: [&str; 2] = ["DATABASE_URL", "REDIS_URL"];

/// A setting that could not be read. The message names the setting and its origin
/// and never contains the value of a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting {name} (from {origin}): {message}")]
    Invalid {
        name: String,
        origin: Origin,
        message: String,
    },
    #[error("cannot read config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(
        "unknown setting `{key}` in {path} (settings are the environment variable names without the SWITCHBOARD_ prefix, lowercased)"
    )]
    UnknownKey { key: String, path: PathBuf },
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Environment,
    File(PathBuf),
    Default,
}

impl Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("environment"),
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Default => f.write_str("default"),
        }
    }
}

/// Raw values by setting name (the environment variable name).
#[derive(Debug, Default)]
pub struct Sources {
    values: BTreeMap<String, (String, Origin)>,
    file: Option<PathBuf>,
    read: RefCell<BTreeSet<String>>,
}

impl Sources {
    /// `SWITCHBOARD_CONFIG` (or `./switchboard.toml` when present), then the environment.
    pub fn from_process() -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let explicit = env
            .iter()
            .find(|(k, _)| k == "SWITCHBOARD_CONFIG")
            .map(|(_, v)| PathBuf::from(v));
        let path = explicit.clone().or_else(|| {
            let default = PathBuf::from("switchboard.toml");
            default.exists().then_some(default)
        });
        let file = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::File {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                Some((path, text))
            }
            None => None,
        };
        Self::new(file.as_ref().map(|(p, t)| (p.as_path(), t.as_str())), env)
    }

    /// Builds sources from a TOML document and environment pairs; the environment wins.
    pub fn new(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut sources = Self::default();
        if let Some((path, text)) = file {
            sources.add_toml(path, text)?;
        }
        for (name, value) in env {
            let relevant = name.starts_with(ENV_PREFIX) || PLAIN_ENV.contains(&name.as_str());
            if relevant && name != "SWITCHBOARD_CONFIG" && !value.is_empty() {
                sources.values.insert(name, (value, Origin::Environment));
            }
        }
        Ok(sources)
    }

    fn add_toml(&mut self, path: &Path, text: &str) -> Result<(), ConfigError> {
        let file_error = |message: String| ConfigError::File {
            path: path.to_path_buf(),
            message,
        };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| file_error(e.to_string()))?;
        for (key, value) in table {
            let name = if PLAIN_ENV.iter().any(|p| p.eq_ignore_ascii_case(&key)) {
                key.to_ascii_uppercase()
            } else {
                format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
            };
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(file_error(format!("`{key}` must be a string, number or boolean")));
                }
            };
            self.values.insert(name, (text, Origin::File(path.to_path_buf())));
        }
        self.file = Some(path.to_path_buf());
        Ok(())
    }

    fn raw(&self, name: &str) -> Option<&(String, Origin)> {
        self.read.borrow_mut().insert(name.to_owned());
        self.values.get(name)
    }

    /// Parses `name` when set.
    pub fn parse<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let Some((value, origin)) = self.raw(name) else {
            return Ok(None);
        };
        value.trim().parse::<T>().map(Some).map_err(|e| ConfigError::Invalid {
            name: name.to_owned(),
            origin: origin.clone(),
            message: format!("`{value}`: {e}"),
        })
    }

    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.parse(name)?.unwrap_or(default))
    }

    /// A duration such as `10s`, `250ms` or `1h`.
    pub fn duration_or(&self, name: &str, default: std::time::Duration) -> Result<std::time::Duration, ConfigError> {
        Ok(self.parse::<humantime::Duration>(name)?.map_or(default, Into::into))
    }

    /// A secret value; its text never appears in errors.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.raw(name).map(|(value, _)| Secret::new(value.trim()))
    }

    /// An error for `name` unless `ok`.
    pub fn check(&self, name: &str, ok: bool, message: &str) -> Result<(), ConfigError> {
        if ok { Ok(()) } else { Err(self.invalid(name, message)) }
    }

    pub fn invalid(&self, name: &str, message: impl Into<String>) -> ConfigError {
        let origin = self.values.get(name).map_or(Origin::Default, |(_, o)| o.clone());
        ConfigError::Invalid {
            name: name.to_owned(),
            origin,
            message: message.into(),
        }
    }

    /// Refuses keys in the config file that no setting read (typos).
    pub fn reject_unknown_file_keys(&self) -> Result<(), ConfigError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let read = self.read.borrow();
        let unknown = self
            .values
            .iter()
            .find(|(name, (_, origin))| matches!(origin, Origin::File(_)) && !read.contains(*name));
        match unknown {
            Some((name, _)) => Err(ConfigError::UnknownKey {
                key: name.strip_prefix(ENV_PREFIX).unwrap_or(name).to_ascii_lowercase(),
                path: path.clone(),
            }),
            None => Ok(()),
        }
    }
}
