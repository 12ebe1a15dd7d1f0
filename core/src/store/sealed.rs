//! The sealed columns, named once: rotation and its tests read this registry,
//! and a test fails when the schema has an encrypted (binary) column it lacks.

use crate::vault::Aad;

/// A column that holds vault ciphertexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    ConnectorCredentials,
    ConnectorHeaders,
    UserToolCredentials,
    RunInput,
    OAuthGrant,
    OAuthFlow,
    ApprovalArguments,
}

impl SealedColumn {
    pub const ALL: [Self; 7] = [
        Self::ConnectorCredentials,
        Self::ConnectorHeaders,
        Self::UserToolCredentials,
        Self::RunInput,
        Self::OAuthGrant,
        Self::OAuthFlow,
        Self::ApprovalArguments,
    ];

    /// Rows keyed by (owner, text) rather than by a UUID.
    pub fn keyed_by_owner_and_text(self) -> bool {
        matches!(self, Self::UserToolCredentials | Self::OAuthGrant | Self::OAuthFlow)
    }

    /// `table.column`: the vault's AAD field.
    pub fn field(self) -> &'static str {
        match self {
            Self::ConnectorCredentials => "connectors.credentials",
            Self::ConnectorHeaders => "connectors.headers",
            Self::UserToolCredentials => "user_tools.credentials",
            Self::RunInput => "runs.sealed_input",
            Self::OAuthGrant => "oauth_grants.grant_data",
            Self::OAuthFlow => "oauth_flows.pending",
            Self::ApprovalArguments => "approvals.sealed_arguments",
        }
    }
}

/// One sealed value and the row it is bound to.
#[derive(Debug, Clone)]
pub struct SealedRow {
    pub column: SealedColumn,
    pub owner: String,
    /// The row key inside its table: a connector or run id, a system tool id,
    /// an OAuth target or a flow's state hash.
    pub row: String,
    pub blob: Vec<u8>,
}

impl SealedRow {
    pub fn aad(&self) -> Aad<'_> {
        Aad {
            field: self.column.field(),
            owner: &self.owner,
            row: &self.row,
        }
    }
}
