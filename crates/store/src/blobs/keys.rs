//! The master key: 32 random bytes that wrap every file's data key. Kept in a file
//! readable by telemed alone (created with mode 0600; a key file others can read is
//! refused), or given inline by configuration.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use telemed_domain::{Error, Result};

use super::{Blobs, Location};
use crate::Store;

/// How long a key's id is (hex characters).
pub(crate) const KEY_ID_LEN: usize = 16;

#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

fn key_error(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::invalid(
        "files",
        format!("master key file {}: {what}", path.display()),
    )
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        MasterKey { bytes }
    }

    /// A key written as base64 (44 characters for 32 bytes).
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                Error::invalid(
                    "files.master_key",
                    "the master key must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)",
                )
            })?;
        Ok(MasterKey { bytes })
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.bytes)
    }

    /// A short public name for the key (the first 8 bytes of its SHA-256, hex), stored
    /// beside each wrapped data key.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.bytes)[..KEY_ID_LEN / 2])
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Reads a key file; it must exist and be readable by its owner only.
    pub fn load(path: &Path) -> Result<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path).map_err(|e| key_error(path, e))?;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(key_error(
                    path,
                    "others can read it; run `chmod 600` on it (and think about whether it leaked)",
                ));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e))?;
        MasterKey::from_base64(&text).map_err(|_| key_error(path, "it does not hold a key"))
    }

    /// Reads the key file, or creates it with a new key (mode 0600) when it is missing.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        if path.exists() {
            return MasterKey::load(path);
        }
        if pending_path(path).exists() {
            return Err(key_error(
                path,
                "it is missing but a rotation's new key is beside it; finish the rotation with `telemed keys rotate`",
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder.create(dir).map_err(|e| key_error(path, e))?;
        }
        let key = MasterKey::generate();
        key.write_new(path)?;
        tracing::info!(key_id = %key.id(), path = %path.display(), "created a new master key");
        Ok(key)
    }

    /// Writes the key to a file that must not exist yet, readable by the owner only.
    fn write_new(&self, path: &Path) -> Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| key_error(path, e))?;
        file.write_all(format!("{}\n", self.to_base64()).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| key_error(path, e))
    }
}

/// `path` with `suffix` appended to its file name (`master.key` -> `master.key.new`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn pending_path(path: &Path) -> PathBuf {
    beside(path, ".new")
}

fn retired_path(path: &Path, key: &MasterKey) -> PathBuf {
    beside(path, &format!(".retired-{}", key.id()))
}

/// The keys a node reads with, current first: the key file, a rotation's pending new
/// key if one was interrupted, and retired keys kept beside the file.
pub fn keys_from_file(path: &Path) -> Result<Vec<MasterKey>> {
    let mut keys = vec![MasterKey::load_or_create(path)?];
    let pending = pending_path(path);
    if pending.exists() {
        keys.push(MasterKey::load(&pending)?);
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(keys);
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.retired-", name.to_string_lossy());
    let entries = std::fs::read_dir(dir).map_err(|e| key_error(path, e))?;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            keys.push(MasterKey::load(&entry.path())?);
        }
    }
    Ok(keys)
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotation {
    pub old_key_id: String,
    pub new_key_id: String,
    pub rewrapped: u64,
    /// TOTP seeds sealed again under the new key.
    pub secrets_resealed: u64,
}

/// Rotates the master key kept in `path`: a new key is written to `<path>.new`, every
/// data key is re-wrapped and every TOTP seed re-sealed under it, the old key is kept as `<path>.retired-<id>` and the
/// new one takes its place. Objects are not rewritten. Run with telemed stopped; an
/// interrupted rotation continues where it stopped when run again.
pub async fn rotate_key_file(store: &Store, location: &Location, path: &Path) -> Result<Rotation> {
    let current = MasterKey::load(path)?;
    let pending = pending_path(path);
    let new = if pending.exists() {
        MasterKey::load(&pending)?
    } else {
        let key = MasterKey::generate();
        key.write_new(&pending)?;
        key
    };
    let mut keys = vec![new.clone()];
    keys.extend(keys_from_file(path)?);
    let blobs = Blobs::open(location, keys)?;
    let rewrapped = blobs.rewrap_all(store).await?;
    let secrets_resealed = blobs.seal_totp_secrets(store).await?;
    let retired = retired_path(path, &current);
    if current.id() != new.id() && !retired.exists() {
        current.write_new(&retired)?;
    }
    std::fs::rename(&pending, path).map_err(|e| key_error(path, e))?;
    Ok(Rotation {
        old_key_id: current.id(),
        new_key_id: new.id(),
        rewrapped,
        secrets_resealed,
    })
}
