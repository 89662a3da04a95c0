//! The content store as the binary opens it (packs under `<data-dir>/blobs` or `--blob-store`,
//! keys under `<data-dir>/keys/content`, the index in the database), and what `backstore gc` and
//! `backstore verify` do with it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use backstore_content::{
    BlobId, ContentError, GcIndex, GcOptions, GcReport, Keyring, Objects, Repository, ResealReport, VerifyReport,
};
use backstore_store::{Store, StoreError};
use serde::Serialize;

/// The content repository of a data dir.
pub use backstore_engine::Content;

/// Opens the content store: packs in `blob_store` (a directory, or `s3://BUCKET[/PREFIX]`) or
/// `<data_dir>/blobs`, keys in `<data_dir>/keys/content`.
pub fn open(data_dir: &Path, blob_store: Option<&str>, store: Arc<Store>) -> Result<Content, ContentError> {
    Ok(Repository::new(objects(data_dir, blob_store)?, Keyring::new(keys_dir(data_dir)), store))
}

/// Where a data dir's content packs are: `blob_store`, or its `blobs` directory.
pub fn objects(data_dir: &Path, blob_store: Option<&str>) -> Result<Objects, ContentError> {
    match blob_store {
        Some(spec) => Objects::open(spec),
        None => Objects::local(&data_dir.join("blobs")),
    }
}

/// Where a data dir's content keys are, one file per tenant.
pub fn keys_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("keys").join("content")
}

/// One tenant's collection.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantGc {
    pub tenant: String,
    /// Snapshots (restore points and live drives) whose content was kept.
    pub roots: usize,
    #[serde(flatten)]
    pub report: GcReport,
}

/// Snapshots the drives that changed, then collects each tenant's garbage (one tenant, or all
/// with content) against every restore point's snapshot and every drive's newest one.
pub async fn collect(
    content: &Content,
    tenant: Option<&str>,
    options: &GcOptions,
) -> Result<Vec<TenantGc>, StoreError> {
    let store = content.index().as_ref();
    store.snapshot_changed_drives(content, tenant).await?;
    let tenants = match tenant {
        Some(t) => vec![t.to_owned()],
        None => store.tenants().await.map_err(|e| StoreError::Content(ContentError::Index(e)))?,
    };
    // Packs that saved states hold are kept whole (see `backstore state`).
    let mut pinned = store.pinned_packs().await?;
    let mut out = Vec::new();
    for t in tenants {
        let roots: Vec<BlobId> = store.content_roots(&t).await?.into_iter().map(|(r, _)| r).collect();
        let options = GcOptions { keep_packs: pinned.remove(&t).unwrap_or_default(), ..options.clone() };
        let report = content.collect_garbage(&t, &roots, &options).await?;
        if report.condemned_blobs + report.removed_blobs + report.deleted_packs + report.orphan_packs > 0 {
            tracing::info!(tenant = %t, ?report, "content garbage collected");
        }
        out.push(TenantGc { tenant: t, roots: roots.len(), report });
    }
    Ok(out)
}

/// One damaged item, with every snapshot it damages.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DamagedItem {
    pub tenant: String,
    /// The item's path in the snapshot.
    pub path: String,
    pub blob: BlobId,
    pub error: String,
    /// The restore points whose snapshot holds it (and `drive:<id>` for a drive's newest snapshot).
    pub restore_points: Vec<String>,
}

/// What `backstore verify` found (printed as JSON; exit status 1 when `damaged` is not empty).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub tenants: usize,
    /// Distinct snapshots walked.
    pub snapshots: usize,
    /// Folders and files walked (a subtree shared between snapshots counts once), distinct chunks
    /// read and checked, and their bytes.
    pub folders: u64,
    pub files: u64,
    pub chunks: u64,
    pub bytes: u64,
    pub damaged: Vec<DamagedItem>,
}

/// Reads every snapshot of one tenant or all (after snapshotting the drives that changed), checking
/// every blob; the damaged items with the restore points they affect.
pub async fn verify(content: &Content, tenant: Option<&str>) -> Result<Verification, StoreError> {
    let store = content.index().as_ref();
    store.snapshot_changed_drives(content, tenant).await?;
    let tenants = match tenant {
        Some(t) => vec![t.to_owned()],
        None => store.tenants().await.map_err(|e| StoreError::Content(ContentError::Index(e)))?,
    };
    let (mut snapshots, mut totals) = (0, VerifyReport::default());
    let mut damaged: BTreeMap<(String, String, BlobId, String), Vec<String>> = BTreeMap::new();
    for t in &tenants {
        let mut verifier = content.verifier(t);
        for (root, holders) in store.content_roots(t).await? {
            snapshots += 1;
            for d in verifier.walk(&root, &mut totals).await? {
                damaged.entry((t.clone(), d.path, d.blob, d.error)).or_default().extend(holders.iter().cloned());
            }
        }
    }
    let damaged = damaged
        .into_iter()
        .map(|((tenant, path, blob, error), mut restore_points)| {
            restore_points.sort();
            restore_points.dedup();
            DamagedItem { tenant, path, blob, error, restore_points }
        })
        .collect();
    Ok(Verification {
        tenants: tenants.len(),
        snapshots,
        folders: totals.folders,
        files: totals.files,
        chunks: totals.chunks,
        bytes: totals.bytes,
        damaged,
    })
}

/// The tenants a command works on: the one named, or every tenant with content.
async fn tenants(content: &Content, tenant: Option<&str>) -> Result<Vec<String>, StoreError> {
    match tenant {
        Some(t) => Ok(vec![t.to_owned()]),
        None => content.index().tenants().await.map_err(|e| StoreError::Content(ContentError::Index(e))),
    }
}

/// One data key as `keys` commands print it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub version: u32,
    pub created: Option<String>,
    /// Blobs (and pack trailers) stored under it, where the command counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed_blobs: Option<u64>,
}

/// One tenant's keys after a `keys` command, with what the command did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantKeysOut {
    pub tenant: String,
    pub current_key: u32,
    pub keys: Vec<KeyInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reseal: Option<ResealReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<Vec<u32>>,
}

/// What a `keys` command does to each tenant.
#[derive(Clone, Copy, Debug)]
pub enum KeysAction {
    List,
    Rotate { reseal: bool },
    Reseal { dry_run: bool },
    Retire,
}

/// Runs a `keys` command for one tenant or every tenant with content.
pub async fn keys(
    content: &Content,
    tenant: Option<&str>,
    action: KeysAction,
) -> Result<Vec<TenantKeysOut>, StoreError> {
    let mut out = Vec::new();
    for t in tenants(content, tenant).await? {
        let (mut reseal, mut retired, mut counts) = (None, None, None);
        match action {
            KeysAction::List => {}
            KeysAction::Rotate { reseal: again } => {
                content.keys().rotate(&t)?;
                if again {
                    reseal = Some(content.reseal(&t, false).await?);
                }
            }
            KeysAction::Reseal { dry_run } => reseal = Some(content.reseal(&t, dry_run).await?),
            KeysAction::Retire => {
                let used = content.keys_in_use(&t).await?;
                retired = Some(content.keys().retire(&t, &used.keys().copied().collect())?);
                counts = Some(used);
            }
        }
        let keys = content.keys().reload(&t)?;
        let info = keys
            .versions()
            .map(|version| KeyInfo {
                version,
                created: keys.created(version).map(str::to_owned),
                sealed_blobs: counts.as_ref().map(|c| c.get(&version).copied().unwrap_or(0)),
            })
            .collect();
        out.push(TenantKeysOut { tenant: t, current_key: keys.current().0, keys: info, reseal, retired });
    }
    Ok(out)
}
