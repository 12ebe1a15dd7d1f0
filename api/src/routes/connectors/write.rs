//! Create and update: parse the body, merge omitted secrets with the stored
//! ones (never across a change of host), seal, and write.

use switchboard_core::connector_secrets::{self, SealedSecrets};
use switchboard_core::domain::{ConnectorDraft, ConnectorInput, CustomHeaders, FieldError, ServerUrl, UserId};
use switchboard_core::store::{ConnectorRecord, ConnectorState, Json, now};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn create(state: &AppState, user: &UserId, input: ConnectorInput) -> ApiResult<ConnectorRecord> {
    let draft = ConnectorDraft::parse(input).map_err(ApiError::validation)?;
    let id = Uuid::now_v7();
    let credentials = draft.auth.resolve(None, false).map_err(one)?;
    let headers = CustomHeaders::parse(draft.headers.as_ref().unwrap_or(&Default::default()), None).map_err(one)?;
    let sealed = connector_secrets::seal(&state.vault, user.as_str(), &id.to_string(), &credentials, &headers);
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
        state: ConnectorState::Active.as_str().to_owned(),
        tools: Json(Vec::new()),
        tools_discovered_at: None,
        last_test_status: None,
        last_error_code: None,
        consecutive_failures: 0,
        created_at: now,
        updated_at: now,
    };
    apply(&mut record, &draft, sealed);
    state
        .store
        .insert_connector(&record, state.settings.max_connectors)
        .await?;
    Ok(record)
}

pub async fn update(state: &AppState, user: &UserId, id: Uuid, input: ConnectorInput) -> ApiResult<ConnectorRecord> {
    let draft = ConnectorDraft::parse(input).map_err(ApiError::validation)?;
    let mut record = state.store.connector(user, id).await.map_err(super::not_found)?;
    let host_changed = ServerUrl::parse(&record.server_url).map_or(true, |old| old.origin_differs(&draft.server_url));
    let stored_credentials = connector_secrets::open_credentials(&state.vault, &record)?;
    let stored_headers = connector_secrets::open_headers(&state.vault, &record)?;
    let credentials = draft
        .auth
        .resolve(Some(&stored_credentials), host_changed)
        .map_err(one)?;
    let headers = match &draft.headers {
        Some(input) => CustomHeaders::parse(input, (!host_changed).then_some(&stored_headers)).map_err(one)?,
        None if host_changed && !stored_headers.is_empty() => {
            return Err(one(FieldError::body(
                &["headers"],
                "the server host changed: send the custom headers again (or {} to remove them)",
            )));
        }
        None => stored_headers,
    };
    let sealed = connector_secrets::seal(&state.vault, user.as_str(), &id.to_string(), &credentials, &headers);
    if let Some(enabled) = draft.enabled {
        record.enabled = enabled;
    }
    apply(&mut record, &draft, sealed);
    record.updated_at = now();
    state.store.update_connector(&record).await?;
    Ok(record)
}

fn apply(record: &mut ConnectorRecord, draft: &ConnectorDraft, sealed: SealedSecrets) {
    record.name = draft.name.as_str().to_owned();
    record.name_key = draft.name.key();
    record.description = draft.description.as_str().to_owned();
    record.server_url = draft.server_url.to_string();
    record.auth_type = draft.auth_type.as_str().to_owned();
    record.auth_configured = sealed.auth_configured;
    record.auth_hint = sealed.auth_hint;
    record.credentials = sealed.credentials;
    record.headers = sealed.headers;
    record.header_names = Json(sealed.header_names);
}

fn one(error: FieldError) -> ApiError {
    ApiError::validation(vec![error])
}
