//! Restores of a drive from a restore point's tree, each in one transaction (a restore is seen whole
//! or not at all, and one interrupted by `kill -9` leaves nothing to clean up):
//!
//! - `new`: a new site of the tenant's directory whose library holds the point's tree. Item ids are
//!   kept (they are unique per drive), so what was written can be snapshotted and compared with the
//!   point's root; a second run for the same site finds it made and writes nothing.
//! - `inPlace`: the live tree made equal to the point's. Items the point does not hold are deleted,
//!   the ones it holds come back (undeleted, moved and renamed back, their old content again); items
//!   that match are not touched. Folders above a change are marked changed, so the snapshot taken
//!   right after recomputes their manifests from the rows: its root equal to the point's is the
//!   proof that the restore wrote what the point holds.

use std::collections::{BTreeMap, HashMap, HashSet};

use backstore_content::{BlobId, ChunkIndex, ContentError, Entry, EntryKind, Repository};

use super::drives::{
    bump_delta, chunks_json, drive_from_row, insert_drive, item_from_row, DriveRecord, DRIVE_SELECT, ITEM_COLUMNS,
};
use super::read::Col;
use super::rows::{actor_json, micros};
use super::tx::Tx;
use super::Lock;
use crate::{Store, StoreError, StoreResult, Writer};

/// One item of a restore point's tree and the folder it is in (`None`: the drive's root).
#[derive(Debug, Clone)]
pub struct PointItem {
    pub parent: Option<String>,
    pub entry: Entry,
}

/// A restore point's tree, read whole from its manifests: parents before children.
#[derive(Debug, Clone)]
pub struct PointTree {
    pub root: BlobId,
    pub items: Vec<PointItem>,
}

impl PointTree {
    /// Reads every manifest below `root`.
    pub async fn read<I: ChunkIndex>(repo: &Repository<I>, tenant: &str, root: BlobId) -> Result<Self, ContentError> {
        let mut items = Vec::new();
        let mut folders = vec![(None, root)];
        while let Some((parent, tree)) = folders.pop() {
            for entry in repo.read_tree(tenant, &tree).await?.entries {
                if let Some(sub) = entry.tree {
                    folders.push((Some(entry.id.clone()), sub));
                }
                items.push(PointItem { parent: parent.clone(), entry });
            }
        }
        Ok(PointTree { root, items })
    }

    /// Item `id` (made the top: no parent) and everything below it, reading only the manifests on
    /// the way to it and below it: the folders of `via` first (ids, from `root` down), then breadth
    /// first. `None` when it is not there.
    pub async fn read_item<I: ChunkIndex>(
        repo: &Repository<I>,
        tenant: &str,
        root: BlobId,
        via: &[&str],
        id: &str,
    ) -> Result<Option<Self>, ContentError> {
        let mut at = root;
        for step in via {
            let entries = repo.read_tree(tenant, &at).await?.entries;
            match entries.into_iter().find(|e| e.id == *step).and_then(|e| e.tree) {
                Some(tree) => at = tree,
                None => return Ok(None),
            }
        }
        let mut queue = std::collections::VecDeque::from([at]);
        while let Some(tree) = queue.pop_front() {
            for entry in repo.read_tree(tenant, &tree).await?.entries {
                if entry.id == id {
                    let mut items = Vec::new();
                    if let Some(sub) = entry.tree {
                        items = Self::read(repo, tenant, sub).await?.items;
                        for i in items.iter_mut().filter(|i| i.parent.is_none()) {
                            i.parent = Some(id.to_owned());
                        }
                    }
                    items.insert(0, PointItem { parent: None, entry });
                    return Ok(Some(PointTree { root, items }));
                }
                if let Some(sub) = entry.tree {
                    queue.push_back(sub);
                }
            }
        }
        Ok(None)
    }

    pub fn files(&self) -> u64 {
        self.items.iter().filter(|i| i.entry.kind == EntryKind::File).count() as u64
    }

    pub fn bytes(&self) -> u64 {
        self.items.iter().filter(|i| i.entry.kind == EntryKind::File).map(|i| i.entry.size).sum()
    }
}

/// Where a `new` restore of a drive goes: a site of the tenant's directory, made by the restore.
#[derive(Debug, Clone)]
pub struct NewSite {
    pub site_id: String,
    pub name: Option<String>,
    pub web_url: String,
}

/// What a restore changed in a drive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeRestore {
    pub drive_id: String,
    /// Items written (made, brought back, moved back, given their old content).
    pub items_written: u64,
    /// Bytes of the files written.
    pub bytes_written: u64,
    /// Items the point did not hold, deleted.
    pub items_removed: u64,
}

/// The columns of a file that its manifest entry keeps among its props.
const FILE_PROPS: [&str; 3] = ["mimeType", "sha256Hash", "quickXorHash"];

fn time_of(text: Option<&str>, or: i64) -> i64 {
    text.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map_or(or, |t| t.timestamp_micros())
}

/// An entry's item props: its props without the file columns.
fn item_props(e: &Entry) -> Option<String> {
    let rest: BTreeMap<&String, &String> = e.props.iter().filter(|(k, _)| !FILE_PROPS.contains(&k.as_str())).collect();
    (!rest.is_empty()).then(|| serde_json::to_string(&rest).expect("props serialize"))
}

/// Writes `e` as item `e.id` in `parent` (`None` for the root): a new row, or the row of that id
/// made what `e` says (undeleted if it was deleted). Folders are left marked changed, so the next
/// snapshot computes their manifests from the rows.
pub(super) async fn put_entry(
    tx: &mut Tx,
    w: &Writer<'_>,
    drive: &str,
    parent: Option<&str>,
    e: &Entry,
    exists: bool,
) -> StoreResult<()> {
    let now = micros(w.now);
    let who = actor_json(w.actor);
    let folder = e.kind == EntryKind::Folder;
    let chunks = (!folder).then(|| chunks_json(&e.chunks));
    let prop = |k: &str| e.props.get(k).map(String::as_str);
    let (created_by, modified_by) = (e.created_by.as_ref().unwrap_or(&who), e.modified_by.as_ref().unwrap_or(&who));
    let (created, modified) = (time_of(e.created.as_deref(), now), time_of(e.modified.as_deref(), now));
    let props = item_props(e);
    if exists {
        exec!(
            tx,
            "UPDATE drive_items SET parent_id = ?, name = ?, name_key = ?, is_folder = ?, size = ?, chunks = ?, \
             mime_type = ?, sha256 = ?, quick_xor = ?, created_at = ?, modified_at = ?, created_by = ?, modified_by = ?, \
             props = ?, deleted_at = NULL, tree_id = NULL, version = version + 1, content_version = content_version + 1, \
             change_seq = change_seq + 1, delta_seq = (SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?) \
             WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
            parent, e.name.as_str(), e.name.to_lowercase(), i64::from(folder), e.size as i64, chunks,
            prop("mimeType"), prop("sha256Hash"), prop("quickXorHash"), created, modified, created_by.as_str(),
            modified_by.as_str(), props, w.tenant, drive, w.tenant, drive, e.id.as_str(),
        )
        .await?;
    } else {
        exec!(
            tx,
            "INSERT INTO drive_items (tenant_id, drive_id, item_id, parent_id, name, name_key, is_folder, size, chunks, \
             mime_type, sha256, quick_xor, created_at, modified_at, created_by, modified_by, props, version, \
             content_version, change_seq, delta_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1, 0, \
             (SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?))",
            w.tenant, drive, e.id.as_str(), parent, e.name.as_str(), e.name.to_lowercase(), i64::from(folder),
            e.size as i64, chunks, prop("mimeType"), prop("sha256Hash"), prop("quickXorHash"), created, modified,
            created_by.as_str(), modified_by.as_str(), props, w.tenant, drive,
        )
        .await?;
    }
    Ok(())
}

/// Whether the live item already is what the entry says (then a restore leaves it alone).
pub(super) fn matches(live: &super::drives::DriveItemRecord, parent: &str, e: &Entry) -> bool {
    let seconds = |t: backstore_domain::Timestamp| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let props_match = live.props.iter().all(|(k, v)| e.props.get(k) == Some(v))
        && e.props.iter().filter(|(k, _)| !FILE_PROPS.contains(&k.as_str())).count() == live.props.len();
    !live.deleted
        && live.parent_id.as_deref() == Some(parent)
        && live.name == e.name
        && live.is_folder == (e.kind == EntryKind::Folder)
        && (live.is_folder || (live.chunks == e.chunks && live.size == e.size))
        && props_match
        && e.modified.as_deref().is_none_or(|m| m == seconds(live.modified_at))
}

/// Counts what a restore wrote into its proof, in the transaction that writes it (once: a restore
/// that runs again after its tree was written finds nothing to write and keeps the first count).
pub(super) async fn count_restore(
    tx: &mut Tx,
    tenant: &str,
    artifact_id: &str,
    done: &TreeRestore,
    at: backstore_domain::Timestamp,
) -> StoreResult<()> {
    exec!(
        tx,
        "UPDATE restore_proofs SET items_written = ?, bytes_written = ?, items_removed = ?, restored_at = ? \
         WHERE tenant_id = ? AND artifact_id = ? AND restored_at IS NULL",
        done.items_written as i64,
        done.bytes_written as i64,
        done.items_removed as i64,
        micros(at),
        tenant,
        artifact_id,
    )
    .await?;
    Ok(())
}

impl Store {
    /// A `new` restore of `tree` into `site`'s library: the site is registered in the tenant's
    /// directory and its drive made with the tree, in one transaction; if the site's drive is made
    /// already (a run of this restore that ended before its job did), nothing is written.
    pub async fn restore_drive_new(
        &self,
        w: Writer<'_>,
        artifact_id: &str,
        site: &NewSite,
        tree: &PointTree,
    ) -> StoreResult<(DriveRecord, TreeRestore)> {
        let drive_id = super::drives::drive_id_of(w.tenant, &site.site_id);
        self.write(Lock::Tenant(w.tenant), async |tx| {
            exec!(
                tx,
                "INSERT INTO directory_resources (tenant_id, workload, resource_id, site_id, site_name, site_web_url) \
                 VALUES (?, 'site', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                w.tenant,
                site.site_id.as_str(),
                site.site_id.as_str(),
                site.name.as_deref(),
                site.web_url.as_str(),
            )
            .await?;
            let made = insert_drive(tx, &w, &drive_id, &site.site_id, "documentLibrary", "Documents").await?;
            let mut done = TreeRestore { drive_id: drive_id.clone(), ..TreeRestore::default() };
            if let Some(root_id) = made {
                bump_delta(tx, w.tenant, &drive_id).await?;
                let root = Entry::folder("root", root_id.as_str(), tree.bytes(), tree.root);
                put_entry(tx, &w, &drive_id, None, &root, false).await?;
                for item in &tree.items {
                    let parent = item.parent.as_deref().unwrap_or(&root_id);
                    put_entry(tx, &w, &drive_id, Some(parent), &item.entry, false).await?;
                }
                done.items_written = tree.items.len() as u64;
                done.bytes_written = tree.bytes();
                count_restore(tx, w.tenant, artifact_id, &done, w.now).await?;
            }
            let sql = format!("{DRIVE_SELECT} WHERE d.tenant_id = ? AND d.drive_id = ?");
            let row = tx.fetch_one(&sql, args![w.tenant, drive_id.as_str()]).await?;
            Ok((drive_from_row(&row)?, done))
        })
        .await
    }

    /// An `inPlace` restore of `tree` into `drive`: the live tree made equal to it, in one
    /// transaction. Take a snapshot first, so what this replaces stays in a restore point.
    pub async fn restore_drive_in_place(
        &self,
        w: Writer<'_>,
        artifact_id: &str,
        drive: &DriveRecord,
        tree: &PointTree,
    ) -> StoreResult<TreeRestore> {
        let drive_id = drive.drive_id.as_str();
        let root_id = drive.root_id.as_str();
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let sql = format!("SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ?");
            let rows = tx.fetch_all(&sql, args![w.tenant, drive_id]).await?;
            let mut live = HashMap::with_capacity(rows.len());
            for r in &rows {
                let item = item_from_row(r)?;
                live.insert(item.item_id.clone(), item);
            }
            let wanted: HashMap<&str, &PointItem> = tree.items.iter().map(|i| (i.entry.id.as_str(), i)).collect();
            let parent_of = |i: &PointItem| i.parent.clone().unwrap_or_else(|| root_id.to_owned());
            let mut done = TreeRestore { drive_id: drive_id.to_owned(), ..TreeRestore::default() };
            bump_delta(tx, w.tenant, drive_id).await?;

            // What the point does not hold goes; what it holds and is not as it was is set aside
            // (a name no item can have), so names can be given back in any order.
            let mut touched: HashSet<String> = HashSet::new();
            for item in live.values().filter(|i| !i.deleted && i.item_id != root_id) {
                match wanted.get(item.item_id.as_str()) {
                    None => {
                        exec!(
                            tx,
                            "UPDATE drive_items SET deleted_at = ?, version = version + 1, delta_seq = \
                             (SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?) \
                             WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                            micros(w.now),
                            w.tenant,
                            drive_id,
                            w.tenant,
                            drive_id,
                            item.item_id.as_str(),
                        )
                        .await?;
                        done.items_removed += 1;
                        touched.extend(item.parent_id.clone());
                    }
                    Some(p) if !matches(item, &parent_of(p), &p.entry) => {
                        exec!(
                            tx,
                            "UPDATE drive_items SET name_key = ? WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                            format!("\u{1}restoring\u{1}{}", item.item_id),
                            w.tenant,
                            drive_id,
                            item.item_id.as_str(),
                        )
                        .await?;
                        touched.extend(item.parent_id.clone());
                    }
                    Some(_) => {}
                }
            }
            for item in &tree.items {
                let parent = parent_of(item);
                let row = live.get(item.entry.id.as_str());
                if row.is_some_and(|r| matches(r, &parent, &item.entry)) {
                    continue;
                }
                put_entry(tx, &w, drive_id, Some(&parent), &item.entry, row.is_some()).await?;
                done.items_written += 1;
                if item.entry.kind == EntryKind::File {
                    done.bytes_written += item.entry.size;
                }
                touched.insert(parent);
                touched.insert(item.entry.id.clone());
            }

            // Folder sizes as the point has them; the folders above a change recomputed by the
            // next snapshot.
            let mut marked: HashSet<String> = HashSet::new();
            for start in touched {
                let mut at = Some(start);
                while let Some(id) = at {
                    if !marked.insert(id.clone()) {
                        break;
                    }
                    at = wanted.get(id.as_str()).map(|i| parent_of(i)).filter(|_| id != root_id);
                }
            }
            for id in &marked {
                let size = match wanted.get(id.as_str()) {
                    _ if id == root_id => tree.bytes(),
                    Some(i) if i.entry.kind == EntryKind::Folder => i.entry.size,
                    _ => continue,
                };
                exec!(
                    tx,
                    "UPDATE drive_items SET size = ?, tree_id = NULL, change_seq = change_seq + 1 \
                     WHERE tenant_id = ? AND drive_id = ? AND item_id = ? AND is_folder = 1",
                    size as i64,
                    w.tenant,
                    drive_id,
                    id.as_str(),
                )
                .await?;
            }
            count_restore(tx, w.tenant, artifact_id, &done, w.now).await?;
            Ok(done)
        })
        .await
    }

    /// The root manifest a restore point holds, if it holds content.
    pub async fn restore_point_root(&self, tenant: &str, point_id: &str) -> StoreResult<Option<BlobId>> {
        let root: Option<Option<String>> = self
            .read_row(
                "SELECT content_root FROM restore_points WHERE tenant_id = ? AND id = ?",
                args![tenant, point_id],
                |r| r.col::<Option<String>>("content_root"),
            )
            .await?;
        root.flatten().map(|t| t.parse().map_err(|_| StoreError::Corrupt(format!("content root '{t}'")))).transpose()
    }
}
