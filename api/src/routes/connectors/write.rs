//! Create and update: parse the body, merge omitted secrets with the stored
//! ones (never across a change of host), verify the connection when it is new
//! or changed (test before save), seal, and write.

use switchboard_core::binding::Reach;
use switchboard_core::connector_secrets::{self, SealedSecrets};
use switchboard_core::domain::{
    AuthType, ConnectorDraft, ConnectorInput, Credentials, CustomHeaders, FieldError, ServerUrl, ToolPins, UserId,
    name_key,
};
use switchboard_core::oauth::OAuthTarget;
use switchboard_core::store::{ConnectorRecord, ConnectorState, Json, PolicyOwner, now};
use uuid::Uuid;

use super::verify::{self, Verified};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How a connector reaches its server: what a connection test exercises.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub url: ServerUrl,
    pub credentials: Credentials,
    pub headers: CustomHeaders,
}

/// The settings of a new connector.
pub fn new_connection(draft: &ConnectorDraft) -> ApiResult<Connection> {
    let credentials = draft.auth.resolve(None, Reach::Elsewhere).map_err(one)?;
    let headers = CustomHeaders::parse(draft.headers.as_ref().unwrap_or(&Default::default()), None).map_err(one)?;
    Ok(Connection {
        url: draft.server_url.clone(),
        credentials,
        headers,
    })
}

/// The settings a connector has now.
pub fn stored_connection(state: &AppState, record: &ConnectorRecord) -> ApiResult<Connection> {
    Ok(Connection {
        url: ServerUrl::parse(&record.server_url)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored URL: {e}")))?,
        credentials: connector_secrets::open_credentials(&state.vault, record)?,
        headers: connector_secrets::open_headers(&state.vault, record)?,
    })
}

/// The settings after an edit: omitted secrets keep the stored ones only
/// where those may go ([`Reach`]: bearer tokens and header values within the
/// saved origin, OAuth access tokens to the saved URL only). The draft was
/// checked already, so what fails here is an omitted secret with nothing
/// stored to keep: 409 `SECRET_NOT_STORED`, at its field.
pub fn edited_connection(current: &Connection, draft: &ConnectorDraft) -> ApiResult<Connection> {
    let reach = Reach::between(&draft.server_url, &current.url);
    let credentials = draft
        .auth
        .resolve(Some(&current.credentials), reach)
        .map_err(not_stored)?;
    let stored_headers = reach.allows_origin_secrets().then_some(&current.headers);
    let headers = match &draft.headers {
        Some(input) => CustomHeaders::parse(input, stored_headers).map_err(not_stored)?,
        None if !reach.allows_origin_secrets() && !current.headers.is_empty() => {
            return Err(not_stored(FieldError::body(
                &["headers"],
                "the server host changed: send the custom headers again (or {} to remove them)",
            )));
        }
        None => current.headers.clone(),
    };
    Ok(Connection {
        url: draft.server_url.clone(),
        credentials,
        headers,
    })
}

pub async fn create(state: &AppState, user: &UserId, input: ConnectorInput) -> ApiResult<ConnectorRecord> {
    let test_run_id = input.test_run_id;
    let draft = ConnectorDraft::parse(input).map_err(ApiError::validation)?;
    let connection = new_connection(&draft)?;
    precheck(state, user, &draft).await?;
    let verified = verify::verify(state, user, &connection, test_run_id, None).await?;
    let id = Uuid::now_v7();
    let now = now();
    let mut record = ConnectorRecord {
        id,
        owner: user.as_str().to_owned(),
        name: String::new(),
        name_key: String::new(),
        description: String::new(),
        server_url: String::new(),
        auth_type: String::new(),
        auth_configured: false,
        auth_hint: None,
        credentials: None,
        headers: None,
        header_names: Json(Vec::new()),
        enabled: draft.enabled.unwrap_or(true),
        tool_policy: draft.tool_policy.unwrap_or_default().as_str().to_owned(),
        state: ConnectorState::Active.as_str().to_owned(),
        tools: Json(Vec::new()),
        tool_pins: None,
        pins_rev: 0,
        changes_pending: 0,
        tools_discovered_at: None,
        last_test_status: None,
        last_error_code: None,
        consecutive_failures: 0,
        next_check_at: None,
        created_at: now,
        updated_at: now,
    };
    apply(&mut record, &draft, seal(state, user, id, &connection));
    apply_verified(state, &mut record, verified);
    state
        .store
        .insert_connector(&record, state.settings.max_connectors)
        .await?;
    Ok(record)
}

/// Refuses early what the insert would refuse anyway, before a connection test runs.
async fn precheck(state: &AppState, user: &UserId, draft: &ConnectorDraft) -> ApiResult<()> {
    let existing = state.store.connectors(user).await?;
    if existing.len() >= state.settings.max_connectors as usize {
        return Err(switchboard_core::store::StoreError::LimitReached(state.settings.max_connectors).into());
    }
    let key = draft.name.key();
    if existing.iter().any(|c| c.name_key == key || name_key(&c.name) == key) {
        return Err(switchboard_core::store::StoreError::Duplicate("connector_name").into());
    }
    Ok(())
}

/// What an update tells the caller besides the connector.
pub const GRANT_DROPPED: &str = "the OAuth authorization was for the previous server or client, so it was revoked \
    and is never sent to the new one: authorize the connector again";

/// What an update did.
pub struct Updated {
    pub record: ConnectorRecord,
    /// Set when the update revoked an OAuth grant.
    pub notice: Option<&'static str>,
    /// Tools whose definitions the re-tested settings approved in place of
    /// the pinned ones (the user saw them in the test's result).
    pub approved_tools: Vec<String>,
}

pub async fn update(state: &AppState, user: &UserId, id: Uuid, input: ConnectorInput) -> ApiResult<Updated> {
    let test_run_id = input.test_run_id;
    let draft = ConnectorDraft::parse(input).map_err(ApiError::validation)?;
    let mut record = state.store.connector(user, id).await.map_err(super::not_found)?;
    let current = stored_connection(state, &record)?;
    let connection = edited_connection(&current, &draft)?;
    // An OAuth grant belongs to one server and client: it is tested with (and
    // kept) only when neither changed; otherwise it is never sent to the new
    // settings, and is revoked once they are saved.
    let keeps_grant = same_oauth_client(&current, &connection);
    let verified = if connection == current {
        None
    } else {
        Some(verify::verify(state, user, &connection, test_run_id, keeps_grant.then_some(id)).await?)
    };
    if let Some(enabled) = draft.enabled {
        record.enabled = enabled;
    }
    if let Some(policy) = draft.tool_policy {
        record.tool_policy = policy.as_str().to_owned();
    }
    apply(&mut record, &draft, seal(state, user, id, &connection));
    record.updated_at = now();
    let reverified = verified.is_some();
    let mut approved_tools = Vec::new();
    if let Some(verified) = verified {
        let previous = record.tool_pins.take().map(|p| p.0);
        apply_verified(state, &mut record, verified);
        if let (Some(previous), Some(now)) = (previous, &record.tool_pins) {
            approved_tools = previous.differing(&now.0.tools);
        }
    }
    state.store.update_connector(&record, reverified).await?;
    if let Some(policy) = draft.tool_policy {
        let of = PolicyOwner::Connector(id);
        state.store.set_default_policy(user, of, policy).await?;
    }
    let mut notice = None;
    if !keeps_grant
        && current.credentials.auth_type() == AuthType::Oauth
        && state.oauth.forget(user.as_str(), OAuthTarget::Connector(id)).await?
    {
        notice = Some(GRANT_DROPPED);
    }
    Ok(Updated {
        record,
        notice,
        approved_tools,
    })
}

/// Both OAuth, same server URL, same client id and scopes.
fn same_oauth_client(current: &Connection, edited: &Connection) -> bool {
    match (&current.credentials, &edited.credentials) {
        (Credentials::Oauth(a), Credentials::Oauth(b)) => {
            current.url == edited.url && a.client_id == b.client_id && a.scopes == b.scopes
        }
        _ => false,
    }
}

fn seal(state: &AppState, user: &UserId, id: Uuid, c: &Connection) -> SealedSecrets {
    connector_secrets::seal(&state.vault, user.as_str(), &id.to_string(), &c.credentials, &c.headers)
}

fn apply(record: &mut ConnectorRecord, draft: &ConnectorDraft, sealed: SealedSecrets) {
    // A name kept as it was keeps its key: look-alike names saved before keys
    // were normalized (see `store::data`) both stay editable.
    if record.name_key.is_empty() || record.name != draft.name.as_str() {
        record.name_key = draft.name.key();
    }
    record.name = draft.name.as_str().to_owned();
    record.description = draft.description.as_str().to_owned();
    record.server_url = draft.server_url.to_string();
    record.auth_type = draft.auth_type.as_str().to_owned();
    record.auth_configured = sealed.auth_configured;
    record.auth_hint = sealed.auth_hint;
    record.credentials = sealed.credentials;
    record.headers = sealed.headers;
    record.header_names = Json(sealed.header_names);
}

/// A passed test's findings: the tools, approved as the user saw them (pinned;
/// an OAuth connector before its sign-in has nothing to pin until its first
/// discovery), and a clean bill of health (or, for OAuth before
/// authorization, `needs_authorization`).
fn apply_verified(state: &AppState, record: &mut ConnectorRecord, verified: Verified) {
    record.tool_pins = (!verified.needs_authorization()).then(|| Json(ToolPins::approved(verified.tools.clone())));
    record.changes_pending = 0;
    record.state = if verified.needs_authorization() {
        ConnectorState::NeedsAuthorization
    } else {
        ConnectorState::Active
    }
    .as_str()
    .to_owned();
    record.tools = Json(verified.tools);
    record.tools_discovered_at = Some(verified.discovered_at);
    record.consecutive_failures = 0;
    record.last_test_status = Some("ok".into());
    record.last_error_code = verified.warning;
    record.next_check_at = state
        .settings
        .jobs
        .health_interval
        .and_then(|i| chrono::Duration::from_std(i).ok())
        .map(|i| now() + i);
}

fn one(error: FieldError) -> ApiError {
    ApiError::validation(vec![error])
}

/// 409 `SECRET_NOT_STORED`: the body leaves out a secret to keep the stored
/// one, and none is stored that may go where the edited settings point.
fn not_stored(error: FieldError) -> ApiError {
    ApiError::conflict("SECRET_NOT_STORED", error.msg.clone())
        .with_details(serde_json::to_value([error]).unwrap_or_default())
}
