//! Starting a call of one catalog tool as an `InvokeTool` run: resolve the
//! name in the user's catalog, check the arguments against the tool's input
//! schema, honour the idempotency key (a replay gives back the original run;
//! the same key for another request is refused), then queue the run. The API,
//! the MCP gateway and agent turns all call tools through here, so they share
//! the queue, the retry policy and the timeouts.

use base64::Engine as _;
use serde_json::{Map, Value, json};
use switchboard_core::catalog::{Catalog, CatalogEntry};
use switchboard_core::domain::{FieldError, UserId};
use switchboard_core::jobs::RunKind;
use switchboard_core::runs::launch::{LaunchError, NewRun, launch};
use switchboard_core::runs::{InvocationInput, RunInput, RunRecord, ToolTarget};
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
}

impl std::fmt::Debug for CallRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRequest")
            .field("tool", &self.tool)
            .field("arguments", &switchboard_core::secret::REDACTED)
            .field("idempotency_key", &self.idempotency_key)
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
    request: CallRequest,
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
    let arguments = Value::Object(request.arguments);
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
    let new = NewRun {
        owner: user.clone(),
        kind: RunKind::InvokeTool,
        connector_id: entry.connector_id(),
        input: RunInput {
            tool: Some(target(entry)),
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
