//! Credential encryption at rest (AES-256-GCM).
//!
//! Every stored secret is sealed by [`Vault::seal`] into a self-describing blob:
//!
//! ```text
//! [format = 1][key id length][key id][96-bit random nonce][ciphertext + 128-bit tag]
//! ```
//!
//! The associated data binds the blob to where it lives ([`Aad`]: field, owner,
//! row), so a ciphertext copied into another user's row or another column fails
//! to open. Keys come from `SWITCHBOARD_ENCRYPTION_KEYS` as `id:base64,…`: the
//! first key seals, every key opens, and [`Vault::reseal`] moves a blob to the
//! first key (used by `switchboard keys rotate`).

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::secret::Secret;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_LEN: usize = 32;
const MAX_KEY_ID_LEN: usize = 32;

/// Why a key spec or a blob was refused. Messages never contain key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("invalid encryption key list: {0}")]
    InvalidKeySpec(String),
    #[error("encrypted value is malformed")]
    Malformed,
    #[error("encrypted value uses key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error("encrypted value failed authentication (tampered, or bound to another row)")]
    Decrypt,
    #[error("decrypted value is not valid JSON for its type")]
    Json,
}

/// Where a sealed value lives; authenticated but not encrypted.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    /// `table.column`, e.g. `connectors.credentials`.
    pub field: &'a str,
    /// The owning user id.
    pub owner: &'a str,
    /// The row's id within its table.
    pub row: &'a str,
}

impl Aad<'_> {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.field.len() + self.owner.len() + self.row.len());
        for part in ["switchboard/v1", self.field, self.owner, self.row] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

struct VaultKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The configured keys. Cheap to share behind an `Arc`.
pub struct Vault {
    keys: Vec<VaultKey>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Vault").field("key_ids", &ids).finish()
    }
}

impl Vault {
    /// Parses `id:base64key,id2:base64key2`; the first key is the one that seals.
    pub fn from_spec(spec: &Secret) -> Result<Self, VaultError> {
        let mut keys: Vec<VaultKey> = Vec::new();
        for entry in spec.expose().split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, encoded) = entry
                .split_once(':')
                .ok_or_else(|| VaultError::InvalidKeySpec("each entry must be `id:base64`".into()))?;
            validate_key_id(id)?;
            if keys.iter().any(|k| k.id == id) {
                return Err(VaultError::InvalidKeySpec(format!("key id `{id}` appears twice")));
            }
            let raw = BASE64
                .decode(encoded.trim())
                .map_err(|_| VaultError::InvalidKeySpec(format!("key `{id}` is not valid base64")))?;
            let raw: [u8; KEY_LEN] = raw.try_into().map_err(|raw: Vec<u8>| {
                VaultError::InvalidKeySpec(format!("key `{id}` must decode to {KEY_LEN} bytes, got {}", raw.len()))
            })?;
            let cipher = Aes256Gcm::new(&raw.into());
            keys.push(VaultKey {
                id: id.to_owned(),
                cipher,
            });
        }
        if keys.is_empty() {
            return Err(VaultError::InvalidKeySpec("no keys given".into()));
        }
        Ok(Self { keys })
    }

    /// A fresh random key as a spec entry, `id:base64`.
    pub fn generate_key_entry(id: &str) -> Result<Secret, VaultError> {
        validate_key_id(id)?;
        let mut key = [0u8; KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        Ok(Secret::new(format!("{id}:{}", BASE64.encode(key))))
    }

    /// Id of the key that seals new values.
    pub fn primary_key_id(&self) -> &str {
        &self.keys[0].id
    }

    pub fn seal(&self, aad: Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad.bytes(),
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(2 + key.id.len() + NONCE_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.push(key.id.len() as u8);
        out.extend_from_slice(key.id.as_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, aad: Aad<'_>, blob: &[u8]) -> Result<Vec<u8>, VaultError> {
        let parts = Parts::parse(blob)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == parts.key_id)
            .ok_or_else(|| VaultError::UnknownKey(parts.key_id.to_owned()))?;
        key.cipher
            .decrypt(
                &Nonce::from(*parts.nonce),
                Payload {
                    msg: parts.sealed,
                    aad: &aad.bytes(),
                },
            )
            .map_err(|_| VaultError::Decrypt)
    }

    pub fn seal_json<T: Serialize>(&self, aad: Aad<'_>, value: &T) -> Vec<u8> {
        let plaintext = serde_json::to_vec(value).expect("secret types serialise to JSON");
        self.seal(aad, &plaintext)
    }

    pub fn open_json<T: DeserializeOwned>(&self, aad: Aad<'_>, blob: &[u8]) -> Result<T, VaultError> {
        serde_json::from_slice(&self.open(aad, blob)?).map_err(|_| VaultError::Json)
    }

    /// Re-seals `blob` under the primary key; `None` when it already uses it.
    pub fn reseal(&self, aad: Aad<'_>, blob: &[u8]) -> Result<Option<Vec<u8>>, VaultError> {
        if key_id_of(blob)? == self.primary_key_id() {
            return Ok(None);
        }
        let plaintext = self.open(aad, blob)?;
        Ok(Some(self.seal(aad, &plaintext)))
    }
}

/// The id of the key that sealed `blob`, read without decrypting.
pub fn key_id_of(blob: &[u8]) -> Result<&str, VaultError> {
    Parts::parse(blob).map(|p| p.key_id)
}

fn validate_key_id(id: &str) -> Result<(), VaultError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(VaultError::InvalidKeySpec(format!(
            "key id must be 1-{MAX_KEY_ID_LEN} characters of [A-Za-z0-9_-]"
        )))
    }
}

struct Parts<'a> {
    key_id: &'a str,
    nonce: &'a [u8; NONCE_LEN],
    sealed: &'a [u8],
}

impl<'a> Parts<'a> {
    fn parse(blob: &'a [u8]) -> Result<Self, VaultError> {
        let [FORMAT_V1, id_len, rest @ ..] = blob else {
            return Err(VaultError::Malformed);
        };
        let id_len = usize::from(*id_len);
        if id_len == 0 || rest.len() < id_len + NONCE_LEN + TAG_LEN {
            return Err(VaultError::Malformed);
        }
        let (id, rest) = rest.split_at(id_len);
        let (nonce, sealed) = rest.split_first_chunk::<NONCE_LEN>().ok_or(VaultError::Malformed)?;
        let key_id = std::str::from_utf8(id).map_err(|_| VaultError::Malformed)?;
        Ok(Self { key_id, nonce, sealed })
    }
}

#[cfg(test)]
mod tests;
