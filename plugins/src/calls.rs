//! Starting a call of one catalog tool as an `InvokeTool` run: resolve the
//! name in the user's catalog, check the arguments against the tool's input
//! schema, honour the idempotency key (a replay gives back the original run;
//! the same key for another request is refused), then queue the run. The API,
//! the MCP gateway and agent turns all call tools through here, so they share
//! the queue, the retry policy and the timeouts.
//!
//! A tool whose policy is `ask` does not run until a person approves the
//! call: for the API and agent turns its run is created `awaiting_approval`
//! with an approval (no job); for the MCP gateway and the proxy, where
//! nobody polls a run, the call is refused with [`CallError::ApprovalRequired`]
//! unless an approval was given for this exact call (a single-use grant).

use base64::Engine as _;
use serde_json::{Map, Value, json};
use switchboard_core::approvals::{self, ApprovalRecord, NewApproval, Origin, Policy};
use switchboard_core::catalog::{Catalog, CatalogEntry};
use switchboard_core::domain::{FieldError, UserId};
use switchboard_core::jobs::RunKind;
use switchboard_core::runs::launch::{LaunchError, NewRun, launch, prepare};
use switchboard_core::runs::{InvocationInput, RunEvent, RunInput, RunRecord, RunStatus, ToolTarget};
use switchboard_core::services::Services;
use switchboard_core::store::StoreError;

/// One requested call (`Debug` leaves out the arguments).
#[derive(Clone)]
pub struct CallRequest {
    /// The catalog name of the tool.
    pub tool: String,
    pub arguments: Map<String, Value>,
    /// 1–255 visible ASCII characters; the same key never runs twice for a user.
    pub idempotency_key: Option<String>,
    /// Who calls: decides what an `ask` tool does (see the module doc).
    pub origin: Origin,
    /// The agent turn making the call (it parks on an approval).
    pub turn: Option<uuid::Uuid>,
}

impl CallRequest {
    /// A call from `POST /api/agent/invocations`.
    pub fn new(tool: String, arguments: Map<String, Value>, idempotency_key: Option<String>) -> Self {
        Self {
            tool,
            arguments,
            idempotency_key,
            origin: Origin::Invocation,
            turn: None,
        }
    }
}

impl std::fmt::Debug for CallRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRequest")
            .field("tool", &self.tool)
            .field("arguments", &switchboard_core::secret::REDACTED)
            .field("idempotency_key", &self.idempotency_key)
            .field("origin", &self.origin)
            .finish()
    }
}

/// Why a call was not started.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("invalid call")]
    Invalid(Vec<FieldError>),
    #[error("no tool `{0}` in your catalog; list them with GET /api/agent/tools")]
    NotFound(String),
    #[error("{0} is not connected: connect it in the Apps menu first")]
    NotConnected(String),
    #[error("this idempotency key was used for another call; use a new key for a new call")]
    KeyReused,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The user has too many calls waiting already.
    #[error("too many of your calls are waiting; try again in {retry_after} s")]
    Busy { retry_after: u64 },
    #[error("the call could not be queued: {0:#}")]
    Queue(anyhow::Error),
    /// Gateway and proxy: the call waits for this approval; call again once approved.
    #[error("this call needs your approval first")]
    ApprovalRequired(Box<ApprovalRecord>),
    /// The user has too many calls waiting for approval already.
    #[error("{0} of your calls are waiting for your approval already; decide on them first")]
    TooManyApprovals(u32),
}

/// Resolves, checks and queues a call; a replayed idempotency key gives back the original run.
pub async fn start(services: &Services, user: &UserId, request: CallRequest) -> Result<RunRecord, CallError> {
    let catalog = crate::catalog::load(&*services.store, user).await?;
    start_in(services, user, &catalog, request).await
}

/// [`start`] with a catalog already loaded (agent turns load it once per turn).
pub async fn start_in(
    services: &Services,
    user: &UserId,
    catalog: &Catalog,
    mut request: CallRequest,
) -> Result<RunRecord, CallError> {
    if let Some(key) = &request.idempotency_key {
        let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(CallError::Invalid(vec![FieldError::body(
                &["idempotency_key"],
                "use 1-255 visible ASCII characters",
            )]));
        }
    }
    let entry = find(catalog, &request.tool)?;
    let arguments = Value::Object(std::mem::take(&mut request.arguments));
    crate::schema::check(&entry.input_schema, &arguments).map_err(CallError::Invalid)?;
    let request_hash = request_hash(&entry.name, &arguments);
    if let Some(key) = &request.idempotency_key
        && let Some(existing) = replay(services, user, key, &request_hash).await?
    {
        return Ok(existing);
    }
    let Value::Object(arguments) = arguments else {
        unreachable!("built from a map")
    };
    let granted = match request.origin {
        Origin::Gateway | Origin::Proxy => approve_over_mcp(services, user, entry, &arguments, request.origin).await?,
        Origin::Invocation | Origin::Agent if entry.policy == Policy::Ask => {
            return ask(services, user, entry, request, arguments, request_hash).await;
        }
        Origin::Invocation | Origin::Agent => None,
    };
    let new = NewRun {
        owner: user.clone(),
        kind: RunKind::InvokeTool,
        connector_id: entry.connector_id(),
        input: RunInput {
            tool: Some(target(entry)),
            approval_id: granted,
            ..RunInput::default()
        },
        sealed: Some(json!(InvocationInput { arguments })),
        idempotency: request.idempotency_key.clone().map(|k| (k, request_hash.clone())),
    };
    match launch(services, new).await {
        Ok(run) => Ok(run),
        Err(LaunchError::Store(StoreError::Duplicate("idempotency_key"))) => {
            // Another request with this key won the race.
            let key = request.idempotency_key.as_deref().unwrap_or_default();
            replay(services, user, key, &request_hash)
                .await?
                .ok_or_else(|| CallError::Queue(anyhow::anyhow!("the idempotency key's run vanished")))
        }
        Err(LaunchError::Busy { retry_after }) => Err(CallError::Busy { retry_after }),
        Err(LaunchError::Store(e)) => Err(CallError::Store(e)),
        Err(LaunchError::QueueUnavailable(e)) => Err(CallError::Queue(e)),
    }
}

/// An `ask` call from the API or an agent turn: its run waits for the approval.
async fn ask(
    services: &Services,
    user: &UserId,
    entry: &CatalogEntry,
    request: CallRequest,
    arguments: Map<String, Value>,
    request_hash: String,
) -> Result<RunRecord, CallError> {
    let target = target(entry);
    let sealed = json!(InvocationInput {
        arguments: arguments.clone()
    });
    let new = NewRun {
        owner: user.clone(),
        kind: RunKind::InvokeTool,
        connector_id: entry.connector_id(),
        input: RunInput {
            tool: Some(target.clone()),
            ..RunInput::default()
        },
        sealed: Some(sealed),
        idempotency: request.idempotency_key.clone().map(|k| (k, request_hash.clone())),
    };
    let mut run = prepare(services, new);
    let approval = approvals::pending(
        services,
        NewApproval {
            owner: user,
            origin: if request.turn.is_some() {
                Origin::Agent
            } else {
                Origin::Invocation
            },
            run_id: Some(run.id),
            turn_id: request.turn,
            target: &target,
            display_name: &entry.display_name,
            request_hash: &approvals::call_hash(&entry.source.id, &entry.tool, &arguments),
            arguments: &arguments,
        },
    );
    run.status = RunStatus::AwaitingApproval.as_str().to_owned();
    run.input.0.approval_id = Some(approval.id);
    match insert(services, &approval, Some(&run)).await {
        Ok(()) => {}
        Err(CallError::Store(StoreError::Duplicate("idempotency_key"))) => {
            // Another request with this key won the race.
            let key = request.idempotency_key.as_deref().unwrap_or_default();
            return replay(services, user, key, &request_hash)
                .await?
                .ok_or_else(|| CallError::Queue(anyhow::anyhow!("the idempotency key's run vanished")));
        }
        Err(e) => return Err(e),
    }
    let event = RunEvent::AwaitingApproval {
        approval_id: approval.id,
    };
    if let Err(e) = services.events.append(run.id, event).await {
        tracing::warn!(run_id = %run.id, error = %e, "failed to publish a run event");
    }
    Ok(run)
}

/// Over MCP (the gateway, the proxy): `Ok` when the call may run now — its
/// tool is allowed, or a grant for this exact call was used (its id);
/// otherwise a pending approval (the one an identical call already waits
/// on, or a new one) and [`CallError::ApprovalRequired`] naming it.
pub async fn approve_over_mcp(
    services: &Services,
    user: &UserId,
    entry: &CatalogEntry,
    arguments: &Map<String, Value>,
    origin: Origin,
) -> Result<Option<uuid::Uuid>, CallError> {
    if entry.policy != Policy::Ask {
        return Ok(None);
    }
    let request_hash = approvals::call_hash(&entry.source.id, &entry.tool, arguments);
    if let Some(grant) = approvals::use_grant(services, user, &request_hash).await? {
        return Ok(Some(grant));
    }
    let waiting = services
        .store
        .pending_like(
            user.as_str(),
            &request_hash,
            origin.as_str(),
            switchboard_core::store::now(),
        )
        .await?;
    if let Some(approval) = waiting {
        return Err(CallError::ApprovalRequired(Box::new(approval)));
    }
    let target = target(entry);
    let approval = approvals::pending(
        services,
        NewApproval {
            owner: user,
            origin,
            run_id: None,
            turn_id: None,
            target: &target,
            display_name: &entry.display_name,
            request_hash: &request_hash,
            arguments,
        },
    );
    insert(services, &approval, None).await?;
    Err(CallError::ApprovalRequired(Box::new(approval)))
}

async fn insert(services: &Services, approval: &ApprovalRecord, run: Option<&RunRecord>) -> Result<(), CallError> {
    let max = services.settings.limits.backlog;
    match services.store.insert_approval(approval, run, max).await {
        Ok(()) => Ok(()),
        Err(StoreError::LimitReached(n)) => Err(CallError::TooManyApprovals(n)),
        Err(e) => Err(e.into()),
    }
}

fn find<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a CatalogEntry, CallError> {
    catalog
        .get(name)
        .ok_or_else(|| match crate::catalog::unconnected_system_tool(name) {
            Some(tool) => CallError::NotConnected(tool.descriptor().name.to_owned()),
            None => CallError::NotFound(name.to_owned()),
        })
}

fn target(entry: &CatalogEntry) -> ToolTarget {
    ToolTarget {
        catalog_name: entry.name.clone(),
        source_kind: entry.source.kind.clone(),
        connector_id: entry.connector_id(),
        system_tool: (entry.source.kind == "system").then(|| entry.source.id.clone()),
        tool_name: entry.tool.clone(),
        read_only: entry.read_only(),
        idempotent: entry.idempotent(),
    }
}

/// The earlier run of this key, if any; an error when it was for another request.
async fn replay(
    services: &Services,
    user: &UserId,
    key: &str,
    request_hash: &str,
) -> Result<Option<RunRecord>, CallError> {
    match services.store.run_by_idempotency_key(user, key).await {
        Ok(run) if run.request_hash.as_deref() == Some(request_hash) => Ok(Some(run)),
        Ok(_) => Err(CallError::KeyReused),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// SHA-256 of the tool and its arguments (serde_json orders object keys).
fn request_hash(tool: &str, arguments: &Value) -> String {
    let canonical = json!([tool, arguments]).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()))
}
