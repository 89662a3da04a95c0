//! What the live tree's tables hold, as records: drives and their items, the columns read and how a
//! row becomes a record; the stable id of a resource's drive and its library's web URL. The writes
//! are in `drives.rs`.

use backstore_content::{BlobId, ChunkRef};
use backstore_domain::{Actor, Timestamp};

use super::read::{Col, Columns};
use super::rows::{actor, from_micros};
use crate::{StoreError, StoreResult};

/// A drive: a site's document library or a user's OneDrive. Its resource is the site's id, or the
/// user's directory object id: what a SharePoint or OneDrive protection unit names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriveRecord {
    pub drive_id: String,
    /// The directory resource it belongs to (a site id or a user's object id).
    pub resource_id: String,
    /// `documentLibrary` or `business`.
    pub drive_type: String,
    pub name: String,
    pub root_id: String,
    pub created_at: Timestamp,
    /// The root manifest of the drive's newest snapshot.
    pub last_root: Option<BlobId>,
    /// Where the library is on SharePoint (`…/Shared%20Documents`, or a personal site's
    /// `…/Documents`), from its site's URL in the directory.
    pub web_url: Option<String>,
}

/// Drives with their site's URL (the directory resource of the drive's workload).
pub(super) const DRIVE_SELECT: &str = "SELECT d.*, r.site_web_url FROM drives d LEFT JOIN directory_resources r \
     ON r.tenant_id = d.tenant_id AND r.resource_id = d.resource_id \
     AND r.workload = CASE d.drive_type WHEN 'documentLibrary' THEN 'site' ELSE 'drive' END";

/// A file or folder of a drive.
#[derive(Debug, Clone, PartialEq)]
pub struct DriveItemRecord {
    pub drive_id: String,
    pub item_id: String,
    /// `None` for the root.
    pub parent_id: Option<String>,
    pub name: String,
    pub is_folder: bool,
    pub size: u64,
    pub chunks: Vec<ChunkRef>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub quick_xor: Option<String>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub created_by: Actor,
    pub modified_by: Actor,
    /// Bumped by every change of the item (its eTag), and of a file's content (its cTag).
    pub version: i64,
    pub content_version: i64,
    /// A folder's manifest while nothing below it changed since the last snapshot.
    pub tree_id: Option<BlobId>,
    /// Deleted (only delta queries return such items).
    pub deleted: bool,
    /// The drive's delta counter when the item last changed.
    pub delta_seq: i64,
    /// What the workload keeps about the item beyond these columns (a mail folder's `isHidden`).
    pub props: std::collections::BTreeMap<String, String>,
    /// A folder's live children (Graph's `folder.childCount`), read with the item.
    pub child_count: u64,
}

/// What to do when a folder already holds an item of the name being written (Graph's
/// `@microsoft.graph.conflictBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    Fail,
    /// A file's content is replaced (the item keeps its id); a folder is removed and made anew.
    Replace,
    /// The new item gets a free name: `name 1.ext`, `name 2.ext`, …
    Rename,
}

/// A file's content as stored in the content store, with what Graph reports about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBody {
    pub size: u64,
    pub chunks: Vec<ChunkRef>,
    pub mime_type: Option<String>,
    /// Hex, as Graph's `sha256Hash`.
    pub sha256: Option<String>,
    /// Base64, as Graph's `quickXorHash`.
    pub quick_xor: Option<String>,
}

pub(super) const ITEM_COLUMNS: &str =
    "drive_id, item_id, parent_id, name, is_folder, size, chunks, mime_type, sha256, quick_xor, \
     created_at, modified_at, created_by, modified_by, version, content_version, tree_id, deleted_at, delta_seq, props, \
     (SELECT COUNT(*) FROM drive_items c WHERE c.tenant_id = drive_items.tenant_id AND c.drive_id = drive_items.drive_id \
      AND c.parent_id = drive_items.item_id AND c.deleted_at IS NULL) AS child_count";

pub(super) fn chunks_json(chunks: &[ChunkRef]) -> String {
    let pairs: Vec<(String, u32)> = chunks.iter().map(|c| (c.id.to_hex(), c.len)).collect();
    serde_json::to_string(&pairs).expect("chunk lists serialize")
}

pub(super) fn chunks_from(text: Option<String>) -> StoreResult<Vec<ChunkRef>> {
    let Some(text) = text else { return Ok(Vec::new()) };
    let pairs: Vec<(String, u32)> =
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("drive item chunks: {e}")))?;
    pairs
        .into_iter()
        .map(|(id, len)| {
            let id = id.parse().map_err(|_| StoreError::Corrupt(format!("chunk id '{id}'")))?;
            Ok(ChunkRef { id, len })
        })
        .collect()
}

pub(super) fn item_from_row(r: &dyn Columns) -> StoreResult<DriveItemRecord> {
    Ok(DriveItemRecord {
        drive_id: r.col("drive_id")?,
        item_id: r.col("item_id")?,
        parent_id: r.col("parent_id")?,
        name: r.col("name")?,
        is_folder: r.col("is_folder")?,
        size: u64::try_from(r.col::<i64>("size")?).map_err(|_| StoreError::Corrupt("item size".into()))?,
        chunks: chunks_from(r.col("chunks")?)?,
        mime_type: r.col("mime_type")?,
        sha256: r.col("sha256")?,
        quick_xor: r.col("quick_xor")?,
        created_at: from_micros(r.col("created_at")?)?,
        modified_at: from_micros(r.col("modified_at")?)?,
        created_by: actor(&r.col::<String>("created_by")?)?,
        modified_by: actor(&r.col::<String>("modified_by")?)?,
        version: r.col("version")?,
        content_version: r.col("content_version")?,
        tree_id: r
            .col::<Option<String>>("tree_id")?
            .map(|t| t.parse().map_err(|_| StoreError::Corrupt(format!("tree id '{t}'"))))
            .transpose()?,
        deleted: r.col::<Option<i64>>("deleted_at")?.is_some(),
        delta_seq: r.col("delta_seq")?,
        props: super::rows::props_from(r.col("props")?)?,
        child_count: r.col::<i64>("child_count")? as u64,
    })
}

pub(super) fn drive_from_row(r: &dyn Columns) -> StoreResult<DriveRecord> {
    Ok(DriveRecord {
        drive_id: r.col("drive_id")?,
        resource_id: r.col("resource_id")?,
        drive_type: r.col("drive_type")?,
        name: r.col("name")?,
        root_id: r.col("root_id")?,
        created_at: from_micros(r.col("created_at")?)?,
        last_root: r
            .col::<Option<String>>("last_root")?
            .map(|t| t.parse().map_err(|_| StoreError::Corrupt(format!("tree id '{t}'"))))
            .transpose()?,
        web_url: r.col::<Option<String>>("site_web_url")?.map(|site| {
            library_web_url(&site, r.col::<String>("drive_type").ok().as_deref() == Some("documentLibrary"))
        }),
    })
}

/// The id a drive of a tenant's resource always has: `b!` and 32 hex digits, stable across
/// processes and seeds.
pub fn drive_id_of(tenant: &str, resource_id: &str) -> String {
    let a = backstore_domain::stable_hash(&format!("drive\u{1f}{tenant}\u{1f}{resource_id}"));
    let b = backstore_domain::stable_hash(&format!("drive-2\u{1f}{tenant}\u{1f}{resource_id}"));
    format!("b!{a:016x}{b:016x}")
}

/// Path segments as Graph writes them in URLs and `parentReference.path`: all but letters, digits
/// and `-._~` percent-encoded.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A `/a/b` path with each name percent-encoded.
pub fn encoded_path(path: &str) -> String {
    path.split('/')
        .map(|name| percent_encoding::utf8_percent_encode(name, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The web URL of a site's library: a team site's `…/Shared%20Documents`, a personal site's
/// (a OneDrive's) `…/Documents`.
pub fn library_web_url(site_web_url: &str, document_library: bool) -> String {
    let library = if document_library { "Shared%20Documents" } else { "Documents" };
    format!("{}/{library}", site_web_url.trim_end_matches('/'))
}
