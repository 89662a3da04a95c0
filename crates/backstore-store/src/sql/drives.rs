//! The live tree of files: one drive per site (its document library) and per user (OneDrive), and
//! its items as rows. Each write marks the folders above what it changed (their `tree_id` cleared,
//! `change_seq` bumped, `size` adjusted) and records the drive's delta counter on what it changed,
//! in its transaction; `snapshots.rs` turns the marked folders into manifests.

use super::tx::Tx;
use backstore_content::{BlobId, ChunkRef};
use backstore_domain::{Actor, Timestamp};

use super::read::{Col, Columns};
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
            let library = if r.col::<String>("drive_type").ok().as_deref() == Some("documentLibrary") {
                "Shared%20Documents"
            } else {
                "Documents"
            };
            format!("{}/{library}", site.trim_end_matches('/'))
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

pub(super) async fn item_in(
    conn: &mut Tx,
    tenant: &str,
    drive: &str,
    item: &str,
) -> StoreResult<Option<DriveItemRecord>> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ? AND deleted_at IS NULL"
    );
    let row = conn.fetch_optional(&sql, args![tenant, drive, item]).await?;
    row.as_ref().map(|r| item_from_row(r)).transpose()
}

pub(super) async fn named_in(
    conn: &mut Tx,
    tenant: &str,
    drive: &str,
    parent: &str,
    name: &str,
) -> StoreResult<Option<DriveItemRecord>> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? \
         AND name_key = ? AND deleted_at IS NULL"
    );
    let row = conn.fetch_optional(&sql, args![tenant, drive, parent, name.to_lowercase()]).await?;
    row.as_ref().map(|r| item_from_row(r)).transpose()
}

/// The folder a write goes into: it must exist and be a folder.
pub(super) async fn folder_in(conn: &mut Tx, tenant: &str, drive: &str, folder: &str) -> StoreResult<DriveItemRecord> {
    match item_in(conn, tenant, drive, folder).await? {
        Some(f) if f.is_folder => Ok(f),
        Some(_) => Err(StoreError::InvalidTreeChange("the parent of an item must be a folder".into())),
        None => Err(StoreError::ItemNotFound),
    }
}

/// The drive's delta counter, as of the write in progress: what the items it changes record.
pub(super) const DELTA_NOW: &str = "(SELECT delta_counter FROM drives dc WHERE dc.tenant_id = drive_items.tenant_id \
     AND dc.drive_id = drive_items.drive_id)";

/// Moves the drive's delta counter on: the changes that follow come after every delta token
/// issued so far.
pub(super) async fn bump_delta(conn: &mut Tx, tenant: &str, drive: &str) -> StoreResult<()> {
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
pub(super) async fn changed_from(
    conn: &mut Tx,
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
        at = conn
            .scalar_opt(
                "SELECT parent_id FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                args![tenant, drive, id.as_str()],
            )
            .await?
            .flatten();
    }
    Ok(())
}

/// The name an item gets in `parent` under `conflict`: the name itself when free; `Ok(None)` when
/// an item of the name is there and is to be replaced (returned in the error's place by callers).
async fn free_name(
    conn: &mut Tx,
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
pub(super) async fn insert_item(
    conn: &mut Tx,
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
pub(super) async fn delete_subtree(
    conn: &mut Tx,
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

/// Makes the drives row of `drive_id` unless it exists; the id its root folder is to have when it
/// was made (the caller writes the root), `None` when it existed.
pub(super) async fn insert_drive(
    tx: &mut Tx,
    w: &Writer<'_>,
    drive_id: &str,
    resource_id: &str,
    drive_type: &str,
    name: &str,
) -> StoreResult<Option<String>> {
    let root_id = format!("{}-root", &drive_id[2..18]);
    let made = exec!(
        tx,
        "INSERT INTO drives (tenant_id, drive_id, resource_id, drive_type, name, root_id, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        w.tenant,
        drive_id,
        resource_id,
        drive_type,
        name,
        root_id.as_str(),
        micros(w.now),
    )
    .await?;
    Ok((made == 1).then_some(root_id))
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
            if let Some(root_id) = insert_drive(tx, &w, &drive_id, resource_id, drive_type, name).await? {
                insert_item(tx, &w, &drive_id, &root_id, None, "root", true, None).await?;
            }
            let sql = format!("{DRIVE_SELECT} WHERE d.tenant_id = ? AND d.drive_id = ?");
            let row = tx.fetch_one(&sql, args![w.tenant, drive_id.as_str()]).await?;
            drive_from_row(&row)
        })
        .await
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
                up = tx
                    .scalar_opt(
                        "SELECT parent_id FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                        args![w.tenant, drive_id, id.as_str()],
                    )
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
}

pub(super) async fn replace_content(
    conn: &mut Tx,
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
