//! Settings of tool use: invocations, the agent's model, the MCP gateway and
//! the system tools' upstream APIs.

use std::time::Duration;

use url::Url;

use super::{ConfigError, Sources};
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// `SWITCHBOARD_PUBLIC_URL`: where users and agents reach this service (default
    /// `http://127.0.0.1:8080`); the MCP gateway accepts its host and origin.
    pub public_url: Url,
    /// `SWITCHBOARD_INVOKE_TIMEOUT`: time one `tools/call` may take (default 60s).
    pub invoke_timeout: Duration,
    /// `SWITCHBOARD_RETRY_DELAY`: wait before the one retry of a failed call (default 3s).
    pub retry_delay: Duration,
    /// `SWITCHBOARD_INVOKE_RATE_LIMIT`: tool invocations per user per minute (default 600; 0 = off).
    pub invoke_rate_limit: u32,
    /// `SWITCHBOARD_AUTHORIZE_RATE_LIMIT`: OAuth sign-ins a user may start per minute (default 10;
    /// 0 = off): each may register a client at a third-party authorization server.
    pub authorize_rate_limit: u32,
    /// `SWITCHBOARD_AGENT_BODY_LIMIT`: body limit of invocation, agent and gateway routes (default 1 MiB).
    pub body_limit: usize,
    /// `SWITCHBOARD_INVOCATION_RETENTION`: how long the invocation log is kept (default 90d).
    pub invocation_retention: Duration,
    /// `SWITCHBOARD_LLM_BASE_URL`: an OpenAI-compatible API (`…/v1`); unset: no agent.
    pub llm_base_url: Option<Url>,
    /// `SWITCHBOARD_LLM_MODEL`: the model name (required with a base URL).
    pub llm_model: Option<String>,
    /// `SWITCHBOARD_LLM_API_KEY`: sent as a bearer token, when set.
    pub llm_api_key: Option<Secret>,
    /// `SWITCHBOARD_LLM_TIMEOUT`: time one model request may take (default 120s).
    pub llm_timeout: Duration,
    /// `SWITCHBOARD_AGENT_CONCURRENCY`: agent turns one worker process runs at
    /// once (default 16); their own queue and pool, apart from tool calls.
    pub agent_concurrency: usize,
    /// `SWITCHBOARD_AGENT_MAX_STEPS`: model round trips per agent turn (default 8).
    pub agent_max_steps: u32,
    /// `SWITCHBOARD_GATEWAY_WATCH_INTERVAL`: how often the catalog of a user with open MCP
    /// gateway sessions is re-read in case a change event was lost (default 30s; changes are
    /// announced at once by events).
    pub gateway_watch_interval: Duration,
    /// `SWITCHBOARD_GMAIL_API_BASE`: the Gmail REST API (default `https://gmail.googleapis.com`).
    pub gmail_api_base: Url,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            public_url: Url::parse("http://127.0.0.1:8080").expect("valid"),
            invoke_timeout: Duration::from_secs(60),
            retry_delay: Duration::from_secs(3),
            invoke_rate_limit: 600,
            authorize_rate_limit: 10,
            body_limit: 1024 * 1024,
            invocation_retention: Duration::from_secs(90 * 24 * 3600),
            llm_base_url: None,
            llm_model: None,
            llm_api_key: None,
            agent_max_steps: 8,
            llm_timeout: Duration::from_secs(120),
            agent_concurrency: 16,
            gateway_watch_interval: Duration::from_secs(30),
            gmail_api_base: Url::parse("https://gmail.googleapis.com").expect("valid"),
        }
    }
}

impl AgentSettings {
    pub(super) fn from_sources(src: &Sources) -> Result<Self, ConfigError> {
        let d = Self::default();
        let settings = Self {
            public_url: src.parse_or("SWITCHBOARD_PUBLIC_URL", d.public_url)?,
            invoke_timeout: src.duration_or("SWITCHBOARD_INVOKE_TIMEOUT", d.invoke_timeout)?,
            retry_delay: src.duration_or("SWITCHBOARD_RETRY_DELAY", d.retry_delay)?,
            invoke_rate_limit: src.parse_or("SWITCHBOARD_INVOKE_RATE_LIMIT", d.invoke_rate_limit)?,
            authorize_rate_limit: src.parse_or("SWITCHBOARD_AUTHORIZE_RATE_LIMIT", d.authorize_rate_limit)?,
            body_limit: src.parse_or("SWITCHBOARD_AGENT_BODY_LIMIT", d.body_limit)?,
            invocation_retention: src.duration_or("SWITCHBOARD_INVOCATION_RETENTION", d.invocation_retention)?,
            llm_base_url: src.parse("SWITCHBOARD_LLM_BASE_URL")?,
            llm_model: src.parse("SWITCHBOARD_LLM_MODEL")?,
            llm_api_key: src.secret("SWITCHBOARD_LLM_API_KEY"),
            llm_timeout: src.duration_or("SWITCHBOARD_LLM_TIMEOUT", d.llm_timeout)?,
            agent_concurrency: src.parse_or("SWITCHBOARD_AGENT_CONCURRENCY", d.agent_concurrency)?,
            agent_max_steps: src.parse_or("SWITCHBOARD_AGENT_MAX_STEPS", d.agent_max_steps)?,
            gateway_watch_interval: src.duration_or("SWITCHBOARD_GATEWAY_WATCH_INTERVAL", d.gateway_watch_interval)?,
            gmail_api_base: src.parse_or("SWITCHBOARD_GMAIL_API_BASE", d.gmail_api_base)?,
        };
        src.check(
            "SWITCHBOARD_INVOKE_TIMEOUT",
            !settings.invoke_timeout.is_zero(),
            "must be greater than zero",
        )?;
        src.check(
            "SWITCHBOARD_GATEWAY_WATCH_INTERVAL",
            settings.gateway_watch_interval >= Duration::from_millis(100),
            "must be at least 100ms",
        )?;
        src.check(
            "SWITCHBOARD_AGENT_BODY_LIMIT",
            settings.body_limit >= 1024,
            "must be at least 1024 bytes",
        )?;
        src.check(
            "SWITCHBOARD_AGENT_CONCURRENCY",
            settings.agent_concurrency >= 1,
            "must be at least 1",
        )?;
        src.check(
            "SWITCHBOARD_LLM_TIMEOUT",
            !settings.llm_timeout.is_zero(),
            "must be greater than zero",
        )?;
        src.check(
            "SWITCHBOARD_AGENT_MAX_STEPS",
            settings.agent_max_steps >= 1,
            "must be at least 1",
        )?;
        src.check(
            "SWITCHBOARD_LLM_MODEL",
            settings.llm_base_url.is_none() || settings.llm_model.is_some(),
            "is required when SWITCHBOARD_LLM_BASE_URL is set",
        )?;
        Ok(settings)
    }

    /// Whether an agent model is configured.
    pub fn agent_enabled(&self) -> bool {
        self.llm_base_url.is_some() && self.llm_model.is_some()
    }
}
