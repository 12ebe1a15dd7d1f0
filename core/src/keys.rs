//! Embedded mode's generated secrets: on first start the encryption key and the
//! JWT signing secret are written into the data dir (mode 0600) and reused on
//! every later start. Distributed mode never calls this: there they come from
//! the environment.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use rand::RngCore as _;

use crate::secret::Secret;
use crate::vault::Vault;

pub const ENCRYPTION_KEYS_FILE: &str = "encryption.keys";
pub const JWT_SECRET_FILE: &str = "jwt.secret";

/// A secret read from, or just written to, the data dir.
#[derive(Debug)]
pub struct FileSecret {
    pub value: Secret,
    pub path: PathBuf,
    /// True when this start created the file.
    pub generated: bool,
}

/// Loads `encryption.keys`, creating it with one fresh key the first time.
pub fn encryption_keys(data_dir: &Path) -> anyhow::Result<FileSecret> {
    load_or_create(&data_dir.join(ENCRYPTION_KEYS_FILE), || {
        let id = format!("k{}", chrono::Utc::now().format("%Y%m%d"));
        Vault::generate_key_entry(&id).map_err(anyhow::Error::from)
    })
}

/// Loads `jwt.secret`, creating a random 256-bit secret the first time.
pub fn jwt_secret(data_dir: &Path) -> anyhow::Result<FileSecret> {
    load_or_create(&data_dir.join(JWT_SECRET_FILE), || {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Ok(Secret::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    })
}

fn load_or_create(path: &Path, generate: impl FnOnce() -> anyhow::Result<Secret>) -> anyhow::Result<FileSecret> {
    if let Some(secret) = read(path)? {
        return Ok(FileSecret {
            value: secret,
            path: path.to_path_buf(),
            generated: false,
        });
    }
    let dir = path.parent().context("secret file has no parent directory")?;
    fs::create_dir_all(dir).with_context(|| format!("Failed to create data dir {}", dir.display()))?;
    let value = generate()?;
    // Write a private temp file, then hard-link it into place: the link fails if
    // another process won the race, and nobody ever sees a half-written file.
    let tmp = dir.join(format!(".{}.{}.tmp", file_name(path), std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("Failed to create {}", tmp.display()))?;
    file.write_all(value.expose().as_bytes())
        .and_then(|()| file.sync_all())
        .context("Failed to write secret file")?;
    let linked = fs::hard_link(&tmp, path);
    fs::remove_file(&tmp).ok();
    match linked {
        Ok(()) => Ok(FileSecret {
            value,
            path: path.to_path_buf(),
            generated: true,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let value = read(path)?.context("secret file vanished while starting")?;
            Ok(FileSecret {
                value,
                path: path.to_path_buf(),
                generated: false,
            })
        }
        Err(e) => Err(e).with_context(|| format!("Failed to create {}", path.display())),
    }
}

fn read(path: &Path) -> anyhow::Result<Option<Secret>> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let mode = fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                anyhow::bail!(
                    "{} is readable by other users (mode {:o}); run `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                );
            }
            let text = text.trim();
            anyhow::ensure!(
                !text.is_empty(),
                "{} is empty; delete it to generate a new one",
                path.display()
            );
            Ok(Some(Secret::new(text)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("Failed to read {}", path.display())),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_generated_once_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = encryption_keys(dir.path()).expect("generated");
        assert!(first.generated);
        let mode = fs::metadata(&first.path).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        Vault::from_spec(&first.value).expect("generated key parses");

        let again = encryption_keys(dir.path()).expect("reused");
        assert!(!again.generated);
        assert_eq!(again.value, first.value);

        let jwt = jwt_secret(dir.path()).expect("generated");
        assert!(jwt.value.expose().len() >= 32);
        assert_eq!(jwt_secret(dir.path()).expect("reused").value, jwt.value);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }

    #[test]
    fn a_world_readable_or_empty_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(JWT_SECRET_FILE);
        fs::write(&path, "x".repeat(40)).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = jwt_secret(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        fs::write(&path, "").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(jwt_secret(dir.path()).expect_err("empty").to_string().contains("empty"));
    }
}
