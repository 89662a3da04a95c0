//! Per-tenant content keys, kept in files under the data dir.
//!
//! Each tenant has one file, `<dir>/<tenant>.json` (mode 0600), holding:
//! - the **id key** (32 random bytes): BLAKE3 is keyed with it to name chunks and manifests, so equal
//!   data in two tenants gets unrelated ids and nothing reveals that two tenants hold the same file.
//!   It also seeds the chunker's gear table, so cut points do not fingerprint content either. It never
//!   changes: changing it would rename every chunk and end deduplication against what is stored.
//! - the **data keys** (32 random bytes each, numbered from 1): XChaCha20-Poly1305 keys that seal
//!   blobs. New blobs are sealed under the current (highest) one and carry its number, so older blobs
//!   stay readable after a rotation; [`Keyring::rotate`] adds a key, and repacking rewrites old blobs
//!   under the current key, after which an old key can be dropped from the file by hand.
//!
//! Every process that reads or writes a tenant's content needs the same file: with several processes
//! (S3 blob store, PostgreSQL) the key directory is shared like the data dir's signing key. Losing the
//! file loses the tenant's content; back it up apart from the blobs.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{BlobId, BlobKind, ContentError};

/// The keys of one tenant.
pub struct TenantKeys {
    tenant: String,
    id_key: [u8; 32],
    data: BTreeMap<u32, [u8; 32]>,
    current: u32,
}

impl TenantKeys {
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The id of a blob of this kind holding `plain`.
    pub fn blob_id(&self, kind: BlobKind, plain: &[u8]) -> BlobId {
        let mut hasher = blake3::Hasher::new_keyed(&self.id_key);
        hasher.update(&[kind.code()]);
        hasher.update(plain);
        hasher.finalize().into()
    }

    /// The seed of the chunker's gear table (derived from the id key, so it is as private).
    pub fn chunker_seed(&self) -> u64 {
        let derived = blake3::derive_key("backstore 2026-12 content chunker seed", &self.id_key);
        u64::from_le_bytes(derived[..8].try_into().expect("8 bytes"))
    }

    /// The number and key that new blobs are sealed with.
    pub fn current(&self) -> (u32, &[u8; 32]) {
        (self.current, &self.data[&self.current])
    }

    /// The data key of a number, if this file still has it.
    pub fn data_key(&self, version: u32) -> Option<&[u8; 32]> {
        self.data.get(&version)
    }

    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.data.keys().copied()
    }

    fn generate(tenant: &str) -> Self {
        let mut keys = TenantKeys { tenant: tenant.to_owned(), id_key: random(), data: BTreeMap::new(), current: 1 };
        keys.data.insert(1, random());
        keys
    }

    fn to_file(&self) -> KeyFile {
        KeyFile {
            format: 1,
            tenant: self.tenant.clone(),
            id_key: B64.encode(self.id_key),
            data_keys: self
                .data
                .iter()
                .map(|(&version, key)| DataKey { version, key: B64.encode(key), created: None })
                .collect(),
        }
    }
}

fn random() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyFile {
    format: u32,
    tenant: String,
    id_key: String,
    data_keys: Vec<DataKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataKey {
    version: u32,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
}

impl KeyFile {
    fn into_keys(self, path: &Path) -> Result<TenantKeys, ContentError> {
        let bad = |what: &str| ContentError::Keys(format!("{}: {what}", path.display()));
        if self.format != 1 {
            return Err(bad("unknown format"));
        }
        let decode = |text: &str| -> Result<[u8; 32], ContentError> {
            B64.decode(text).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| bad("a key is not 32 bytes of base64"))
        };
        let id_key = decode(&self.id_key)?;
        let mut data = BTreeMap::new();
        for key in &self.data_keys {
            data.insert(key.version, decode(&key.key)?);
        }
        let current = *data.keys().next_back().ok_or_else(|| bad("no data key"))?;
        Ok(TenantKeys { tenant: self.tenant, id_key, data, current })
    }
}

/// The key files of every tenant in one directory, loaded once per process and kept.
pub struct Keyring {
    dir: PathBuf,
    loaded: Mutex<HashMap<String, Arc<TenantKeys>>>,
}

impl Keyring {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Keyring { dir: dir.into(), loaded: Mutex::new(HashMap::new()) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A tenant's keys, created on first use. Two processes that create them at once agree: the file
    /// is published with a hard link, which fails if the other was first, and then the other's is read.
    pub fn tenant(&self, tenant: &str) -> Result<Arc<TenantKeys>, ContentError> {
        if let Some(keys) = self.loaded.lock().expect("keyring lock").get(tenant) {
            return Ok(keys.clone());
        }
        let keys = Arc::new(self.load_or_create(tenant)?);
        self.loaded.lock().expect("keyring lock").insert(tenant.to_owned(), keys.clone());
        Ok(keys)
    }

    /// Forget what was loaded for a tenant (another process may have rotated its keys).
    pub fn reload(&self, tenant: &str) -> Result<Arc<TenantKeys>, ContentError> {
        self.loaded.lock().expect("keyring lock").remove(tenant);
        self.tenant(tenant)
    }

    /// Add a data key and make it the one new blobs are sealed with; returns its number.
    pub fn rotate(&self, tenant: &str) -> Result<u32, ContentError> {
        let mut keys = self.load_or_create(tenant)?;
        let version = keys.current + 1;
        keys.data.insert(version, random());
        keys.current = version;
        let mut file = keys.to_file();
        if let Some(key) = file.data_keys.iter_mut().find(|k| k.version == version) {
            key.created = Some(Utc::now().to_rfc3339());
        }
        let path = self.path(tenant)?;
        let staged = self.stage(tenant, &file)?;
        fs::rename(&staged, &path)?;
        self.loaded.lock().expect("keyring lock").insert(tenant.to_owned(), Arc::new(keys));
        Ok(version)
    }

    fn path(&self, tenant: &str) -> Result<PathBuf, ContentError> {
        let safe = !tenant.is_empty()
            && tenant.len() <= 128
            && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            && !tenant.starts_with('.');
        if !safe {
            return Err(ContentError::Keys(format!("'{tenant}' is not a tenant id")));
        }
        Ok(self.dir.join(format!("{tenant}.json")))
    }

    fn load_or_create(&self, tenant: &str) -> Result<TenantKeys, ContentError> {
        let path = self.path(tenant)?;
        match fs::read(&path) {
            Ok(bytes) => return parse(&path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let keys = TenantKeys::generate(tenant);
        let staged = self.stage(tenant, &keys.to_file())?;
        let published = fs::hard_link(&staged, &path);
        let _ = fs::remove_file(&staged);
        match published {
            Ok(()) => Ok(keys),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => parse(&path, &fs::read(&path)?),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a key file to a private temporary name beside its final one, synced.
    fn stage(&self, tenant: &str, file: &KeyFile) -> Result<PathBuf, ContentError> {
        fs::create_dir_all(&self.dir)?;
        let staged = self.dir.join(format!(".{tenant}.{}.tmp", uuid_like()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut out = options.open(&staged)?;
        out.write_all(&serde_json::to_vec_pretty(file).expect("key file serializes"))?;
        out.sync_all()?;
        Ok(staged)
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<TenantKeys, ContentError> {
    let file: KeyFile =
        serde_json::from_slice(bytes).map_err(|e| ContentError::Keys(format!("{}: {e}", path.display())))?;
    file.into_keys(path)
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_kept_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::new(dir.path());
        let a = ring.tenant("tenant-a").unwrap();
        let id = a.blob_id(BlobKind::Data, b"hello");
        // A second process (a second keyring) reads the same keys.
        let other = Keyring::new(dir.path()).tenant("tenant-a").unwrap();
        assert_eq!(other.blob_id(BlobKind::Data, b"hello"), id);
        assert_eq!(other.current().1, a.current().1);
        // Another tenant names the same bytes differently.
        let b = ring.tenant("tenant-b").unwrap();
        assert_ne!(b.blob_id(BlobKind::Data, b"hello"), id);
        assert_ne!(b.chunker_seed(), a.chunker_seed());
        // The kind is part of the name.
        assert_ne!(a.blob_id(BlobKind::Tree, b"hello"), id);

        assert_eq!(ring.rotate("tenant-a").unwrap(), 2);
        let rotated = Keyring::new(dir.path()).tenant("tenant-a").unwrap();
        assert_eq!(rotated.current().0, 2);
        assert_eq!(rotated.data_key(1), a.data_key(1));
        assert_ne!(rotated.data_key(2), a.data_key(1));
        assert_eq!(rotated.blob_id(BlobKind::Data, b"hello"), id, "ids survive a rotation");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("tenant-a.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(ring.tenant("../etc").is_err());
    }
}
