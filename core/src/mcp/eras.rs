//! The three eras an MCP server may speak, and what Switchboard remembers of
//! each server's.
//!
//! | era | revisions | how a call goes |
//! |---|---|---|
//! | [`Era::Stateless`] | 2026-07-28 | `server/discover` once; each request carries its own `_meta`, a call is one POST, no session |
//! | [`Era::Session`] | 2025-03-26 … 2025-11-25 | `initialize` opens a session over Streamable HTTP |
//! | [`Era::LegacySse`] | 2024-11-05 | `initialize` over the HTTP+SSE transport |
//!
//! A connection test detects the era in that order (`server/discover`, then
//! `initialize`, then the legacy transport) and [`EraMemory`] keeps what a
//! server URL spoke for [`REMEMBER`], so opening a session for a call skips the
//! detection: for a stateless server it sends nothing at all before the call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::model::ServerPeerInfo;
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

/// How long a server's era is trusted without asking again.
pub const REMEMBER: Duration = Duration::from_secs(600);
/// Servers remembered at most (a worker dials many users' servers).
const CAPACITY: usize = 4096;

/// The era a server speaks, as shown in a connection test's server info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Era {
    /// 2026-07-28: no handshake and no session.
    Stateless,
    /// The `initialize` handshake and a session over Streamable HTTP.
    Session,
    /// The legacy HTTP+SSE transport.
    LegacySse,
}

/// What is remembered of a server: its era and, for a stateless server, what
/// `server/discover` said (a call needs it to fill each request's `_meta`).
#[derive(Debug, Clone)]
pub enum Known {
    Stateless(Box<ServerPeerInfo>),
    Session,
    LegacySse,
}

impl Known {
    pub fn era(&self) -> Era {
        match self {
            Self::Stateless(_) => Era::Stateless,
            Self::Session => Era::Session,
            Self::LegacySse => Era::LegacySse,
        }
    }
}

/// Each server URL's era, for [`REMEMBER`]; at most [`CAPACITY`] servers.
#[derive(Debug, Default)]
pub struct EraMemory {
    entries: Mutex<HashMap<String, (Known, Instant)>>,
}

impl EraMemory {
    pub fn recall(&self, url: &Url) -> Option<Known> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(url.as_str())
            .filter(|(_, at)| at.elapsed() < REMEMBER)
            .map(|(known, _)| known.clone())
    }

    pub fn remember(&self, url: &Url, known: Known) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= CAPACITY && !entries.contains_key(url.as_str()) {
            entries.retain(|_, (_, at)| at.elapsed() < REMEMBER);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(url.as_str().to_owned(), (known, Instant::now()));
    }

    /// Forgets a server whose remembered era failed it: the next session detects again.
    pub fn forget(&self, url: &Url) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(url.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(i: usize) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}/mcp", 1000 + i)).unwrap()
    }

    #[test]
    fn eras_are_remembered_per_url_and_bounded() {
        let memory = EraMemory::default();
        memory.remember(&url(0), Known::Session);
        assert_eq!(memory.recall(&url(0)).map(|k| k.era()), Some(Era::Session));
        assert!(memory.recall(&url(1)).is_none());
        memory.forget(&url(0));
        assert!(memory.recall(&url(0)).is_none());
        for i in 0..=CAPACITY {
            memory.remember(&url(i), Known::LegacySse);
        }
        let held = memory.entries.lock().unwrap().len();
        assert!(held <= CAPACITY, "{held} entries");
        assert_eq!(memory.recall(&url(CAPACITY)).map(|k| k.era()), Some(Era::LegacySse));
    }
}
