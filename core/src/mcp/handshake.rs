//! The `connect` and `handshake` steps, detecting the server's [`Era`]:
//! `server/discover` (2026-07-28) first; when the server does not know it,
//! `initialize` over Streamable HTTP; when the server answers that POST with
//! 400, 404 or 405, the legacy HTTP+SSE transport. All of it runs under the
//! test's one deadline. A remembered era skips what it rules out; for a
//! stateless server nothing is sent before the first request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::model::ProtocolVersion;
use rmcp::service::{ClientLifecycleMode, serve_directly};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientServiceExt as _, ServiceExt as _};
use tokio::time::Instant;

use super::classify::{self, InitProblem, excerpt};
use super::codes::{ErrorCode, Failure};
use super::eras::{Era, Known};
use super::probe::{ServerInfo, Session, Steps};
use super::relay::ClientSide;
use super::timed::{AnsweredClient, LiveToken};
use super::{McpClient, Target, legacy};
use crate::egress::http::Deadline;

/// How a session is opened: who answers the server's requests, (for a
/// relayed session) the live OAuth token each request sends, which a refresh
/// replaces without closing the session, and whether a handshake-era session
/// is wanted even from a 2026-07-28 server (a relayed client in a session
/// gets one upstream: resource subscriptions and server-to-client requests
/// exist only there).
#[derive(Debug, Clone)]
pub struct Opening {
    pub side: ClientSide,
    pub token: Option<LiveToken>,
    pub session: bool,
}

impl Default for Opening {
    fn default() -> Self {
        Self {
            side: ClientSide::refusing(),
            token: None,
            session: false,
        }
    }
}

/// An initialized session and how it was reached.
pub(super) struct Opened {
    pub session: Session,
    pub era: Era,
    /// Set if the server sent an event over the size limit (rmcp then reports
    /// only a closed connection).
    pub oversized: Arc<AtomicBool>,
}

impl Opened {
    /// `failure`, or the size limit's failure when an oversized event caused it.
    pub fn explain(&self, failure: Failure, limits: &super::McpLimits) -> Failure {
        explain(&self.oversized, failure, limits)
    }
}

fn explain(oversized: &AtomicBool, failure: Failure, limits: &super::McpLimits) -> Failure {
    if oversized.load(Ordering::Acquire) {
        limits.message_too_large()
    } else {
        failure
    }
}

impl McpClient {
    /// `connect` and `handshake`, reported as steps. `remembered` is what the
    /// server spoke last time (none for a connection test, which detects).
    pub(super) async fn handshake(
        &self,
        target: &Target,
        steps: &Steps<'_>,
        last: &mut &'static str,
        remembered: Option<Known>,
        opening: &Opening,
    ) -> Result<Opened, Failure> {
        let mut client = AnsweredClient::new(self.http().client().clone());
        client.token = opening.token.clone();
        let answered = client.answered.clone();
        let oversized = client.oversized.clone();
        let limits = self.limits();
        let mut config = StreamableHttpClientTransportConfig::with_uri(target.url.as_str())
            .max_sse_event_size(limits.max_message_bytes)
            .max_json_response_size(limits.max_message_bytes)
            .reinit_on_expired_session(false);
        config.auth_header = target.bearer.as_ref().map(|t| t.expose().to_owned());
        config.custom_headers = target.headers.iter().cloned().collect();
        let transport = || StreamableHttpClientTransport::with_client(client.clone(), config.clone());

        let connect_started = steps.start("connect");
        match remembered {
            // Each request carries what the handshake would have said.
            Some(Known::Stateless(info)) => {
                let session = serve_directly(opening.side.clone(), transport(), Some(*info));
                steps.end("connect", connect_started, Ok(None));
                steps.end("handshake", steps.start("handshake"), Ok(None));
                return Ok(Opened {
                    session,
                    era: Era::Stateless,
                    oversized,
                });
            }
            Some(Known::LegacySse) => {
                *last = "handshake";
                steps.end("connect", connect_started, Ok(None));
                return self
                    .legacy(target, steps, steps.start("handshake"), oversized, opening, None)
                    .await;
            }
            Some(Known::Session) | None => {}
        }
        let discover = remembered.is_none();
        let init = async {
            if discover {
                let lifecycle = ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                };
                match opening.side.clone().serve_with_lifecycle(transport(), lifecycle).await {
                    Ok(session) => return Ok((session, Era::Stateless)),
                    Err(e) if !classify::discover_falls_back(&e) => return Err(e),
                    Err(_) => {}
                }
            }
            opening
                .side
                .clone()
                .serve(transport())
                .await
                .map(|session| (session, Era::Session))
        };
        tokio::pin!(init);

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
                () = tokio::time::sleep_until(steps.deadline.instant()) => break None,
            }
        };
        let current = if handshake_started.is_some() {
            "handshake"
        } else {
            "connect"
        };
        let Some(result) = result else {
            let failure = steps.timeout(current);
            steps.end(current, handshake_started.unwrap_or(connect_started), Err(&failure));
            return Err(failure);
        };
        let problem = match result {
            Ok((session, era)) => {
                let started = answered_now(steps, connect_started, handshake_started, last);
                steps.end("handshake", started, Ok(None));
                return Ok(Opened {
                    session,
                    era,
                    oversized,
                });
            }
            Err(e) => match classify::init_error(&e) {
                InitProblem::Failed(failure) => {
                    let failure = classify::without_credentials(target, failure);
                    InitProblem::Failed(explain(&oversized, failure, &limits))
                }
                legacy => legacy,
            },
        };
        // Not reached at all: the step that was running failed.
        if let InitProblem::Failed(failure) = &problem
            && matches!(
                failure.code,
                ErrorCode::ConnectionFailed | ErrorCode::Timeout | ErrorCode::BlockedDestination
            )
        {
            steps.end(current, handshake_started.unwrap_or(connect_started), Err(failure));
            return Err(failure.clone());
        }
        let started = answered_now(steps, connect_started, handshake_started, last);
        match problem {
            InitProblem::TryLegacy(status) => {
                self.legacy(target, steps, started, oversized, opening, Some(status))
                    .await
            }
            InitProblem::Failed(failure) => {
                steps.end("handshake", started, Err(&failure));
                Err(failure)
            }
        }
    }

    /// The `handshake` step over the legacy transport.
    async fn legacy(
        &self,
        target: &Target,
        steps: &Steps<'_>,
        started: Instant,
        oversized: Arc<AtomicBool>,
        opening: &Opening,
        refused: Option<u16>,
    ) -> Result<Opened, Failure> {
        let outcome = match self
            .legacy_handshake(target, steps.deadline, &opening.side, refused)
            .await
        {
            Err(f) if f.code == ErrorCode::Timeout => Err(steps.timeout("handshake")),
            Err(f) => Err(classify::without_credentials(target, f)),
            other => other,
        };
        steps.end("handshake", started, outcome.as_ref().map(|_| None));
        outcome.map(|session| Opened {
            session,
            era: Era::LegacySse,
            oversized,
        })
    }

    /// The legacy transport, wholly under `deadline`: opening the event
    /// stream, waiting for its endpoint and the MCP handshake over it.
    async fn legacy_handshake(
        &self,
        target: &Target,
        deadline: Deadline,
        side: &ClientSide,
        refused: Option<u16>,
    ) -> Result<Session, Failure> {
        let handshake = async {
            let max = self.limits().max_message_bytes;
            let (sink, stream) = legacy::connect(self.http(), target, deadline, max, refused).await?;
            side.clone().serve((sink, stream)).await.map_err(|e| {
                Failure::new(
                    ErrorCode::InvalidMcpServer,
                    format!(
                        "the legacy SSE server did not complete the MCP handshake: {}",
                        excerpt(&e.to_string())
                    ),
                )
            })
        };
        deadline
            .run(handshake)
            .await
            .unwrap_or_else(|_| Err(Failure::new(ErrorCode::Timeout, "timed out")))
    }
}

/// Marks `connect` done if the answer was not noticed yet; returns when the handshake started.
fn answered_now(steps: &Steps<'_>, connect: Instant, handshake: Option<Instant>, last: &mut &'static str) -> Instant {
    handshake.unwrap_or_else(|| {
        steps.end("connect", connect, Ok(None));
        *last = "handshake";
        steps.start("handshake")
    })
}

/// The server as it introduced itself in the handshake (or in `server/discover`).
pub(super) fn server_info(session: &Session, era: Era) -> Option<ServerInfo> {
    session.peer_info().map(|i| ServerInfo {
        name: i.server_info.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
        version: i.server_info.as_ref().map(|s| s.version.clone()).unwrap_or_default(),
        protocol_version: i.protocol_version.to_string(),
        transport: if era == Era::LegacySse {
            "sse"
        } else {
            "streamable_http"
        }
        .to_owned(),
        era: Some(era),
    })
}

/// What to remember of a server that opened `session` in `era`. Of a
/// stateless server's discovery answer, only what requests need is kept
/// (not its instructions), and nothing when that is over
/// [`MAX_REMEMBERED_BYTES`]: thousands of servers are remembered.
pub(super) fn known(session: &Session, era: Era) -> Option<Known> {
    match era {
        Era::Stateless => {
            let mut info = (*session.peer_info()?).clone();
            info.instructions = None;
            info.meta = None;
            let size = serde_json::to_vec(&info).map_or(usize::MAX, |v| v.len());
            (size <= MAX_REMEMBERED_BYTES).then(|| Known::Stateless(Box::new(info)))
        }
        Era::Session => Some(Known::Session),
        Era::LegacySse => Some(Known::LegacySse),
    }
}

/// The largest discovery answer remembered per server.
const MAX_REMEMBERED_BYTES: usize = 16 * 1024;
