//! The live tree of files: one drive per site (its document library) and per user (OneDrive), and
//! its items as rows; and snapshots of a drive into the content store: manifests written for the
//! folders that changed since the last snapshot, bottom-up, so storing a snapshot costs what changed
//! and taking one when nothing changed costs one read.
//!
//! Each write marks the folders above what it changed (their `tree_id` cleared, `change_seq`
//! bumped, `size` adjusted), in its transaction; a snapshot sets a folder's `tree_id` only if its
//! `change_seq` is still the one it read, so a write racing a snapshot leaves the folder marked for
//! the next one.

use std::collections::HashMap;

use backstore_content::{BlobId, ChunkIndex, ChunkRef, Entry, Repository, Tree};
use backstore_domain::{Actor, Timestamp};
use sqlx::AnyConnection;

use super::read::{Col, Columns, Cost};
use super::rows::{actor, actor_json, from_micros, micros, new_id};
use super::Lock;
use crate::{Store, StoreError, StoreResult, Writer};

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
}

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

const ITEM_COLUMNS: &str =
    "drive_id, item_id, parent_id, name, is_folder, size, chunks, mime_type, sha256, quick_xor, \
     created_at, modified_at, created_by, modified_by, version, content_version, tree_id, deleted_at, delta_seq";

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

fn item_from_row(r: &dyn Columns) -> StoreResult<DriveItemRecord> {
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
    })
}

fn drive_from_row(r: &dyn Columns) -> StoreResult<DriveRecord> {
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
    })
}

/// The id a drive of a tenant's resource always has: `b!` and 32 hex digits, stable across
/// processes and seeds.
pub fn drive_id_of(tenant: &str, resource_id: &str) -> String {
    let a = backstore_domain::stable_hash(&format!("drive\u{1f}{tenant}\u{1f}{resource_id}"));
    let b = backstore_domain::stable_hash(&format!("drive-2\u{1f}{tenant}\u{1f}{resource_id}"));
    format!("b!{a:016x}{b:016x}")
}

/// A name a folder may hold: not empty, no `/` `\` `:` `*` `?` `"` `<` `>` `|`, no leading or
/// trailing space, not `.` or `..` (SharePoint's rules, short of its reserved names).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 400
        && name != "."
        && name != ".."
        && name.trim() == name
        && !name.chars().any(|c| matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control())
}

/// [`valid_name`], or the refusal that says why not.
fn check_name(name: &str) -> StoreResult<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(StoreError::InvalidTreeChange(format!("'{name}' is not a valid item name")))
    }
}

/// `report.docx` → `report 1.docx`, `report 2.docx`, … (the n-th free name).
fn numbered_name(name: &str, n: u32) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} {n}.{ext}"),
        _ => format!("{name} {n}"),
    }
}

async fn item_in(
    conn: &mut AnyConnection,
    tenant: &str,
    drive: &str,
    item: &str,
) -> StoreResult<Option<DriveItemRecord>> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ? AND deleted_at IS NULL"
    );
    let row = bound!(&sql, tenant, drive, item).fetch_optional(conn).await?;
    row.as_ref().map(|r| item_from_row(r)).transpose()
}

async fn named_in(
    conn: &mut AnyConnection,
    tenant: &str,
    drive: &str,
    parent: &str,
    name: &str,
) -> StoreResult<Option<DriveItemRecord>> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? \
         AND name_key = ? AND deleted_at IS NULL"
    );
    let row = bound!(&sql, tenant, drive, parent, name.to_lowercase()).fetch_optional(conn).await?;
    row.as_ref().map(|r| item_from_row(r)).transpose()
}

/// The folder a write goes into: it must exist and be a folder.
async fn folder_in(conn: &mut AnyConnection, tenant: &str, drive: &str, folder: &str) -> StoreResult<DriveItemRecord> {
    match item_in(conn, tenant, drive, folder).await? {
        Some(f) if f.is_folder => Ok(f),
        Some(_) => Err(StoreError::InvalidTreeChange("the parent of an item must be a folder".into())),
        None => Err(StoreError::ItemNotFound),
    }
}

/// The drive's delta counter, as of the write in progress: what the items it changes record.
const DELTA_NOW: &str = "(SELECT delta_counter FROM drives dc WHERE dc.tenant_id = drive_items.tenant_id \
     AND dc.drive_id = drive_items.drive_id)";

/// Moves the drive's delta counter on: the changes that follow come after every delta token
/// issued so far.
async fn bump_delta(conn: &mut AnyConnection, tenant: &str, drive: &str) -> StoreResult<()> {
    exec!(
        conn,
        "UPDATE drives SET delta_counter = delta_counter + 1 WHERE tenant_id = ? AND drive_id = ?",
        tenant,
        drive
    )
    .await?;
    Ok(())
}

/// Marks `folder` and every folder above it changed, adding `size_delta` to their sizes.
async fn changed_from(
    conn: &mut AnyConnection,
    tenant: &str,
    drive: &str,
    folder: &str,
    size_delta: i64,
) -> StoreResult<()> {
    bump_delta(conn, tenant, drive).await?;
    let sql = format!(
        "UPDATE drive_items SET tree_id = NULL, change_seq = change_seq + 1, size = size + ?, delta_seq = {DELTA_NOW} \
         WHERE tenant_id = ? AND drive_id = ? AND item_id = ?"
    );
    let mut at = Some(folder.to_owned());
    while let Some(id) = at {
        exec!(conn, &sql, size_delta, tenant, drive, id.as_str(),).await?;
        at = bound_scalar!(
            "SELECT parent_id FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
            tenant,
            drive,
            id.as_str()
        )
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    }
    Ok(())
}

/// The name an item gets in `parent` under `conflict`: the name itself when free; `Ok(None)` when
/// an item of the name is there and is to be replaced (returned in the error's place by callers).
async fn free_name(
    conn: &mut AnyConnection,
    tenant: &str,
    drive: &str,
    parent: &str,
    name: &str,
    conflict: Conflict,
) -> StoreResult<(String, Option<DriveItemRecord>)> {
    let Some(existing) = named_in(conn, tenant, drive, parent, name).await? else {
        return Ok((name.to_owned(), None));
    };
    match conflict {
        Conflict::Fail => Err(StoreError::NameExists(name.to_owned())),
        Conflict::Replace => Ok((name.to_owned(), Some(existing))),
        Conflict::Rename => {
            for n in 1..10_000 {
                let candidate = numbered_name(name, n);
                if named_in(conn, tenant, drive, parent, &candidate).await?.is_none() {
                    return Ok((candidate, None));
                }
            }
            Err(StoreError::NameExists(name.to_owned()))
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_item(
    conn: &mut AnyConnection,
    w: &Writer<'_>,
    drive: &str,
    item_id: &str,
    parent: Option<&str>,
    name: &str,
    is_folder: bool,
    body: Option<&FileBody>,
) -> StoreResult<()> {
    let who = actor_json(w.actor);
    bump_delta(conn, w.tenant, drive).await?;
    exec!(
        conn,
        "INSERT INTO drive_items (tenant_id, drive_id, item_id, parent_id, name, name_key, is_folder, size, chunks, \
         mime_type, sha256, quick_xor, created_at, modified_at, created_by, modified_by, version, content_version, \
         change_seq, delta_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, 0, \
         (SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?))",
        w.tenant,
        drive,
        item_id,
        parent,
        name,
        name.to_lowercase(),
        i64::from(is_folder),
        body.map_or(0, |b| b.size as i64),
        body.map(|b| chunks_json(&b.chunks)),
        body.and_then(|b| b.mime_type.as_deref()),
        body.and_then(|b| b.sha256.as_deref()),
        body.and_then(|b| b.quick_xor.as_deref()),
        micros(w.now),
        micros(w.now),
        who.as_str(),
        who.as_str(),
        w.tenant,
        drive,
    )
    .await?;
    Ok(())
}

/// Marks an item and everything below it deleted; the bytes that left the tree.
async fn delete_subtree(
    conn: &mut AnyConnection,
    w: &Writer<'_>,
    drive: &str,
    item: &DriveItemRecord,
) -> StoreResult<u64> {
    bump_delta(conn, w.tenant, drive).await?;
    let sql = format!(
        "WITH RECURSIVE below(item_id) AS (SELECT ? UNION ALL SELECT d.item_id FROM drive_items d JOIN below b \
         ON d.parent_id = b.item_id WHERE d.tenant_id = ? AND d.drive_id = ? AND d.deleted_at IS NULL) \
         UPDATE drive_items SET deleted_at = ?, version = version + 1, delta_seq = {DELTA_NOW} \
         WHERE tenant_id = ? AND drive_id = ? AND item_id IN (SELECT item_id FROM below)"
    );
    exec!(conn, &sql, item.item_id.as_str(), w.tenant, drive, micros(w.now), w.tenant, drive,).await?;
    Ok(item.size)
}

impl Store {
    /// The drive of a directory resource, made (with its root folder) on first use.
    pub async fn ensure_drive(
        &self,
        w: Writer<'_>,
        resource_id: &str,
        drive_type: &str,
        name: &str,
    ) -> StoreResult<DriveRecord> {
        let drive_id = drive_id_of(w.tenant, resource_id);
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let root_id = format!("{}-root", &drive_id[2..18]);
            let made = exec!(
                tx,
                "INSERT INTO drives (tenant_id, drive_id, resource_id, drive_type, name, root_id, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                w.tenant,
                drive_id.as_str(),
                resource_id,
                drive_type,
                name,
                root_id.as_str(),
                micros(w.now),
            )
            .await?
            .rows_affected();
            if made == 1 {
                insert_item(tx, &w, &drive_id, &root_id, None, "root", true, None).await?;
            }
            let row = bound!("SELECT * FROM drives WHERE tenant_id = ? AND drive_id = ?", w.tenant, drive_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            drive_from_row(&row)
        })
        .await
    }

    pub async fn drive(&self, tenant: &str, drive_id: &str) -> StoreResult<Option<DriveRecord>> {
        self.read_row(
            "SELECT * FROM drives WHERE tenant_id = ? AND drive_id = ?",
            args![tenant, drive_id],
            drive_from_row,
        )
        .await
    }

    pub async fn drive_of_resource(&self, tenant: &str, resource_id: &str) -> StoreResult<Option<DriveRecord>> {
        self.read_row(
            "SELECT * FROM drives WHERE tenant_id = ? AND resource_id = ?",
            args![tenant, resource_id],
            drive_from_row,
        )
        .await
    }

    /// The tenant's drives, in id order.
    pub async fn drives(&self, tenant: &str) -> StoreResult<Vec<DriveRecord>> {
        self.read_rows(
            Cost::Seek,
            "SELECT * FROM drives WHERE tenant_id = ? ORDER BY drive_id",
            args![tenant],
            drive_from_row,
        )
        .await
    }

    /// A live (not deleted) item.
    pub async fn drive_item(
        &self,
        tenant: &str,
        drive_id: &str,
        item_id: &str,
    ) -> StoreResult<Option<DriveItemRecord>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ? AND deleted_at IS NULL"
        );
        self.read_row(&sql, args![tenant, drive_id, item_id], item_from_row).await
    }

    /// The live item at a `/`-separated path below `from` (names match regardless of case).
    pub async fn drive_item_at(
        &self,
        tenant: &str,
        drive_id: &str,
        from: &str,
        path: &str,
    ) -> StoreResult<Option<DriveItemRecord>> {
        let mut at = self.drive_item(tenant, drive_id, from).await?;
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? \
             AND name_key = ? AND deleted_at IS NULL"
        );
        for name in path.split('/').filter(|s| !s.is_empty()) {
            let Some(folder) = at.filter(|f| f.is_folder) else { return Ok(None) };
            let key = name.to_lowercase();
            at = self
                .read_row(&sql, args![tenant, drive_id, folder.item_id.as_str(), key.as_str()], item_from_row)
                .await?;
        }
        Ok(at)
    }

    /// A folder's live children in order of name, `limit` after the name key `after` (paging).
    pub async fn drive_children(
        &self,
        tenant: &str,
        drive_id: &str,
        folder: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<DriveItemRecord>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? \
             AND deleted_at IS NULL AND name_key > ? ORDER BY name_key LIMIT ?"
        );
        self.read_rows(
            Cost::Seek,
            &sql,
            args![tenant, drive_id, folder, after.unwrap_or(""), i64::from(limit)],
            item_from_row,
        )
        .await
    }

    /// The drive's delta counter now: a delta token that says "everything up to here".
    pub async fn drive_delta_counter(&self, tenant: &str, drive_id: &str) -> StoreResult<i64> {
        Ok(self
            .read_row(
                "SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?",
                args![tenant, drive_id],
                |r| r.col::<i64>("delta_counter"),
            )
            .await?
            .unwrap_or(0))
    }

    /// The items of a drive that changed after `since` and at or before `upto`, in the order they
    /// changed, `limit` after `(delta_seq, item_id)` `after`; deleted ones too unless `since` is 0
    /// (a first enumeration lists what is there).
    pub async fn drive_delta(
        &self,
        tenant: &str,
        drive_id: &str,
        since: i64,
        upto: i64,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> StoreResult<Vec<DriveItemRecord>> {
        let (after_seq, after_id) = after.unwrap_or((since, ""));
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND delta_seq > ? \
             AND delta_seq <= ? AND (delta_seq > ? OR (delta_seq = ? AND item_id > ?)) \
             AND (? > 0 OR deleted_at IS NULL) ORDER BY delta_seq, item_id LIMIT ?"
        );
        self.read_rows(
            Cost::Seek,
            &sql,
            args![tenant, drive_id, since, upto, after_seq, after_seq, after_id, since, i64::from(limit)],
            item_from_row,
        )
        .await
    }

    /// How many live items a drive holds (its root aside), and their bytes.
    pub async fn drive_totals(&self, tenant: &str, drive_id: &str) -> StoreResult<(u64, u64)> {
        let row = self
            .read_row(
                "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CASE WHEN is_folder = 0 THEN size ELSE 0 END), 0) AS BIGINT) AS bytes \
                 FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND deleted_at IS NULL AND parent_id IS NOT NULL",
                args![tenant, drive_id],
                |r| Ok((r.col::<i64>("n")?, r.col::<i64>("bytes")?)),
            )
            .await?
            .unwrap_or((0, 0));
        Ok((row.0 as u64, row.1 as u64))
    }

    /// How many live children a folder has (Graph's `folder.childCount`).
    pub async fn drive_child_count(&self, tenant: &str, drive_id: &str, folder: &str) -> StoreResult<u64> {
        let n = self
            .read_row(
                "SELECT COUNT(*) AS n FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? AND deleted_at IS NULL",
                args![tenant, drive_id, folder],
                |r| r.col::<i64>("n"),
            )
            .await?;
        Ok(n.unwrap_or(0) as u64)
    }

    /// Creates a folder in `parent`.
    pub async fn create_drive_folder(
        &self,
        w: Writer<'_>,
        drive_id: &str,
        parent: &str,
        name: &str,
        conflict: Conflict,
    ) -> StoreResult<DriveItemRecord> {
        check_name(name)?;
        self.write(Lock::Tenant(w.tenant), async |tx| {
            folder_in(tx, w.tenant, drive_id, parent).await?;
            let (name, existing) = free_name(tx, w.tenant, drive_id, parent, name, conflict).await?;
            if let Some(existing) = existing {
                let freed = delete_subtree(tx, &w, drive_id, &existing).await?;
                changed_from(tx, w.tenant, drive_id, parent, -(freed as i64)).await?;
            }
            let id = new_id();
            insert_item(tx, &w, drive_id, &id, Some(parent), &name, true, None).await?;
            changed_from(tx, w.tenant, drive_id, parent, 0).await?;
            item_in(tx, w.tenant, drive_id, &id).await?.ok_or(StoreError::ItemNotFound)
        })
        .await
    }

    /// Writes a file named `name` in `parent` with this content: a new item, or under
    /// [`Conflict::Replace`] the content of the file of that name (which keeps its id).
    pub async fn put_drive_file(
        &self,
        w: Writer<'_>,
        drive_id: &str,
        parent: &str,
        name: &str,
        body: &FileBody,
        conflict: Conflict,
    ) -> StoreResult<DriveItemRecord> {
        check_name(name)?;
        self.write(Lock::Tenant(w.tenant), async |tx| {
            folder_in(tx, w.tenant, drive_id, parent).await?;
            let (name, existing) = free_name(tx, w.tenant, drive_id, parent, name, conflict).await?;
            match existing {
                Some(file) if !file.is_folder => {
                    replace_content(tx, &w, drive_id, &file, body).await?;
                    item_in(tx, w.tenant, drive_id, &file.item_id).await?.ok_or(StoreError::ItemNotFound)
                }
                Some(_) => Err(StoreError::NameExists(name)),
                None => {
                    let id = new_id();
                    insert_item(tx, &w, drive_id, &id, Some(parent), &name, false, Some(body)).await?;
                    changed_from(tx, w.tenant, drive_id, parent, body.size as i64).await?;
                    item_in(tx, w.tenant, drive_id, &id).await?.ok_or(StoreError::ItemNotFound)
                }
            }
        })
        .await
    }

    /// Replaces a file's content (by id).
    pub async fn replace_drive_file(
        &self,
        w: Writer<'_>,
        drive_id: &str,
        item_id: &str,
        body: &FileBody,
    ) -> StoreResult<DriveItemRecord> {
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let file = item_in(tx, w.tenant, drive_id, item_id).await?.ok_or(StoreError::ItemNotFound)?;
            if file.is_folder {
                return Err(StoreError::InvalidTreeChange(
                    "Cannot upload content to an item representing a folder.".into(),
                ));
            }
            replace_content(tx, &w, drive_id, &file, body).await?;
            item_in(tx, w.tenant, drive_id, item_id).await?.ok_or(StoreError::ItemNotFound)
        })
        .await
    }

    /// Renames and/or moves an item (to `new_parent`, with `new_name`); a name taken there fails.
    pub async fn move_drive_item(
        &self,
        w: Writer<'_>,
        drive_id: &str,
        item_id: &str,
        new_parent: Option<&str>,
        new_name: Option<&str>,
    ) -> StoreResult<DriveItemRecord> {
        if new_name.is_some_and(|n| !valid_name(n)) {
            return Err(StoreError::InvalidTreeChange(format!(
                "'{}' is not a valid item name",
                new_name.unwrap_or("")
            )));
        }
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let item = item_in(tx, w.tenant, drive_id, item_id).await?.ok_or(StoreError::ItemNotFound)?;
            let Some(old_parent) = item.parent_id.clone() else {
                return Err(StoreError::InvalidTreeChange("the root of a drive cannot be moved or renamed".into()));
            };
            let parent = new_parent.unwrap_or(&old_parent).to_owned();
            let name = new_name.unwrap_or(&item.name).to_owned();
            folder_in(tx, w.tenant, drive_id, &parent).await?;
            // Not into itself or below it.
            let mut up = Some(parent.clone());
            while let Some(id) = up {
                if id == item.item_id {
                    return Err(StoreError::InvalidTreeChange("a folder cannot be moved into itself".into()));
                }
                up = bound_scalar!(
                    "SELECT parent_id FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                    w.tenant,
                    drive_id,
                    id.as_str()
                )
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
            }
            if let Some(other) = named_in(tx, w.tenant, drive_id, &parent, &name).await? {
                if other.item_id != item.item_id {
                    return Err(StoreError::NameExists(name));
                }
            }
            bump_delta(tx, w.tenant, drive_id).await?;
            let sql = format!(
                "UPDATE drive_items SET parent_id = ?, name = ?, name_key = ?, version = version + 1, modified_at = ?, \
                 modified_by = ?, delta_seq = {DELTA_NOW} WHERE tenant_id = ? AND drive_id = ? AND item_id = ?"
            );
            exec!(
                tx,
                &sql,
                parent.as_str(),
                name.as_str(),
                name.to_lowercase(),
                micros(w.now),
                actor_json(w.actor),
                w.tenant,
                drive_id,
                item_id,
            )
            .await?;
            changed_from(tx, w.tenant, drive_id, &old_parent, -(item.size as i64)).await?;
            changed_from(tx, w.tenant, drive_id, &parent, item.size as i64).await?;
            item_in(tx, w.tenant, drive_id, item_id).await?.ok_or(StoreError::ItemNotFound)
        })
        .await
    }

    /// Deletes an item and everything below it.
    pub async fn delete_drive_item(&self, w: Writer<'_>, drive_id: &str, item_id: &str) -> StoreResult<()> {
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let item = item_in(tx, w.tenant, drive_id, item_id).await?.ok_or(StoreError::ItemNotFound)?;
            let Some(parent) = item.parent_id.clone() else {
                return Err(StoreError::InvalidTreeChange("the root of a drive cannot be deleted".into()));
            };
            let freed = delete_subtree(tx, &w, drive_id, &item).await?;
            changed_from(tx, w.tenant, drive_id, &parent, -(freed as i64)).await
        })
        .await
    }

    /// Writes the manifests of the folders that changed since the last snapshot (bottom-up, into
    /// the content store, flushed before the tree records them) and returns the drive's root
    /// manifest: the drive's tree as it is now, as one id.
    pub async fn snapshot_drive<I: ChunkIndex>(
        &self,
        repo: &Repository<I>,
        tenant: &str,
        drive_id: &str,
    ) -> StoreResult<BlobId> {
        let drive = self.drive(tenant, drive_id).await?.ok_or(StoreError::ItemNotFound)?;
        for _ in 0..8 {
            let changed = self
                .read_rows(
                    Cost::Scan,
                    "SELECT item_id, parent_id, change_seq FROM drive_items WHERE tenant_id = ? AND drive_id = ? \
                     AND is_folder = 1 AND deleted_at IS NULL AND tree_id IS NULL",
                    args![tenant, drive_id],
                    |r| {
                        Ok((
                            r.col::<String>("item_id")?,
                            r.col::<Option<String>>("parent_id")?,
                            r.col::<i64>("change_seq")?,
                        ))
                    },
                )
                .await?;
            if changed.is_empty() {
                let root = self.drive_item(tenant, drive_id, &drive.root_id).await?.ok_or(StoreError::ItemNotFound)?;
                let Some(tree) = root.tree_id else { continue };
                if drive.last_root != Some(tree) {
                    self.write(Lock::Tenant(tenant), async |tx| {
                        exec!(
                            tx,
                            "UPDATE drives SET last_root = ? WHERE tenant_id = ? AND drive_id = ?",
                            tree.to_hex(),
                            tenant,
                            drive_id,
                        )
                        .await?;
                        Ok(())
                    })
                    .await?;
                }
                return Ok(tree);
            }
            // Deepest first: a folder's depth among the changed ones (its changed ancestors).
            let parents: HashMap<&str, Option<&str>> =
                changed.iter().map(|(id, parent, _)| (id.as_str(), parent.as_deref())).collect();
            let depth = |id: &str| {
                let (mut d, mut at) = (0, id.to_owned());
                while let Some(Some(p)) = parents.get(at.as_str()) {
                    d += 1;
                    at = (*p).to_owned();
                }
                d
            };
            let mut order: Vec<&(String, Option<String>, i64)> = changed.iter().collect();
            order.sort_by_key(|(id, _, _)| std::cmp::Reverse(depth(id)));
            let mut writer = repo.writer(tenant)?;
            let mut written: HashMap<String, (BlobId, i64)> = HashMap::new();
            for (folder, _, seq) in order {
                let mut entries = Vec::new();
                let mut complete = true;
                let mut after: Option<String> = None;
                loop {
                    let page = self.drive_children(tenant, drive_id, folder, after.as_deref(), 1000).await?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.name.to_lowercase());
                    for child in &page {
                        let entry = if child.is_folder {
                            match child.tree_id.or_else(|| written.get(&child.item_id).map(|(t, _)| *t)) {
                                Some(tree) => Entry::folder(&child.name, &child.item_id, child.size, tree),
                                None => {
                                    complete = false;
                                    break;
                                }
                            }
                        } else {
                            let mut e = Entry::file(&child.name, &child.item_id, child.size, child.chunks.clone());
                            for (key, value) in [
                                ("mimeType", &child.mime_type),
                                ("sha256Hash", &child.sha256),
                                ("quickXorHash", &child.quick_xor),
                            ] {
                                if let Some(v) = value {
                                    e.props.insert(key.to_owned(), v.clone());
                                }
                            }
                            e
                        };
                        entries.push(Entry {
                            created: Some(child.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                            modified: Some(child.modified_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                            created_by: Some(actor_json(&child.created_by)),
                            modified_by: Some(actor_json(&child.modified_by)),
                            ..entry
                        });
                    }
                }
                if complete {
                    let tree = writer.write_tree(&Tree { entries }).await?;
                    written.insert(folder.clone(), (tree, *seq));
                }
            }
            writer.flush().await?;
            self.write(Lock::Tenant(tenant), async |tx| {
                for (folder, (tree, seq)) in &written {
                    exec!(
                        tx,
                        "UPDATE drive_items SET tree_id = ? WHERE tenant_id = ? AND drive_id = ? AND item_id = ? \
                         AND change_seq = ? AND tree_id IS NULL",
                        tree.to_hex(),
                        tenant,
                        drive_id,
                        folder.as_str(),
                        *seq,
                    )
                    .await?;
                }
                Ok(())
            })
            .await?;
        }
        Err(StoreError::InvalidTreeChange(format!(
            "drive {drive_id} kept changing while its snapshot was taken; try again"
        )))
    }
}

impl Store {
    /// Snapshots every drive (of one tenant, or all) that changed since its last snapshot; how many.
    pub async fn snapshot_changed_drives<I: ChunkIndex>(
        &self,
        repo: &Repository<I>,
        tenant: Option<&str>,
    ) -> StoreResult<usize> {
        let changed = self
            .read_rows(
                Cost::Scan,
                "SELECT d.tenant_id, d.drive_id FROM drives d JOIN drive_items r ON r.tenant_id = d.tenant_id \
                 AND r.drive_id = d.drive_id AND r.item_id = d.root_id WHERE (? IS NULL OR d.tenant_id = ?) \
                 AND (r.tree_id IS NULL OR d.last_root IS NULL OR d.last_root <> r.tree_id)",
                args![tenant, tenant],
                |r| Ok((r.col::<String>("tenant_id")?, r.col::<String>("drive_id")?)),
            )
            .await?;
        for (t, d) in &changed {
            self.snapshot_drive(repo, t, d).await?;
        }
        Ok(changed.len())
    }

    /// Every root a tenant's content must keep: each restore point's snapshot, each drive's newest
    /// one and each upload session's chunks so far, with the restore points (and drives as
    /// `drive:<id>`, upload sessions as `upload:<id>`) that hold each. Take the
    /// changed drives' snapshots first so the live trees are among them.
    pub async fn content_roots(&self, tenant: &str) -> StoreResult<Vec<(BlobId, Vec<String>)>> {
        let rows = self
            .read_rows(
                Cost::Scan,
                "SELECT content_root AS root, id AS holder FROM restore_points WHERE tenant_id = ? AND content_root IS NOT NULL \
                 UNION ALL SELECT last_root AS root, 'drive:' || drive_id AS holder FROM drives \
                 WHERE tenant_id = ? AND last_root IS NOT NULL \
                 UNION ALL SELECT tree_id AS root, 'upload:' || id AS holder FROM upload_sessions \
                 WHERE tenant_id = ? AND tree_id IS NOT NULL",
                args![tenant, tenant, tenant],
                |r| Ok((r.col::<String>("root")?, r.col::<String>("holder")?)),
            )
            .await?;
        let mut roots: Vec<(BlobId, Vec<String>)> = Vec::new();
        let mut at: HashMap<BlobId, usize> = HashMap::new();
        for (root, holder) in rows {
            let root: BlobId = root.parse().map_err(|_| StoreError::Corrupt(format!("content root '{root}'")))?;
            match at.get(&root) {
                Some(&i) => roots[i].1.push(holder),
                None => {
                    at.insert(root, roots.len());
                    roots.push((root, vec![holder]));
                }
            }
        }
        Ok(roots)
    }
}

async fn replace_content(
    conn: &mut AnyConnection,
    w: &Writer<'_>,
    drive: &str,
    file: &DriveItemRecord,
    body: &FileBody,
) -> StoreResult<()> {
    bump_delta(conn, w.tenant, drive).await?;
    let sql = format!(
        "UPDATE drive_items SET size = ?, chunks = ?, mime_type = ?, sha256 = ?, quick_xor = ?, modified_at = ?, \
         modified_by = ?, version = version + 1, content_version = content_version + 1, delta_seq = {DELTA_NOW} \
         WHERE tenant_id = ? AND drive_id = ? AND item_id = ?"
    );
    exec!(
        conn,
        &sql,
        body.size as i64,
        chunks_json(&body.chunks),
        body.mime_type.as_deref(),
        body.sha256.as_deref(),
        body.quick_xor.as_deref(),
        micros(w.now),
        actor_json(w.actor),
        w.tenant,
        drive,
        file.item_id.as_str(),
    )
    .await?;
    let parent = file.parent_id.as_deref().expect("a file has a folder");
    changed_from(conn, w.tenant, drive, parent, body.size as i64 - file.size as i64).await
}
