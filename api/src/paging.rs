//! Cursor paging for lists ordered newest first by a UUID v7 id: the cursor
//! is the last id of the previous page.

use switchboard_core::domain::FieldError;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Items per page unless `limit` says otherwise, and at most.
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// A page request, checked.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Items older than this one.
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// A query parameter that is not what it must be: 422 naming it.
pub fn invalid(field: &str, msg: &str) -> ApiError {
    ApiError::validation(vec![FieldError {
        loc: vec!["query".into(), field.into()],
        msg: msg.into(),
    }])
}

impl Page {
    /// From the `cursor_field` and `limit` query parameters.
    pub fn parse(cursor_field: &str, cursor: Option<&str>, limit: Option<u32>) -> ApiResult<Self> {
        let after = match cursor {
            None => None,
            Some(c) => Some(Uuid::parse_str(c).map_err(|_| invalid(cursor_field, "not a cursor from this API"))?),
        };
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid("limit", "must be between 1 and 200"));
        }
        Ok(Self { after, limit })
    }

    /// The cursor of the next page: the last id of a full page.
    pub fn next<T>(&self, items: &[T], id: impl Fn(&T) -> Uuid) -> Option<String> {
        (items.len() == self.limit as usize)
            .then(|| items.last().map(|i| id(i).to_string()))
            .flatten()
    }
}
