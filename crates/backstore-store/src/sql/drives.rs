//! The live tree of files: one drive per site (its document library) and per user (OneDrive), and
//! its items as rows. Each write marks the folders above what it changed (their `tree_id` cleared,
//! `change_seq` bumped, `size` adjusted) and records the drive's delta counter on what it changed,
//! in its transaction; `snapshots.rs` turns the marked folders into manifests.

use super::tx::Tx;

use super::rows::{actor_json, micros, new_id};
use super::Lock;
use crate::{Store, StoreError, StoreResult, Writer};

pub(super) use super::drive_rows::{
    chunks_from, chunks_json, drive_from_row, item_from_row, DRIVE_SELECT, ITEM_COLUMNS,
};
pub use super::drive_rows::{
    drive_id_of, encoded_path, library_web_url, Conflict, DriveItemRecord, DriveRecord, FileBody,
};

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
