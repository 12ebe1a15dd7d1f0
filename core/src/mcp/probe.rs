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

use rmcp::service::{RoleClient, RunningService};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::ToSchema;

use super::classify;
use super::codes::{ErrorCode, Failure};
use super::eras::Known;
use super::handshake::{Opening, known, server_info};
use super::{McpClient, Target};
use crate::domain::{Credentials, CustomHeaders, ServerUrl, ToolInfo};
use crate::egress::http::Deadline;

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
    /// How calls go: `stateless` (2026-07-28, one request per call, no
    /// session), `session` (the `initialize` handshake) or `legacy_sse`.
    /// Absent in results stored before eras were told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub era: Option<super::Era>,
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
pub type Session = RunningService<RoleClient, super::relay::ClientSide>;

/// Ignores step updates (sessions opened for tool calls).
struct Silent;

impl StepObserver for Silent {
    fn update(&self, _: StepUpdate) {}
}

/// The steps of one test (or session opening), under one deadline.
pub(super) struct Steps<'a> {
    observer: &'a dyn StepObserver,
    pub(super) deadline: Deadline,
}

impl<'a> Steps<'a> {
    fn new(observer: &'a dyn StepObserver, budget: Duration) -> Self {
        Self {
            observer,
            deadline: Deadline::after(budget),
        }
    }

    pub(super) fn start(&self, name: &'static str) -> Instant {
        self.observer.update(StepUpdate {
            name,
            status: StepStatus::Running,
            duration_ms: None,
            message: None,
        });
        Instant::now()
    }

    pub(super) fn end(&self, name: &'static str, started: Instant, outcome: Result<Option<String>, &Failure>) {
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
        let result = match self.deadline.run(work).await {
            Ok(result) => result,
            Err(_) => Err(self.timeout(name)),
        };
        self.end(name, started, result.as_ref().map(|_| None));
        result
    }

    pub(super) fn timeout(&self, name: &str) -> Failure {
        Failure::new(
            ErrorCode::Timeout,
            format!(
                "the server did not answer within the {}s test budget (during {name}); check that it is running and responsive",
                self.deadline.budget().as_secs_f64()
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
        self.open(url, credentials, headers, budget, &Opening::default()).await
    }

    /// [`Self::connect`], answering the server's requests as `opening` says
    /// (the per-connector proxy relays them to its own client).
    pub async fn open(
        &self,
        url: &ServerUrl,
        credentials: &Credentials,
        headers: &CustomHeaders,
        budget: Duration,
        opening: &Opening,
    ) -> Result<(Session, Option<ServerInfo>), Failure> {
        let steps = Steps::new(&Silent, budget);
        let target = Target::new(url.as_url().clone(), credentials, headers);
        steps
            .deadline
            .run(self.check_egress(&target))
            .await
            .map_err(|_| steps.timeout("connect"))??;
        let remembered = self.eras.recall(&target.url);
        let wanted = match &remembered {
            Some(Known::LegacySse) => remembered.clone(),
            // `initialize`, whatever the server speaks without it.
            _ if opening.session => Some(Known::Session),
            // rmcp hands a session's notifications to its handler only when
            // it discovered the server itself: a relayed one asks again.
            Some(Known::Stateless(_)) if opening.side.is_relayed() => None,
            _ => remembered.clone(),
        };
        let opened = match self
            .handshake(&target, &steps, &mut "connect", wanted.clone(), opening)
            .await
        {
            Err(failure) if remembered.is_some() && !opening.session => {
                self.eras.forget(&target.url);
                return Err(failure);
            }
            other => other?,
        };
        if wanted.is_none()
            && let Some(known) = known(&opened.session, opened.era)
        {
            self.eras.remember(&target.url, known);
        }
        let info = server_info(&opened.session, opened.era);
        Ok((opened.session, info))
    }

    /// Forgets what era the server at `url` spoke: a call on a session in that
    /// era failed, and the next session detects again.
    pub fn forget_era(&self, url: &str) {
        if let Ok(url) = url::Url::parse(url) {
            self.eras.forget(&url);
        }
    }

    async fn check_egress(&self, target: &Target) -> Result<(), Failure> {
        self.guard().check_url(&target.url).await.map(drop).map_err(|e| {
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
        let steps = Steps::new(observer, budget);
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
        let opened = self.handshake(&target, steps, last, None, &Opening::default()).await?;
        report.server = server_info(&opened.session, opened.era);
        if let Some(known) = known(&opened.session, opened.era) {
            self.eras.remember(&target.url, known);
        }
        let has_tools = opened
            .session
            .peer_info()
            .is_some_and(|i| i.capabilities.tools.is_some());

        *last = "list_tools";
        let listed = if has_tools {
            steps.run("list_tools", self.list_tools(&opened)).await
        } else {
            let started = steps.start("list_tools");
            steps.end(
                "list_tools",
                started,
                Ok(Some("the server does not offer tools".into())),
            );
            Ok(Vec::new())
        };
        close(opened.session).await;
        report.tools = listed?;
        if report.tools.is_empty() {
            report.warning = Some(Failure::new(
                ErrorCode::NoTools,
                "the server works but offers no tools; you can save it, but the agent will have nothing to use",
            ));
        }
        Ok(())
    }
}

/// Ends the session (DELETE for Streamable HTTP), without letting a slow server hold the caller.
pub async fn close(client: Session) {
    let _ = tokio::time::timeout(Duration::from_secs(2), client.cancel()).await;
}
