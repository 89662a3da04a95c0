//! Where packs live: an `object_store` (a local directory by default, S3 when scaled out).
//!
//! A pack is stored at `packs/<tenant>/<first two hex digits>/<pack id>` under the store's prefix.
//! Its name is the hash of its bytes, so a pack is never modified: it is written once (a second
//! write of the same name carries the same bytes) and removed only by garbage collection.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::{ContentError, PackId};

/// A pack as the store lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPack {
    pub id: PackId,
    pub size: u64,
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// The object store packs go to.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    description: String,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl Objects {
    /// Packs in a local directory (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self, ContentError> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Objects { store: Arc::new(store), prefix: Path::default(), description: dir.display().to_string() })
    }

    /// Packs in an S3-compatible bucket, `s3://BUCKET[/PREFIX]`; credentials, region and endpoint
    /// come from the usual AWS environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ENDPOINT_URL`, and `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).
    pub fn s3(url: &str) -> Result<Self, ContentError> {
        Self::s3_with(url, &[])
    }

    /// [`Objects::s3`] with settings given here rather than in the environment (they win over it),
    /// by object_store's names: `aws_endpoint`, `aws_allow_http`, `aws_access_key_id`, …
    pub fn s3_with(url: &str, settings: &[(&str, &str)]) -> Result<Self, ContentError> {
        let bad = || ContentError::BadStoreUrl(url.to_owned());
        let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad());
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        // The AWS SDKs' name for a custom endpoint; object_store's own is AWS_ENDPOINT.
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            builder = builder.with_endpoint(endpoint);
        }
        for (key, value) in settings {
            let key: AmazonS3ConfigKey =
                key.parse().map_err(|_| ContentError::BadStoreUrl(format!("{url} ({key})")))?;
            builder = builder.with_config(key, *value);
        }
        let store = builder.build()?;
        let prefix = Path::parse(prefix.trim_matches('/')).map_err(|_| bad())?;
        Ok(Objects { store: Arc::new(store), prefix, description: url.to_owned() })
    }

    /// `s3://…` opens S3; anything else is a local directory.
    pub fn open(spec: &str) -> Result<Self, ContentError> {
        if spec.starts_with("s3://") {
            Self::s3(spec)
        } else if spec.contains("://") {
            Err(ContentError::BadStoreUrl(spec.to_owned()))
        } else {
            Self::local(std::path::Path::new(spec))
        }
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    fn tenant_dir(&self, tenant: &str) -> Path {
        self.prefix.clone().join("packs").join(tenant)
    }

    fn pack_path(&self, tenant: &str, pack: &PackId) -> Path {
        let hex = pack.to_hex();
        self.tenant_dir(tenant).join(&hex[..2]).join(hex)
    }

    /// Stores a pack once. A pack already there under the same name holds the same bytes.
    pub async fn put_pack(&self, tenant: &str, pack: &PackId, parts: Vec<Bytes>) -> Result<(), ContentError> {
        let path = self.pack_path(tenant, pack);
        let create = PutOptions { mode: PutMode::Create, ..Default::default() };
        let payload: PutPayload = parts.into_iter().collect();
        match self.store.put_opts(&path, payload.clone(), create).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            // A store without conditional writes: the name is the content's hash, so writing it
            // again cannot change what is there.
            Err(object_store::Error::NotImplemented { .. }) | Err(object_store::Error::NotSupported { .. }) => {
                self.store.put(&path, payload).await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A byte range of a pack.
    pub async fn read_range(&self, tenant: &str, pack: &PackId, range: Range<u64>) -> Result<Bytes, ContentError> {
        self.store.get_range(&self.pack_path(tenant, pack), range).await.map_err(|e| missing(e, tenant, pack))
    }

    /// A whole pack.
    pub async fn read_pack(&self, tenant: &str, pack: &PackId) -> Result<Bytes, ContentError> {
        let got = self.store.get(&self.pack_path(tenant, pack)).await.map_err(|e| missing(e, tenant, pack))?;
        got.bytes().await.map_err(|e| missing(e, tenant, pack))
    }

    /// Removes a pack (garbage collection only).
    pub async fn delete_pack(&self, tenant: &str, pack: &PackId) -> Result<(), ContentError> {
        match self.store.delete(&self.pack_path(tenant, pack)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every pack stored for a tenant (objects whose names are not pack ids are skipped).
    pub fn list_packs(&self, tenant: &str) -> BoxStream<'_, Result<StoredPack, ContentError>> {
        let dir = self.tenant_dir(tenant);
        self.store
            .list(Some(&dir))
            .map_err(ContentError::from)
            .try_filter_map(|meta| async move {
                let id = meta.location.filename().and_then(|name| name.parse::<PackId>().ok());
                Ok(id.map(|id| StoredPack { id, size: meta.size, modified: meta.last_modified }))
            })
            .boxed()
    }
}

fn missing(e: object_store::Error, tenant: &str, pack: &PackId) -> ContentError {
    match e {
        object_store::Error::NotFound { .. } => ContentError::MissingPack { tenant: tenant.to_owned(), pack: *pack },
        e => e.into(),
    }
}
