//! The one error type of the HTTP API.
//!
//! Policy: every error answers `{"error": {"code", "message", "details"?}}`.
//! 4xx carry a stable upper-case `code` and a message that says what to do;
//! 5xx are logged here with their cause chain and answered with a generic
//! message, never internals. Domain errors map here, in one place, so route
//! modules only `?`: store errors ([`From<StoreError>`]: a missing row is 404
//! whoever owns it, a taken name or a full quota 409), launching runs
//! ([`From<LaunchError>`]: a full backlog 429, an unavailable queue 503) and
//! starting tool calls ([`From<CallError>`]).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use switchboard_core::domain::FieldError;
use switchboard_core::runs::launch::LaunchError;
use switchboard_core::store::StoreError;
use switchboard_plugins::calls::CallError;
use utoipa::ToSchema;

pub type ApiResult<T> = Result<T, ApiError>;

/// An error answer. Boxed: it travels through every handler's `Result`.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<Value>,
    /// Extra `WWW-Authenticate` parameters for 401s.
    www_authenticate: Option<String>,
    /// Seconds for a `Retry-After` header (429, 503).
    retry_after: Option<u64>,
    source: Option<anyhow::Error>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `VALIDATION_FAILED`.
    pub code: String,
    pub message: String,
    /// For validation errors: `[{"loc": ["body", "name"], "msg": "…"}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            code,
            message: message.into(),
            details: None,
            www_authenticate: None,
            retry_after: None,
            source: None,
        }))
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.0.details = Some(details);
        self
    }

    /// Adds a `Retry-After` header.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The message as answered (generic for 5xx).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Validation details, if any.
    pub fn details(&self) -> Option<&Value> {
        self.0.details.as_ref()
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("{what} not found"))
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let summary = match errors.as_slice() {
            [one] => format!("{}: {}", one.loc.join("."), one.msg),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED", summary)
            .with_details(serde_json::to_value(errors).unwrap_or_default())
    }

    /// 401 with `WWW-Authenticate: Bearer …`.
    pub fn unauthorized(message: impl Into<String>, invalid_token: bool) -> Self {
        let mut err = Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message);
        if invalid_token {
            err.0.www_authenticate = Some(r#"error="invalid_token""#.into());
        }
        err
    }

    /// 429 `RATE_LIMITED` with `Retry-After`: too many `what` this minute.
    pub fn rate_limited(what: &str, retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("too many {what}; try again in {retry_after} s"),
        )
        .with_retry_after(retry_after)
    }

    /// 503 `QUEUE_UNAVAILABLE` with `Retry-After`; the cause is logged.
    pub fn queue_unavailable(source: anyhow::Error) -> Self {
        tracing::error!(error = format!("{source:#}"), "could not queue a run");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "QUEUE_UNAVAILABLE",
            "the job queue is unavailable; please retry shortly",
        )
        .with_retry_after(5)
    }

    /// 500; the cause is logged, never sent.
    pub fn internal(source: anyhow::Error) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal error; please retry later",
        );
        err.0.source = Some(source);
        err
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("resource"),
            StoreError::Duplicate("connector_name") => Self::conflict(
                "CONNECTOR_NAME_TAKEN",
                "you already have a connector with this name; choose another name",
            ),
            StoreError::Duplicate(what) => Self::conflict("CONFLICT", format!("already exists ({what})")),
            StoreError::LimitReached(limit) => Self::conflict(
                "CONNECTOR_LIMIT_REACHED",
                format!("you can have at most {limit} connectors; delete one to add another"),
            ),
            StoreError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "DATABASE_UNAVAILABLE",
                "the service is busy or its database briefly unavailable; please retry shortly",
            )
            .with_retry_after(2),
            StoreError::Database(e) => Self::internal(e),
        }
    }
}

impl From<LaunchError> for ApiError {
    fn from(e: LaunchError) -> Self {
        match e {
            LaunchError::Busy { retry_after } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "BACKLOG_FULL",
                "too many of your runs of this kind are waiting already; try again shortly",
            )
            .with_retry_after(retry_after),
            LaunchError::QueueUnavailable(e) => Self::queue_unavailable(e),
            LaunchError::Store(e) => e.into(),
        }
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        let message = e.to_string();
        match e {
            CallError::Invalid(errors) => Self::validation(errors),
            CallError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "TOOL_NOT_FOUND", message),
            CallError::NotConnected(_) => Self::conflict("NOT_CONNECTED", message),
            CallError::KeyReused => Self::conflict("IDEMPOTENCY_KEY_REUSED", message),
            CallError::Busy { retry_after } => LaunchError::Busy { retry_after }.into(),
            CallError::Store(e) => e.into(),
            CallError::Queue(e) => Self::queue_unavailable(e),
            CallError::ApprovalRequired(approval) => Self::conflict("APPROVAL_REQUIRED", message)
                .with_details(serde_json::json!({"approval_id": approval.id})),
            CallError::TooManyApprovals(_) => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_APPROVALS", message).with_retry_after(30)
            }
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let this = *self.0;
        if let Some(source) = &this.source {
            tracing::error!(error = format!("{source:#}"), code = this.code, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: this.code.to_owned(),
                message: this.message,
                details: this.details,
            },
        };
        let mut response = (this.status, Json(body)).into_response();
        if let Some(seconds) = this.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if this.status == StatusCode::UNAUTHORIZED {
            let value = match this.www_authenticate {
                Some(params) => format!("Bearer {params}"),
                None => "Bearer".to_owned(),
            };
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}
