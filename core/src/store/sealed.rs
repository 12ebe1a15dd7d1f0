//! The sealed columns, named once, so rotation cannot miss one.

use crate::vault::Aad;

/// A column that holds vault ciphertexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    ConnectorCredentials,
    ConnectorHeaders,
    UserToolCredentials,
    RunInput,
}

impl SealedColumn {
    pub const ALL: [Self; 3] = [
        Self::ConnectorCredentials,
        Self::ConnectorHeaders,
        Self::UserToolCredentials,
    ];

    /// `table.column`: the vault's AAD field.
    pub fn field(self) -> &'static str {
        match self {
            Self::ConnectorCredentials => "connectors.credentials",
            Self::ConnectorHeaders => "connectors.headers",
            Self::UserToolCredentials => "user_tools.credentials",
            Self::RunInput => "runs.sealed_input",
        }
    }
}

/// One sealed value and the row it is bound to.
#[derive(Debug, Clone)]
pub struct SealedRow {
    pub column: SealedColumn,
    pub owner: String,
    /// The row key inside its table: a connector or run id, or a system tool id.
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
