//! The connection test. Each step is reported to a [`StepObserver`] as it
//! starts and ends; the whole test shares one deadline (the budget), and a
//! step still running at the deadline fails with `TIMEOUT`.
//!
//! | step | fails with |
//! |---|---|
//! | `parse_url` | `INVALID_URL` |
//! | `egress_check` | `BLOCKED_DESTINATION` (`CONNECTION_FAILED` when the name does not resolve) |
//! | `connect` | `CONNECTION_FAILED` (refused, TLS, 5xx), `TIMEOUT` |
//! | `handshake` | `AUTH_FAILED`, `INVALID_MCP_SERVER` (after the legacy fallback, if the server asked for it) |
//! | `list_tools` | `INVALID_MCP_SERVER`; zero tools is `NO_TOOLS`, a warning |

use std::time::Duration;

use rmcp::ServiceExt as _;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, PaginatedRequestParams, ProtocolVersion};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::ToSchema;

use super::classify::{self, InitProblem, excerpt};
use super::codes::{ErrorCode, Failure};
use super::timed::AnsweredClient;
use super::{McpClient, Target, legacy};
use crate::domain::{Credentials, CustomHeaders, ServerUrl, ToolInfo};

/// The steps of a connection test, in order.
pub const TEST_STEPS: [&str; 5] = ["parse_url", "egress_check", "connect", "handshake", "list_tools"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Ok,
    Failed,
    Skipped,
}

/// A step starting or ending.
#[derive(Debug, Clone)]
pub struct StepUpdate {
    pub name: &'static str,
    pub status: StepStatus,
    pub duration_ms: Option<f64>,
    pub message: Option<String>,
}

/// Receives step updates as they happen (the worker turns them into run events).
pub trait StepObserver: Send + Sync {
    fn update(&self, update: StepUpdate);
}

/// The server as it introduced itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
    /// Negotiated MCP protocol version, e.g. `2025-11-25`.
    pub protocol_version: String,
    /// `streamable_http` or `sse` (legacy).
    pub transport: String,
}

/// What a connection test found.
#[derive(Debug, Clone, Default)]
pub struct ProbeReport {
    pub server: Option<ServerInfo>,
    pub tools: Vec<ToolInfo>,
    /// Why the test failed.
    pub failure: Option<Failure>,
    /// A non-fatal finding (`NO_TOOLS`).
    pub warning: Option<Failure>,
}

/// An initialized MCP session; end it with [`close`].
pub type Session = RunningService<RoleClient, ClientConfig>;
type Client = Session;

/// Ignores step updates (sessions opened for tool calls).
struct Silent;

impl StepObserver for Silent {
    fn update(&self, _: StepUpdate) {}
}

struct Steps<'a> {
    observer: &'a dyn StepObserver,
    deadline: Instant,
    budget: Duration,
}

impl Steps<'_> {
    fn start(&self, name: &'static str) -> Instant {
        self.observer.update(StepUpdate {
            name,
            status: StepStatus::Running,
            duration_ms: None,
            message: None,
        });
        Instant::now()
    }

    fn end(&self, name: &'static str, started: Instant, outcome: Result<Option<String>, &Failure>) {
        let duration_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
        let (status, message) = match outcome {
            Ok(message) => (StepStatus::Ok, message),
            Err(f) => (StepStatus::Failed, Some(f.message.clone())),
        };
        self.observer.update(StepUpdate {
            name,
            status,
            duration_ms,
            message,
        });
    }

    /// Runs one step under the deadline.
    async fn run<T>(&self, name: &'static str, work: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
        let started = self.start(name);
        let result = match tokio::time::timeout_at(self.deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(self.timeout(name)),
        };
        self.end(name, started, result.as_ref().map(|_| None));
        result
    }

    fn timeout(&self, name: &str) -> Failure {
        Failure::new(
            ErrorCode::Timeout,
            format!(
                "the server did not answer within the {}s test budget (during {name}); check that it is running and responsive",
                self.budget.as_secs_f64()
            ),
        )
    }

    fn skip_rest(&self, after: &str) {
        for name in TEST_STEPS.iter().skip_while(|s| **s != after).skip(1) {
            self.observer.update(StepUpdate {
                name,
                status: StepStatus::Skipped,
                duration_ms: None,
                message: None,
            });
        }
    }
}

fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("switchboard", env!("CARGO_PKG_VERSION")),
    )
    .with_protocol_version(ProtocolVersion::V_2025_11_25)
}

impl McpClient {
    /// Opens a session for tool calls: egress check, connect and handshake
    /// (with the legacy fallback), without step reporting.
    pub async fn connect(
        &self,
        url: &ServerUrl,
        credentials: &Credentials,
        headers: &CustomHeaders,
        budget: Duration,
    ) -> Result<(Session, Option<ServerInfo>), Failure> {
        let steps = Steps {
            observer: &Silent,
            deadline: Instant::now() + budget,
            budget,
        };
        let target = Target::new(url.as_url().clone(), credentials, headers);
        self.check_egress(&target).await?;
        let (session, transport) = self.handshake(&target, &steps, &mut "connect").await?;
        let info = server_info(&session, transport);
        Ok((session, info))
    }

    async fn check_egress(&self, target: &Target) -> Result<(), Failure> {
        self.guard.check_url(&target.url).await.map(drop).map_err(|e| {
            let code = match e {
                crate::egress::EgressError::Blocked { .. } => ErrorCode::BlockedDestination,
                crate::egress::EgressError::Unresolvable { .. } => ErrorCode::ConnectionFailed,
            };
            Failure::new(code, classify::blocked_message(&e))
        })
    }

    /// Tests a connection: every step reported to `observer`, the whole test
    /// bounded by `budget`.
    pub async fn probe(
        &self,
        raw_url: &str,
        credentials: &Credentials,
        headers: &CustomHeaders,
        budget: Duration,
        observer: &dyn StepObserver,
    ) -> ProbeReport {
        let steps = Steps {
            observer,
            deadline: Instant::now() + budget,
            budget,
        };
        let mut report = ProbeReport::default();
        let mut last = "parse_url";
        let outcome = self
            .probe_steps(raw_url, credentials, headers, &steps, &mut report, &mut last)
            .await;
        if let Err(failure) = outcome {
            steps.skip_rest(last);
            report.failure = Some(failure);
        }
        report
    }

    async fn probe_steps(
        &self,
        raw_url: &str,
        credentials: &Credentials,
        headers: &CustomHeaders,
        steps: &Steps<'_>,
        report: &mut ProbeReport,
        last: &mut &'static str,
    ) -> Result<(), Failure> {
        let url = steps
            .run("parse_url", async {
                ServerUrl::parse(raw_url).map_err(|msg| Failure::new(ErrorCode::InvalidUrl, msg))
            })
            .await?;
        let target = Target::new(url.as_url().clone(), credentials, headers);

        *last = "egress_check";
        steps.run("egress_check", self.check_egress(&target)).await?;

        *last = "connect";
        let (client, transport) = self.handshake(&target, steps, last).await?;
        report.server = server_info(&client, transport);
        let has_tools = client.peer_info().is_some_and(|i| i.capabilities.tools.is_some());

        *last = "list_tools";
        let listed = if has_tools {
            steps.run("list_tools", self.list_tools(&client)).await
        } else {
            let started = steps.start("list_tools");
            steps.end(
                "list_tools",
                started,
                Ok(Some("the server does not offer tools".into())),
            );
            Ok(Vec::new())
        };
        close(client).await;
        report.tools = listed?;
        if report.tools.is_empty() {
            report.warning = Some(Failure::new(
                ErrorCode::NoTools,
                "the server works but offers no tools; you can save it, but the agent will have nothing to use",
            ));
        }
        Ok(())
    }

    /// `connect` and `handshake`: Streamable HTTP first, legacy SSE when the
    /// server answers the POST with 400, 404 or 405.
    async fn handshake(
        &self,
        target: &Target,
        steps: &Steps<'_>,
        last: &mut &'static str,
    ) -> Result<(Client, &'static str), Failure> {
        let client = AnsweredClient::new(self.http.clone());
        let answered = client.answered.clone();
        let mut config = StreamableHttpClientTransportConfig::with_uri(target.url.as_str())
            .max_sse_event_size(self.limits.max_message_bytes)
            .max_json_response_size(self.limits.max_message_bytes)
            .reinit_on_expired_session(false);
        config.auth_header = target.bearer.as_ref().map(|t| t.expose().to_owned());
        config.custom_headers = target.headers.iter().cloned().collect();
        let transport = StreamableHttpClientTransport::with_client(client, config);
        let init = client_config().serve(transport);
        tokio::pin!(init);

        let connect_started = steps.start("connect");
        let mut handshake_started = None;
        let result = loop {
            tokio::select! {
                biased;
                result = &mut init => break Some(result),
                () = answered.notified(), if handshake_started.is_none() => {
                    steps.end("connect", connect_started, Ok(None));
                    *last = "handshake";
                    handshake_started = Some(steps.start("handshake"));
                }
                () = tokio::time::sleep_until(steps.deadline) => break None,
            }
        };
        let current = if handshake_started.is_some() {
            "handshake"
        } else {
            "connect"
        };
        let result = match result {
            Some(result) => result,
            None => {
                let failure = steps.timeout(current);
                steps.end(current, handshake_started.unwrap_or(connect_started), Err(&failure));
                return Err(failure);
            }
        };
        let problem = match result {
            Ok(client) => {
                let started = self.answered_now(steps, connect_started, handshake_started, last);
                steps.end("handshake", started, Ok(None));
                return Ok((client, "streamable_http"));
            }
            Err(e) => classify::init_error(&e),
        };
        let reached = matches!(&problem, InitProblem::TryLegacy(_))
            || matches!(&problem, InitProblem::Failed(f) if !matches!(f.code, ErrorCode::ConnectionFailed | ErrorCode::Timeout | ErrorCode::BlockedDestination));
        if !reached {
            let InitProblem::Failed(failure) = problem else {
                unreachable!("checked above")
            };
            let step = if handshake_started.is_some() {
                "handshake"
            } else {
                "connect"
            };
            steps.end(step, handshake_started.unwrap_or(connect_started), Err(&failure));
            return Err(failure);
        }
        let started = self.answered_now(steps, connect_started, handshake_started, last);
        let outcome = match problem {
            InitProblem::TryLegacy(_) => self.legacy_handshake(target, steps.deadline).await,
            InitProblem::Failed(failure) => Err(failure),
        };
        let outcome = match outcome {
            Err(f) if f.code == ErrorCode::Timeout => Err(steps.timeout("handshake")),
            other => other,
        };
        steps.end("handshake", started, outcome.as_ref().map(|_| None));
        outcome.map(|client| (client, "sse"))
    }

    /// Marks `connect` done if the answer was not noticed yet; returns when the handshake started.
    fn answered_now(
        &self,
        steps: &Steps<'_>,
        connect: Instant,
        handshake: Option<Instant>,
        last: &mut &'static str,
    ) -> Instant {
        handshake.unwrap_or_else(|| {
            steps.end("connect", connect, Ok(None));
            *last = "handshake";
            steps.start("handshake")
        })
    }

    async fn legacy_handshake(&self, target: &Target, deadline: Instant) -> Result<Client, Failure> {
        let (sink, stream) = legacy::connect(&self.http, target, deadline, self.limits.max_message_bytes).await?;
        match tokio::time::timeout_at(deadline, client_config().serve((sink, stream))).await {
            Err(_) => Err(Failure::new(ErrorCode::Timeout, "timed out")),
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(Failure::new(
                ErrorCode::InvalidMcpServer,
                format!(
                    "the legacy SSE server did not complete the MCP handshake: {}",
                    excerpt(&e.to_string())
                ),
            )),
        }
    }

    /// `tools/list`, page by page, within the limits.
    async fn list_tools(&self, client: &Client) -> Result<Vec<ToolInfo>, Failure> {
        let invalid = |msg: String| Failure::new(ErrorCode::InvalidMcpServer, msg);
        let mut tools = Vec::new();
        let mut cursor = None;
        for _ in 0..self.limits.max_pages {
            let page = client
                .peer()
                .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
                .await
                .map_err(|e| invalid(format!("tools/list failed: {}", excerpt(&e.to_string()))))?;
            if tools.len() + page.tools.len() > self.limits.max_tools {
                return Err(invalid(format!(
                    "the server lists more than {} tools",
                    self.limits.max_tools
                )));
            }
            tools.extend(page.tools.into_iter().map(tool_info));
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => return Ok(tools),
            }
        }
        Err(invalid(format!(
            "the server's tool list continues past {} pages",
            self.limits.max_pages
        )))
    }
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

fn server_info(session: &Session, transport: &str) -> Option<ServerInfo> {
    session.peer_info().map(|i| ServerInfo {
        name: i.server_info.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
        version: i.server_info.as_ref().map(|s| s.version.clone()).unwrap_or_default(),
        protocol_version: i.protocol_version.to_string(),
        transport: transport.to_owned(),
    })
}

/// Ends the session (DELETE for Streamable HTTP), without letting a slow server hold the caller.
pub async fn close(client: Client) {
    let _ = tokio::time::timeout(Duration::from_secs(2), client.cancel()).await;
}
