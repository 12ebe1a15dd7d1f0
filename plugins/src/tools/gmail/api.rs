//! The few Gmail REST calls the tool makes.

use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use switchboard_core::egress::http::{self, Deadline, HttpError};

use crate::invoke::ToolError;

/// Time one Gmail request may take, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest Gmail answer read.
const MAX_BODY: usize = 16 << 20;

pub struct GmailApi<'a> {
    http: &'a reqwest::Client,
    base: &'a Url,
    token: &'a str,
}

impl<'a> GmailApi<'a> {
    pub fn new(http: &'a reqwest::Client, base: &'a Url, token: &'a str) -> Self {
        Self { http, base, token }
    }

    fn url(&self, path: &str) -> Result<Url, ToolError> {
        self.base.join(path).map_err(ToolError::internal)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ToolError> {
        let fetched = http::fetch(request.bearer_auth(self.token), Deadline::after(TIMEOUT), MAX_BODY)
            .await
            .map_err(|e| match e {
                HttpError::Transport(e) => ToolError::new(
                    "UPSTREAM_ERROR",
                    format!("Gmail could not be reached: {}", e.without_url()),
                ),
                other => ToolError::new("UPSTREAM_ERROR", format!("Gmail: {other}")),
            })?;
        if fetched.status == 401 {
            return Err(ToolError::new(
                "AUTH_FAILED",
                "Gmail refused the stored sign-in: reconnect Gmail in the Apps menu",
            ));
        }
        if !fetched.status.is_success() {
            return Err(ToolError::new(
                "UPSTREAM_ERROR",
                format!("Gmail answered HTTP {}", fetched.status.as_u16()),
            ));
        }
        fetched
            .json()
            .map_err(|_| ToolError::new("UPSTREAM_ERROR", "Gmail answered with something that is not JSON"))
    }

    pub async fn send(&self, raw: &str) -> Result<Value, ToolError> {
        self.call(
            self.http
                .post(self.url("gmail/v1/users/me/messages/send")?)
                .json(&json!({"raw": raw})),
        )
        .await
    }

    pub async fn search(&self, query: &str, max_results: u32) -> Result<Vec<Value>, ToolError> {
        let mut url = self.url("gmail/v1/users/me/messages")?;
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("maxResults", &max_results.to_string());
        let listed = self.call(self.http.get(url)).await?;
        let mut messages = Vec::new();
        for id in listed["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str())
        {
            let mut url = self.url(&format!("gmail/v1/users/me/messages/{id}"))?;
            url.query_pairs_mut()
                .append_pair("format", "metadata")
                .append_pair("metadataHeaders", "From")
                .append_pair("metadataHeaders", "Subject")
                .append_pair("metadataHeaders", "Date");
            let message = self.call(self.http.get(url)).await?;
            messages.push(json!({
                "id": id,
                "from": header(&message, "From"),
                "subject": header(&message, "Subject"),
                "date": header(&message, "Date"),
                "snippet": message["snippet"],
            }));
        }
        Ok(messages)
    }

    pub async fn read(&self, id: &str) -> Result<Value, ToolError> {
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(ToolError::new("INVALID_ARGUMENTS", "not a Gmail message id"));
        }
        let mut url = self.url(&format!("gmail/v1/users/me/messages/{id}"))?;
        url.query_pairs_mut().append_pair("format", "full");
        let message = self.call(self.http.get(url)).await?;
        Ok(json!({
            "id": id,
            "from": header(&message, "From"),
            "to": header(&message, "To"),
            "subject": header(&message, "Subject"),
            "date": header(&message, "Date"),
            "body": plain_text(&message["payload"]),
        }))
    }
}

fn header(message: &Value, name: &str) -> Value {
    message["payload"]["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .map_or(Value::Null, |h| h["value"].clone())
}

/// The first `text/plain` part, decoded.
fn plain_text(part: &Value) -> Value {
    use base64::Engine as _;
    if part["mimeType"] == "text/plain" {
        let data = part["body"]["data"].as_str().unwrap_or_default();
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(data)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data));
        return decoded
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map_or(Value::Null, Value::String);
    }
    part["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(plain_text)
        .find(|t| !t.is_null())
        .unwrap_or(Value::Null)
}
