//! A client for OpenAI-compatible Chat Completions (`POST {base}/chat/completions`):
//! OpenAI, vLLM, Ollama, LiteLLM and the like. Messages and tools travel in
//! the wire format as JSON values; only what a turn needs is read back (the
//! assistant message, its text and its `tool_calls`). Each request goes
//! through the egress helpers on the operator's client, under
//! `SWITCHBOARD_LLM_TIMEOUT` for connect, headers and body; bodies are capped.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use crate::config::AgentSettings;
use crate::egress::http::{self, Deadline, HttpError};
use crate::secret::Secret;

/// Largest model answer read.
const MAX_BODY: usize = 4 << 20;

/// The configured model.
#[derive(Debug, Clone)]
pub struct ChatModel {
    http: reqwest::Client,
    timeout: Duration,
    endpoint: Url,
    model: String,
    api_key: Option<Secret>,
}

/// One tool call the model asked for (`Debug` leaves out the arguments).
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as the model wrote them (a JSON object, as text).
    pub arguments: String,
}

/// The model's answer: the assistant message as sent (to append to the
/// conversation), its text and its tool calls. `Debug` leaves out the text.
#[derive(Clone)]
pub struct Reply {
    pub message: Value,
    pub content: Option<String>,
    pub tool_calls: Vec<ToolCall>,
}

impl std::fmt::Debug for ToolCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolCall")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("arguments", &crate::secret::REDACTED)
            .finish()
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("message", &crate::secret::REDACTED)
            .field("content", &crate::secret::REDACTED)
            .field("tool_calls", &self.tool_calls)
            .finish()
    }
}

/// Why the model could not be asked.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ModelError {
    /// `MODEL_UNAVAILABLE` (not reached, 5xx, 429, timeout) or `MODEL_ERROR`.
    pub code: &'static str,
    pub message: String,
}

impl ModelError {
    fn unavailable(message: impl Into<String>) -> Self {
        Self {
            code: "MODEL_UNAVAILABLE",
            message: message.into(),
        }
    }
    fn error(message: impl Into<String>) -> Self {
        Self {
            code: "MODEL_ERROR",
            message: message.into(),
        }
    }
}

impl ChatModel {
    /// The model of these settings, when one is configured; `http` is the
    /// process's operator client ([`http::operator_client`]).
    pub fn from_settings(settings: &AgentSettings, http: &reqwest::Client) -> Option<Self> {
        let (base, model) = (settings.llm_base_url.as_ref()?, settings.llm_model.as_ref()?);
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Some(Self {
            http: http.clone(),
            timeout: settings.llm_timeout,
            endpoint: base.join("chat/completions").ok()?,
            model: model.clone(),
            api_key: settings.llm_api_key.clone(),
        })
    }

    /// One Chat Completions request.
    pub async fn complete(
        &self,
        messages: &[Value],
        tools: &[Value],
        tool_choice: Option<Value>,
    ) -> Result<Reply, ModelError> {
        let mut body = json!({"model": self.model, "messages": messages});
        if !tools.is_empty() {
            body["tools"] = json!(tools);
            body["tool_choice"] = tool_choice.unwrap_or_else(|| json!("auto"));
        }
        let mut request = self.http.post(self.endpoint.clone()).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose());
        }
        let fetched = http::fetch(request, Deadline::after(self.timeout), MAX_BODY)
            .await
            .map_err(|e| match e {
                HttpError::Timeout => ModelError::unavailable("the model did not answer in time"),
                HttpError::TooLarge { .. } => ModelError::error("the model's answer is too large"),
                other => ModelError::unavailable(format!("could not reach the model: {other}")),
            })?;
        let (status, bytes) = (fetched.status, fetched.body);
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>();
            let message = format!("the model answered HTTP {}: {text}", status.as_u16());
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                ModelError::unavailable(message)
            } else {
                ModelError::error(message)
            });
        }
        let body: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ModelError::error(format!("the model's answer is not JSON: {e}")))?;
        parse_reply(&body)
    }
}

fn parse_reply(body: &Value) -> Result<Reply, ModelError> {
    let message = body["choices"][0]["message"].clone();
    if !message.is_object() {
        return Err(ModelError::error("the model's answer has no choices[0].message"));
    }
    let tool_calls = match message.get("tool_calls") {
        Some(Value::Array(calls)) => calls
            .iter()
            .map(|c| {
                let name = c["function"]["name"]
                    .as_str()
                    .ok_or_else(|| ModelError::error("a tool call without a function name"))?;
                Ok(ToolCall {
                    id: c["id"].as_str().unwrap_or_default().to_owned(),
                    name: name.to_owned(),
                    arguments: c["function"]["arguments"].as_str().unwrap_or("{}").to_owned(),
                })
            })
            .collect::<Result<_, ModelError>>()?,
        _ => Vec::new(),
    };
    let content = message.get("content").and_then(Value::as_str).map(str::to_owned);
    Ok(Reply {
        message,
        content,
        tool_calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_from_the_wire_format() {
        let body = json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "notes__search", "arguments": "{\"q\":\"x\"}"}}]
        }}]});
        let reply = parse_reply(&body).expect("a reply");
        assert_eq!(reply.content, None);
        assert_eq!(
            reply.tool_calls,
            [ToolCall {
                id: "call_1".into(),
                name: "notes__search".into(),
                arguments: r#"{"q":"x"}"#.into()
            }]
        );
        let text =
            parse_reply(&json!({"choices": [{"message": {"role": "assistant", "content": "hi"}}]})).expect("a reply");
        assert_eq!((text.content.as_deref(), text.tool_calls.len()), (Some("hi"), 0));
        assert_eq!(parse_reply(&json!({"error": "x"})).unwrap_err().code, "MODEL_ERROR");
    }
}
