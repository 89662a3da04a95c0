//! Per-tenant content keys, kept in files under the data dir.
//!
//! Each tenant has one file, `<dir>/<tenant>.json` (mode 0600), holding:
//! - the **id key** (32 random bytes): BLAKE3 is keyed with it to name chunks and manifests, so equal
//!   data in two tenants gets unrelated ids and nothing reveals that two tenants hold the same file.
//!   It also seeds the chunker's gear table, so cut points do not fingerprint content either. It never
//!   changes: changing it would rename every chunk and end deduplication against what is stored.
//! - the **data keys** (32 random bytes each, numbered from 1): XChaCha20-Poly1305 keys that seal
//!   blobs. New blobs are sealed under the current (highest) one and carry its number, so older blobs
//!   stay readable after a rotation; [`Keyring::rotate`] adds a key, `Repository::reseal` rewrites
//!   old blobs under the current key, and [`Keyring::retire`] then drops the keys nothing uses.
//!
//! A process notices a rotation made by another within [`RECHECK`]: it looks at the file's
//! modification time that often and reloads it when it changed.
//!
//! Every process that reads or writes a tenant's content needs the same file: with several processes
//! (S3 blob store, PostgreSQL) the key directory is shared like the data dir's signing key. Losing the
//! file loses the tenant's content; back it up apart from the blobs.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

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
    /// When each data key was added (RFC 3339), where the file says.
    created: BTreeMap<u32, String>,
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

    /// When a data key was added, if the file says.
    pub fn created(&self, version: u32) -> Option<&str> {
        self.created.get(&version).map(String::as_str)
    }

    fn generate(tenant: &str) -> Self {
        let mut keys = TenantKeys {
            tenant: tenant.to_owned(),
            id_key: random(),
            data: BTreeMap::new(),
            created: BTreeMap::new(),
            current: 1,
        };
        keys.data.insert(1, random());
        keys.created.insert(1, Utc::now().to_rfc3339());
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
                .map(|(&version, key)| DataKey {
                    version,
                    key: B64.encode(key),
                    created: self.created.get(&version).cloned(),
                })
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
        let (mut data, mut created) = (BTreeMap::new(), BTreeMap::new());
        for key in self.data_keys {
            data.insert(key.version, decode(&key.key)?);
            if let Some(at) = key.created {
                created.insert(key.version, at);
            }
        }
        let current = *data.keys().next_back().ok_or_else(|| bad("no data key"))?;
        Ok(TenantKeys { tenant: self.tenant, id_key, data, created, current })
    }
}

/// How often a loaded key file is compared with the file on disk (another process may rotate).
pub const RECHECK: Duration = Duration::from_secs(10);

/// A tenant's keys as loaded: the file's modification time then, and when that was last compared.
struct Loaded {
    keys: Arc<TenantKeys>,
    modified: Stamp,
    checked: Instant,
}

/// The key files of every tenant in one directory, loaded once per process and kept (compared
/// with the file every [`RECHECK`]).
pub struct Keyring {
    dir: PathBuf,
    recheck: Duration,
    loaded: Mutex<HashMap<String, Loaded>>,
}

impl Keyring {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Keyring { dir: dir.into(), recheck: RECHECK, loaded: Mutex::new(HashMap::new()) }
    }

    /// Compares loaded keys with their files this often instead of every [`RECHECK`].
    pub fn with_recheck(mut self, every: Duration) -> Self {
        self.recheck = every;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A tenant's keys, created on first use. Two processes that create them at once agree: the file
    /// is published with a hard link, which fails if the other was first, and then the other's is read.
    pub fn tenant(&self, tenant: &str) -> Result<Arc<TenantKeys>, ContentError> {
        if let Some(l) = self.loaded.lock().expect("keyring lock").get_mut(tenant) {
            if l.checked.elapsed() < self.recheck {
                return Ok(l.keys.clone());
            }
            // Another process may have rotated the keys: reload when the file changed.
            l.checked = Instant::now();
            if modified(&self.path(tenant)?) == l.modified {
                return Ok(l.keys.clone());
            }
        }
        let path = self.path(tenant)?;
        let keys = Arc::new(self.load_or_create(tenant)?);
        self.remember(tenant, keys.clone(), modified(&path));
        Ok(keys)
    }

    fn remember(&self, tenant: &str, keys: Arc<TenantKeys>, modified: Stamp) {
        let entry = Loaded { keys, modified, checked: Instant::now() };
        self.loaded.lock().expect("keyring lock").insert(tenant.to_owned(), entry);
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
        keys.created.insert(version, Utc::now().to_rfc3339());
        self.replace(tenant, keys)?;
        Ok(version)
    }

    /// Drops the data keys that are neither the current one nor in `in_use` (the numbers some
    /// stored blob is still sealed under); returns the numbers dropped. The caller must know that
    /// nothing stored uses them: a dropped key's blobs can never be read again.
    pub fn retire(&self, tenant: &str, in_use: &std::collections::BTreeSet<u32>) -> Result<Vec<u32>, ContentError> {
        let mut keys = self.load_or_create(tenant)?;
        let current = keys.current;
        let gone: Vec<u32> = keys.data.keys().copied().filter(|v| *v != current && !in_use.contains(v)).collect();
        if gone.is_empty() {
            return Ok(gone);
        }
        for v in &gone {
            keys.data.remove(v);
            keys.created.remove(v);
        }
        self.replace(tenant, keys)?;
        Ok(gone)
    }

    /// Writes a tenant's keys over its file (staged and renamed into place) and keeps them loaded.
    fn replace(&self, tenant: &str, keys: TenantKeys) -> Result<(), ContentError> {
        let path = self.path(tenant)?;
        let staged = self.stage(tenant, &keys.to_file())?;
        fs::rename(&staged, &path)?;
        self.remember(tenant, Arc::new(keys), modified(&path));
        Ok(())
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

/// What tells a key file's versions apart: it is replaced by a rename, so its inode changes too.
type Stamp = Option<(SystemTime, u64, u64)>;

fn modified(path: &Path) -> Stamp {
    let m = fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some((m.modified().ok()?, m.len(), inode))
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

    #[test]
    fn a_rotation_by_another_process_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::new(dir.path()).with_recheck(Duration::ZERO);
        assert_eq!(ring.tenant("t").unwrap().current().0, 1);
        let other = Keyring::new(dir.path());
        assert_eq!(other.rotate("t").unwrap(), 2);
        // Noticed even within the file system's time resolution: the file was replaced (new inode).
        assert_eq!(ring.tenant("t").unwrap().current().0, 2);
        assert_eq!(other.retire("t", &Default::default()).unwrap(), vec![1]);
        assert_eq!(ring.tenant("t").unwrap().versions().collect::<Vec<_>>(), vec![2]);
    }
}
