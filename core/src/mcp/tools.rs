//! The `list_tools` step: `tools/list` page by page, every tool and the
//! running total checked against [`McpLimits`] as it arrives.

use rmcp::model::PaginatedRequestParams;
use rmcp::service::ServiceError;

use super::McpClient;
use super::classify::{excerpt, http_error};
use super::codes::{ErrorCode, Failure};
use super::handshake::Opened;
use super::limits::McpLimits;
use crate::domain::ToolInfo;

impl McpClient {
    /// `tools/list`, page by page, within the limits.
    pub(super) async fn list_tools(&self, opened: &Opened) -> Result<Vec<ToolInfo>, Failure> {
        let session = &opened.session;
        let limits = self.limits();
        let mut tools = Vec::new();
        let mut total = 0;
        let mut cursor = None;
        for _ in 0..limits.max_pages {
            let page = session
                .peer()
                .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
                .await
                .map_err(|e| opened.explain(list_failure(&e, &limits), &limits))?;
            if tools.len() + page.tools.len() > limits.max_tools {
                return Err(limits.too_many_tools());
            }
            for tool in page.tools {
                let tool = tool_info(tool);
                total += limits.check_tool(&tool)?;
                limits.check_list_total(total)?;
                tools.push(tool);
            }
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => return Ok(tools),
            }
        }
        Err(Failure::new(
            ErrorCode::InvalidMcpServer,
            format!("the server's tool list continues past {} pages", limits.max_pages),
        ))
    }
}

/// Why `tools/list` failed: a message over the size limit and a schema nested
/// past what a JSON parser takes get messages naming the limit.
fn list_failure(error: &ServiceError, limits: &McpLimits) -> Failure {
    use rmcp::transport::streamable_http_client::StreamableHttpError as E;
    let text = error.to_string();
    if let ServiceError::TransportSend(dynamic) = error
        && let Some(E::ResponseBodyTooLarge { .. }) = http_error(dynamic.error.as_ref())
    {
        return limits.message_too_large();
    }
    if text.contains("recursion limit") {
        return limits.schema_too_deep("?");
    }
    if text.contains("too large") || text.contains("TooLarge") {
        return limits.message_too_large();
    }
    Failure::new(
        ErrorCode::InvalidMcpServer,
        format!("tools/list failed: {}", excerpt(&text)),
    )
}

fn tool_info(tool: rmcp::model::Tool) -> ToolInfo {
    ToolInfo {
        name: tool.name.into_owned(),
        title: tool.title,
        description: tool.description.map(|d| d.into_owned()),
        input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
        output_schema: tool.output_schema.map(|s| serde_json::Value::Object((*s).clone())),
        annotations: tool.annotations.and_then(|a| serde_json::to_value(a).ok()),
    }
}
