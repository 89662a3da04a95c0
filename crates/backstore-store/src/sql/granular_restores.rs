//! Granular restores of files and folders: an item of a restore point (a file, or a folder with
//! everything below it) copied into one "Recovered Items YYYY-MM-DD, HH:MM" folder per restore
//! session at the root of the unit's library, in one transaction.
//!
//! Live items are never overwritten: the copies get ids of their own, derived from the artifact
//! (a run after a `kill -9` finds its copy made and writes nothing), and a name already taken in
//! the folder becomes "name (2).ext", "name (3).ext", …

use std::collections::HashMap;

use backstore_content::{Entry, EntryKind};

use super::drives::{changed_from, DriveRecord};
use super::restores::{count_restore, put_entry, PointItem, PointTree, TreeRestore};
use super::tx::Tx;
use super::Lock;
use crate::{Store, StoreError, StoreResult, Writer};

/// The items a granular artifact restores: one top item (no parent) and everything below it,
/// parents before children.
#[derive(Debug, Clone)]
pub struct GranularItems<'a> {
    pub session_id: &'a str,
    pub artifact_id: &'a str,
    /// The name the session's folder gets if this restore makes it.
    pub folder_name: &'a str,
    pub tree: &'a PointTree,
}

/// Where a granular restore put its item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub folder_id: String,
    pub folder_name: String,
    pub item_id: String,
    pub item_name: String,
}

/// The id of the folder a restore session's granular restores go to in `drive`.
pub fn recovered_folder_id(tenant: &str, session: &str, drive: &str) -> String {
    backstore_domain::policy::stable_guid(&format!("recovered-folder\u{1f}{tenant}\u{1f}{session}\u{1f}{drive}"))
}

/// The id a granular restore of `artifact` gives its copy of the point's item `original`.
pub fn copy_id(tenant: &str, artifact: &str, original: &str) -> String {
    backstore_domain::policy::stable_guid(&format!("granular-copy\u{1f}{tenant}\u{1f}{artifact}\u{1f}{original}"))
}

/// `wanted`, or the first of "stem (2).ext", "stem (3).ext", … no live item of `parent` is named.
async fn free_name(tx: &mut Tx, tenant: &str, drive: &str, parent: &str, wanted: &str) -> StoreResult<String> {
    let (stem, ext) = match wanted.rfind('.') {
        Some(at) if at > 0 => wanted.split_at(at),
        _ => (wanted, ""),
    };
    let mut name = wanted.to_owned();
    for n in 2.. {
        let taken: Option<i64> = tx
            .scalar_opt(
                "SELECT 1 FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? AND name_key = ? \
                 AND deleted_at IS NULL",
                args![tenant, drive, parent, name.to_lowercase()],
            )
            .await?;
        if taken.is_none() {
            break;
        }
        name = format!("{stem} ({n}){ext}");
    }
    Ok(name)
}

async fn name_of(tx: &mut Tx, tenant: &str, drive: &str, item: &str) -> StoreResult<Option<String>> {
    tx.scalar_opt(
        "SELECT name FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ? AND deleted_at IS NULL",
        args![tenant, drive, item],
    )
    .await
}

impl Store {
    /// Copies `g.tree` into the session's "Recovered Items" folder of `drive` (made if missing).
    pub async fn restore_items(
        &self,
        w: Writer<'_>,
        drive: &DriveRecord,
        g: GranularItems<'_>,
    ) -> StoreResult<(Recovered, TreeRestore)> {
        let tenant = w.tenant;
        let drive_id = drive.drive_id.as_str();
        let top: &PointItem = match g.tree.items.iter().filter(|i| i.parent.is_none()).collect::<Vec<_>>()[..] {
            [top] => top,
            _ => return Err(StoreError::InvalidTreeChange("a granular restore copies exactly one item".into())),
        };
        let folder_id = recovered_folder_id(tenant, g.session_id, drive_id);
        let item_id = copy_id(tenant, g.artifact_id, &top.entry.id);
        self.write(Lock::Tenant(tenant), async |tx| {
            let mut done = TreeRestore { drive_id: drive_id.to_owned(), ..TreeRestore::default() };
            let folder_name = match name_of(tx, tenant, drive_id, &folder_id).await? {
                Some(name) => name,
                None => {
                    let name = free_name(tx, tenant, drive_id, &drive.root_id, g.folder_name).await?;
                    let mut folder = Entry::folder(name.as_str(), folder_id.as_str(), 0, g.tree.root);
                    folder.tree = None;
                    folder.created = None;
                    folder.modified = None;
                    put_entry(tx, &w, drive_id, Some(&drive.root_id), &folder, false).await?;
                    done.items_written += 1;
                    name
                }
            };
            if let Some(item_name) = name_of(tx, tenant, drive_id, &item_id).await? {
                // Copied by an earlier run of this restore.
                let recovered =
                    Recovered { folder_id: folder_id.clone(), folder_name, item_id: item_id.clone(), item_name };
                return Ok((recovered, done));
            }
            let item_name = free_name(tx, tenant, drive_id, &folder_id, &top.entry.name).await?;
            let mut ids: HashMap<&str, String> = HashMap::new();
            for item in &g.tree.items {
                let id = copy_id(tenant, g.artifact_id, &item.entry.id);
                let (parent, name) = match item.parent.as_deref() {
                    None => (folder_id.clone(), item_name.clone()),
                    Some(p) => (
                        ids.get(p).cloned().ok_or_else(|| {
                            StoreError::InvalidTreeChange(format!("item {} comes before its folder", item.entry.id))
                        })?,
                        item.entry.name.clone(),
                    ),
                };
                let e = Entry { id: id.clone(), name, tree: None, ..item.entry.clone() };
                put_entry(tx, &w, drive_id, Some(&parent), &e, false).await?;
                done.items_written += 1;
                if e.kind == EntryKind::File {
                    done.bytes_written += e.size;
                }
                ids.insert(item.entry.id.as_str(), id);
            }
            changed_from(tx, tenant, drive_id, &folder_id, done.bytes_written as i64).await?;
            count_restore(tx, tenant, g.artifact_id, &done, w.now).await?;
            Ok((Recovered { folder_id: folder_id.clone(), folder_name, item_id: item_id.clone(), item_name }, done))
        })
        .await
    }
}

/// A digest of item `id` of `tree` and everything below it, by relative paths, sizes, content and
/// props, not by ids or its own name: equal for a point's item and a granular restore's copy of it.
pub fn item_digest(tree: &PointTree, id: &str) -> backstore_content::BlobId {
    let below = super::mail_restores::mail_digest(tree, &super::mail_restores::DigestScope::Below(id));
    let mut h = blake3::Hasher::new();
    h.update(&below.0);
    if let Some(top) = tree.items.iter().find(|i| i.entry.id == id) {
        let e = &top.entry;
        h.update(if e.kind == EntryKind::File { b"file" } else { b"folder" });
        if e.kind == EntryKind::File {
            h.update(&e.size.to_le_bytes());
            for c in &e.chunks {
                h.update(&c.id.0);
            }
        }
    }
    backstore_content::BlobId(*h.finalize().as_bytes())
}
