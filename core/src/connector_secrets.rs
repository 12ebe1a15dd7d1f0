//! Sealing and opening a connector's secrets (auth credentials and custom
//! headers), bound to the connector's owner and id.

use anyhow::Context as _;

use crate::domain::{Credentials, CustomHeaders};
use crate::store::{ConnectorRecord, SealedColumn};
use crate::vault::{Aad, Vault};

/// The sealed columns and the non-secret summaries stored beside them.
#[derive(Debug)]
pub struct SealedSecrets {
    pub credentials: Option<Vec<u8>>,
    pub headers: Option<Vec<u8>>,
    pub header_names: Vec<String>,
    pub auth_configured: bool,
    pub auth_hint: Option<String>,
}

pub fn aad<'a>(column: SealedColumn, owner: &'a str, row: &'a str) -> Aad<'a> {
    Aad {
        field: column.field(),
        owner,
        row,
    }
}

/// Seals `credentials` and `headers` for connector `id` of `owner`.
pub fn seal(vault: &Vault, owner: &str, id: &str, credentials: &Credentials, headers: &CustomHeaders) -> SealedSecrets {
    SealedSecrets {
        credentials: (*credentials != Credentials::None)
            .then(|| vault.seal_json(aad(SealedColumn::ConnectorCredentials, owner, id), credentials)),
        headers: (!headers.is_empty())
            .then(|| vault.seal_json(aad(SealedColumn::ConnectorHeaders, owner, id), headers)),
        header_names: headers.names(),
        auth_configured: credentials.is_configured(),
        auth_hint: credentials.hint(),
    }
}

/// The connector's credentials in plaintext (`Credentials::None` when nothing is stored).
pub fn open_credentials(vault: &Vault, record: &ConnectorRecord) -> anyhow::Result<Credentials> {
    let Some(blob) = &record.credentials else {
        return Ok(Credentials::None);
    };
    let id = record.id.to_string();
    vault
        .open_json(aad(SealedColumn::ConnectorCredentials, &record.owner, &id), blob)
        .with_context(|| format!("Failed to open credentials of connector {id}"))
}

/// The connector's custom headers in plaintext.
pub fn open_headers(vault: &Vault, record: &ConnectorRecord) -> anyhow::Result<CustomHeaders> {
    let Some(blob) = &record.headers else {
        return Ok(CustomHeaders::default());
    };
    let id = record.id.to_string();
    vault
        .open_json(aad(SealedColumn::ConnectorHeaders, &record.owner, &id), blob)
        .with_context(|| format!("Failed to open headers of connector {id}"))
}
