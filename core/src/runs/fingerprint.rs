//! A salted SHA-256 of what a connection test used (URL, credentials, headers).
//! Saving a connector with a `test_run_id` requires the same fingerprint, so a
//! passed test cannot vouch for other settings. The salt is random per run;
//! the digest reveals nothing usable about the (high-entropy) secrets.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::domain::{Credentials, CustomHeaders};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    salt: String,
    digest: String,
}

impl Fingerprint {
    pub fn new(server_url: &str, credentials: &Credentials, headers: &CustomHeaders) -> Self {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = URL_SAFE_NO_PAD.encode(salt);
        let digest = digest(&salt, server_url, credentials, headers);
        Self { salt, digest }
    }

    /// Whether these settings are the ones fingerprinted.
    pub fn matches(&self, server_url: &str, credentials: &Credentials, headers: &CustomHeaders) -> bool {
        digest(&self.salt, server_url, credentials, headers) == self.digest
    }
}

fn digest(salt: &str, server_url: &str, credentials: &Credentials, headers: &CustomHeaders) -> String {
    let canonical = serde_json::to_vec(&(salt, server_url, credentials, headers)).expect("serialisable");
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &canonical))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn a_fingerprint_matches_only_the_same_settings() {
        let token = Credentials::Bearer {
            token: Secret::new("t1"),
        };
        let fp = Fingerprint::new("https://a.example/mcp", &token, &CustomHeaders::default());
        assert!(fp.matches("https://a.example/mcp", &token, &CustomHeaders::default()));
        assert!(!fp.matches("https://b.example/mcp", &token, &CustomHeaders::default()));
        let other = Credentials::Bearer {
            token: Secret::new("t2"),
        };
        assert!(!fp.matches("https://a.example/mcp", &other, &CustomHeaders::default()));
        assert_ne!(
            fp,
            Fingerprint::new("https://a.example/mcp", &token, &CustomHeaders::default()),
            "salted"
        );
        assert!(!serde_json::to_string(&fp).expect("json").contains("t1"));
    }
}
