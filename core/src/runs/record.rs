//! The `runs` row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Fingerprint, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// What a run works on, without secrets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInput {
    pub server_url: String,
    pub auth_type: String,
    #[serde(default)]
    pub header_names: Vec<String>,
    /// Salted digest of URL + credentials + headers: what "save" must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
}

/// A `runs` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRecord {
    pub id: Uuid,
    pub owner: String,
    pub kind: String,
    pub status: String,
    pub connector_id: Option<Uuid>,
    pub input: Json<RunInput>,
    /// Sealed `runs.sealed_input` (the test's credentials and headers); cleared at the end.
    pub sealed_input: Option<Vec<u8>>,
    pub steps: Json<Vec<Step>>,
    pub result: Option<Json<Value>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl RunRecord {
    pub fn status(&self) -> RunStatus {
        RunStatus::parse(&self.status).unwrap_or(RunStatus::Failed)
    }
}
