//! Restores of a mailbox from a restore point's tree, each in one transaction, by Exchange's rules
//! rather than a drive's: drafts are never restored, and nothing the point does not hold is
//! removed (mail that arrived after the point stays).
//!
//! - `inPlace`: the point's messages go back to their own folders under their own ids: deleted
//!   ones come back, moved ones move back, changed state (read, flag, importance, categories) is
//!   set back; messages that match are not touched. A deleted folder comes back; one whose name
//!   another folder took since is merged into that folder.
//! - `new`: a "Restored Items YYYY-MM-DD, HH:MM" folder below the mailbox's root holding the
//!   point's folder hierarchy and messages, under ids derived from the artifact's and the
//!   originals', so a second run finds the folder made and writes nothing.
//!
//! A mailbox restored in place keeps more than the point holds, so its proof is not the equality
//! of two roots but of two digests ([`mail_digest`]): one over the point's restorable messages and
//! folders, one over what the restore left of them.

use std::collections::{BTreeMap, HashMap, HashSet};

use backstore_content::{BlobId, Entry, EntryKind};

use super::drives::{bump_delta, changed_from, item_from_row, DriveItemRecord, DriveRecord, ITEM_COLUMNS};
use super::restores::{count_restore, matches, put_entry, PointItem, PointTree, TreeRestore};
use super::tx::Tx;
use super::Lock;
use crate::{Store, StoreError, StoreResult, Writer};

/// Whether a point's entry is a draft (which no mailbox restore brings back).
fn is_draft(e: &Entry) -> bool {
    e.kind == EntryKind::File && e.props.get("isDraft").is_some_and(|v| v == "true")
}

/// The items of a mailbox's point a restore brings back: all but drafts, parents before children.
pub fn restorable(tree: &PointTree) -> impl Iterator<Item = &PointItem> {
    tree.items.iter().filter(|i| !is_draft(&i.entry))
}

/// How many messages a restore of `tree` brings back at most (the `new` destination's count).
pub fn restorable_messages(tree: &PointTree) -> u64 {
    restorable(tree).filter(|i| i.entry.kind == EntryKind::File).count() as u64
}

/// The id a `new` restore of `artifact` gives the copy of the point's item `original` (`""`: the
/// "Restored Items" folder itself); the same on every run.
pub fn restored_mail_id(tenant: &str, artifact: &str, original: &str) -> String {
    backstore_domain::policy::stable_guid(&format!("restored-mail\u{1f}{tenant}\u{1f}{artifact}\u{1f}{original}"))
}

/// What the digest of a mailbox's tree covers.
#[derive(Debug, Clone)]
pub enum DigestScope<'a> {
    /// The point's restorable items (paths from the mailbox's root).
    Point,
    /// What an in-place restore left of the point's restorable items: the messages of those ids
    /// and the folders of those paths.
    InPlace(&'a PointTree),
    /// Everything below the folder a `new` restore made (paths from it).
    Below(&'a str),
}

/// A digest over the folders (by path) and messages (by folder path, bytes and state, not by id)
/// of a mailbox's tree, in `scope`: equal for the point and for a restore that wrote what it holds.
pub fn mail_digest(tree: &PointTree, scope: &DigestScope<'_>) -> BlobId {
    let by_id: HashMap<&str, &PointItem> = tree.items.iter().map(|i| (i.entry.id.as_str(), i)).collect();
    let start = match scope {
        DigestScope::Below(folder) => Some(*folder),
        _ => None,
    };
    let path = |at: Option<&str>| path_in(&by_id, start, at);
    let (wanted_messages, wanted_folders): (HashSet<&str>, HashSet<String>) = match scope {
        DigestScope::InPlace(point) => {
            (restorable(point).filter(|i| i.entry.kind == EntryKind::File).map(|i| i.entry.id.as_str()).collect(), {
                let in_point: HashMap<&str, &PointItem> =
                    point.items.iter().map(|i| (i.entry.id.as_str(), i)).collect();
                restorable(point)
                    .filter(|i| i.entry.kind == EntryKind::Folder)
                    .filter_map(|i| path_in(&in_point, None, Some(i.entry.id.as_str())))
                    .collect()
            })
        }
        _ => (HashSet::new(), HashSet::new()),
    };
    let mut lines = Vec::new();
    for item in &tree.items {
        let e = &item.entry;
        if matches!(scope, DigestScope::Point) && is_draft(e) {
            continue;
        }
        let line = match e.kind {
            EntryKind::Folder => {
                let Some(p) = path(Some(e.id.as_str())) else { continue };
                if matches!(scope, DigestScope::Below(f) if *f == e.id) {
                    continue;
                }
                if matches!(scope, DigestScope::InPlace(_)) && !wanted_folders.contains(&p) {
                    continue;
                }
                format!("folder\u{1f}{p}")
            }
            _ => {
                if matches!(scope, DigestScope::InPlace(_)) && !wanted_messages.contains(e.id.as_str()) {
                    continue;
                }
                let Some(p) = path(item.parent.as_deref()) else { continue };
                let chunks: Vec<String> = e.chunks.iter().map(|c| c.id.to_hex()).collect();
                let state: BTreeMap<&String, &String> = e.props.iter().collect();
                format!(
                    "message\u{1f}{p}\u{1f}{}\u{1f}{}\u{1f}{}",
                    e.size,
                    chunks.join(","),
                    serde_json::to_string(&state).expect("props serialize")
                )
            }
        };
        lines.push(line);
    }
    lines.sort();
    let mut hasher = blake3::Hasher::new();
    for line in &lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    BlobId(*hasher.finalize().as_bytes())
}

/// The path of folder `at` from folder `start` (`None`: the mailbox's root) by names; `None` when
/// `at` is not below `start`.
fn path_in<'a>(by_id: &HashMap<&str, &'a PointItem>, start: Option<&str>, mut at: Option<&'a str>) -> Option<String> {
    let mut names = Vec::new();
    while at != start {
        let item = by_id.get(at?)?;
        names.push(item.entry.name.as_str());
        at = item.parent.as_deref();
    }
    names.reverse();
    Some(names.join("/"))
}

/// Sets a message's state columns to what the point's entry keeps.
async fn set_message_state(tx: &mut Tx, tenant: &str, mailbox: &str, id: &str, e: &Entry) -> StoreResult<()> {
    let prop = |k: &str| e.props.get(k).map(String::as_str);
    exec!(
        tx,
        "UPDATE mail_messages SET is_read = COALESCE(?, is_read), importance = COALESCE(?, importance), \
         categories = COALESCE(?, categories), flag_status = COALESCE(?, flag_status) \
         WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
        prop("isRead").map(|v| i64::from(v == "true")),
        prop("importance"),
        prop("categories"),
        prop("flagStatus"),
        tenant,
        mailbox,
        id,
    )
    .await?;
    Ok(())
}

/// Sets the sizes of `folders` (and every folder above them) to the bytes of the live messages
/// below them, and marks them changed for the next snapshot.
async fn fix_sizes(
    tx: &mut Tx,
    tenant: &str,
    mailbox: &str,
    model: &HashMap<String, Node>,
    folders: HashSet<String>,
) -> StoreResult<()> {
    let mut marked: HashSet<&str> = HashSet::new();
    for start in &folders {
        let mut at = model.get_key_value(start.as_str());
        while let Some((id, node)) = at {
            if !marked.insert(id.as_str()) {
                break;
            }
            at = node.parent.as_deref().and_then(|p| model.get_key_value(p));
        }
    }
    let mut sizes: HashMap<&str, u64> = marked.iter().map(|id| (*id, 0)).collect();
    for node in model.values().filter(|n| !n.deleted && !n.folder) {
        let mut at = node.parent.as_deref();
        while let Some(p) = at {
            if let Some(s) = sizes.get_mut(p) {
                *s += node.size;
            }
            at = model.get(p).and_then(|f| f.parent.as_deref());
        }
    }
    for (id, size) in sizes {
        exec!(
            tx,
            "UPDATE drive_items SET size = ?, tree_id = NULL, change_seq = change_seq + 1, delta_seq = \
             (SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?) \
             WHERE tenant_id = ? AND drive_id = ? AND item_id = ? AND is_folder = 1",
            size as i64,
            tenant,
            mailbox,
            tenant,
            mailbox,
            id,
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// An `inPlace` restore of a mailbox's `tree`: the point's messages back in their folders as
    /// they were, in one transaction. Take a snapshot first, so what this replaces stays in one.
    pub async fn restore_mailbox_in_place(
        &self,
        w: Writer<'_>,
        artifact_id: &str,
        mailbox: &DriveRecord,
        tree: &PointTree,
    ) -> StoreResult<TreeRestore> {
        let drive_id = mailbox.drive_id.as_str();
        let root_id = mailbox.root_id.as_str();
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let sql = format!("SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ?");
            let mut rows: HashMap<String, DriveItemRecord> = HashMap::new();
            for r in &tx.fetch_all(&sql, args![w.tenant, drive_id]).await? {
                let item = item_from_row(r)?;
                rows.insert(item.item_id.clone(), item);
            }
            let mut model: HashMap<String, Node> = rows.iter().map(|(id, r)| (id.clone(), Node::of_row(r))).collect();
            let mut done = TreeRestore { drive_id: drive_id.to_owned(), ..TreeRestore::default() };
            bump_delta(tx, w.tenant, drive_id).await?;
            // Where each of the point's folders goes: itself, or the live folder that has its name now.
            let mut target: HashMap<String, String> = HashMap::new();
            let mut touched: HashSet<String> = HashSet::new();
            for item in restorable(tree) {
                let e = &item.entry;
                let parent = item.parent.as_deref().map_or(root_id, |p| target.get(p).map_or(p, String::as_str));
                let parent = parent.to_owned();
                let row = rows.get(&e.id);
                if row.is_some_and(|r| matches(r, &parent, e)) {
                    target.insert(e.id.clone(), e.id.clone());
                    continue;
                }
                if e.kind == EntryKind::Folder {
                    let key = e.name.to_lowercase();
                    let taken = model.iter().find(|(id, n)| {
                        !n.deleted
                            && n.folder
                            && **id != e.id
                            && n.parent.as_deref() == Some(parent.as_str())
                            && n.name.to_lowercase() == key
                    });
                    if let Some((other, _)) = taken {
                        target.insert(e.id.clone(), other.clone());
                        continue;
                    }
                    target.insert(e.id.clone(), e.id.clone());
                } else if row.is_none() {
                    return Err(StoreError::Corrupt(format!("message {} of the restore point has no row", e.id)));
                }
                let moved_from = row.filter(|r| !r.deleted && r.parent_id.as_deref() != Some(parent.as_str()));
                if let Some(from) = moved_from.and_then(|r| r.parent_id.clone()).filter(|_| e.kind == EntryKind::File) {
                    exec!(
                        tx,
                        "INSERT INTO mail_moves (tenant_id, drive_id, item_id, from_folder, delta_seq) VALUES \
                         (?, ?, ?, ?, (SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?))",
                        w.tenant,
                        drive_id,
                        e.id.as_str(),
                        from.as_str(),
                        w.tenant,
                        drive_id,
                    )
                    .await?;
                    touched.insert(from);
                }
                put_entry(tx, &w, drive_id, Some(&parent), e, row.is_some()).await?;
                if e.kind == EntryKind::File {
                    set_message_state(tx, w.tenant, drive_id, &e.id, e).await?;
                    done.bytes_written += e.size;
                }
                done.items_written += 1;
                model.insert(e.id.clone(), Node::of_entry(e, &parent));
                touched.insert(parent);
            }
            fix_sizes(tx, w.tenant, drive_id, &model, touched).await?;
            count_restore(tx, w.tenant, artifact_id, &done, w.now).await?;
            Ok(done)
        })
        .await
    }

    /// A `new` restore of a mailbox's `tree`: a folder named `name` (or `name (2)`, … if taken)
    /// below the mailbox's root holding the point's folders and messages, in one transaction.
    /// Returns the folder's id and name and what was written; nothing is written if the folder
    /// was made already (a run of this restore that ended before its job did).
    pub async fn restore_mailbox_new(
        &self,
        w: Writer<'_>,
        artifact_id: &str,
        mailbox: &DriveRecord,
        name: &str,
        tree: &PointTree,
    ) -> StoreResult<(String, String, TreeRestore)> {
        let drive_id = mailbox.drive_id.as_str();
        let root_id = mailbox.root_id.as_str();
        let folder_id = restored_mail_id(w.tenant, artifact_id, "");
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let mut done = TreeRestore { drive_id: drive_id.to_owned(), ..TreeRestore::default() };
            let made: Option<String> = tx
                .scalar_opt(
                    "SELECT name FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                    args![w.tenant, drive_id, folder_id.as_str()],
                )
                .await?;
            if let Some(made) = made {
                return Ok((folder_id.clone(), made, done));
            }
            let mut chosen = name.to_owned();
            for n in 2.. {
                let taken: Option<i64> = tx
                    .scalar_opt(
                        "SELECT 1 FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? \
                         AND name_key = ? AND deleted_at IS NULL",
                        args![w.tenant, drive_id, root_id, chosen.to_lowercase()],
                    )
                    .await?;
                if taken.is_none() {
                    break;
                }
                chosen = format!("{name} ({n})");
            }
            bump_delta(tx, w.tenant, drive_id).await?;
            let mut folder = Entry::folder(chosen.as_str(), folder_id.as_str(), 0, tree.root);
            folder.tree = None;
            put_entry(tx, &w, drive_id, Some(root_id), &folder, false).await?;
            let mut model: HashMap<String, Node> = HashMap::new();
            model.insert(folder_id.clone(), Node::of_entry(&folder, root_id));
            for item in restorable(tree) {
                let id = restored_mail_id(w.tenant, artifact_id, &item.entry.id);
                let parent = item.parent.as_deref().map_or(folder_id.clone(), |p| restored_mail_id(w.tenant, artifact_id, p));
                let e = Entry { id: id.clone(), ..item.entry.clone() };
                put_entry(tx, &w, drive_id, Some(&parent), &e, false).await?;
                if e.kind == EntryKind::File {
                    let copied = exec!(
                        tx,
                        "INSERT INTO mail_messages (tenant_id, drive_id, item_id, subject, from_name, from_address, \
                         to_recipients, cc_recipients, bcc_recipients, reply_to, received_at, sent_at, has_attachments, \
                         is_read, is_draft, importance, categories, flag_status, internet_message_id, conversation_id, \
                         body_preview) SELECT tenant_id, drive_id, ?, subject, from_name, from_address, to_recipients, \
                         cc_recipients, bcc_recipients, reply_to, received_at, sent_at, has_attachments, is_read, \
                         is_draft, importance, categories, flag_status, internet_message_id, conversation_id, \
                         body_preview FROM mail_messages WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                        id.as_str(),
                        w.tenant,
                        drive_id,
                        item.entry.id.as_str(),
                    )
                    .await?;
                    if copied != 1 {
                        return Err(StoreError::Corrupt(format!(
                            "message {} of the restore point has no row",
                            item.entry.id
                        )));
                    }
                    set_message_state(tx, w.tenant, drive_id, &id, &e).await?;
                    done.bytes_written += e.size;
                }
                done.items_written += 1;
                model.insert(id, Node::of_entry(&e, &parent));
            }
            let folders: HashSet<String> = model.iter().filter(|(_, n)| n.folder).map(|(id, _)| id.clone()).collect();
            let total: u64 = model.values().filter(|n| !n.folder).map(|n| n.size).sum();
            // The root is not in the model: its size and its mark come from `changed_from`.
            fix_sizes(tx, w.tenant, drive_id, &model, folders).await?;
            changed_from(tx, w.tenant, drive_id, root_id, total as i64).await?;
            count_restore(tx, w.tenant, artifact_id, &done, w.now).await?;
            Ok((folder_id.clone(), chosen, done))
        })
        .await
    }
}

/// What a restore's model of the mailbox knows of an item: enough to place it and sum sizes.
#[derive(Debug, Clone)]
struct Node {
    parent: Option<String>,
    name: String,
    folder: bool,
    size: u64,
    deleted: bool,
}

impl Node {
    fn of_row(r: &DriveItemRecord) -> Node {
        Node {
            parent: r.parent_id.clone(),
            name: r.name.clone(),
            folder: r.is_folder,
            size: r.size,
            deleted: r.deleted,
        }
    }

    fn of_entry(e: &Entry, parent: &str) -> Node {
        let folder = e.kind == EntryKind::Folder;
        Node {
            parent: Some(parent.to_owned()),
            name: e.name.clone(),
            folder,
            size: if folder { 0 } else { e.size },
            deleted: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, draft: bool) -> Entry {
        let mut e = Entry::file(id, id, 10, Vec::new());
        e.props.insert("isDraft".into(), draft.to_string());
        e
    }

    #[test]
    fn drafts_are_not_restorable_and_not_in_the_points_digest() {
        let root = BlobId([0; 32]);
        let inbox = Entry::folder("Inbox", "f1", 20, root);
        let items = vec![
            PointItem { parent: None, entry: inbox },
            PointItem { parent: Some("f1".into()), entry: message("m1", false) },
            PointItem { parent: Some("f1".into()), entry: message("m2", true) },
        ];
        let tree = PointTree { root, items };
        assert_eq!(restorable_messages(&tree), 1);
        let without_draft = PointTree { root, items: tree.items[..2].to_vec() };
        assert_eq!(mail_digest(&tree, &DigestScope::Point), mail_digest(&without_draft, &DigestScope::Point));
        // Below a restored folder, paths start at it and ids do not count.
        let mut copy = without_draft.items.clone();
        copy[0].parent = Some("r".into());
        copy[0].entry.id = "x1".into();
        copy[1].parent = Some("x1".into());
        copy[1].entry.id = "y1".into();
        copy.insert(0, PointItem { parent: None, entry: Entry::folder("Restored Items", "r", 10, root) });
        let restored = PointTree { root, items: copy };
        assert_eq!(mail_digest(&restored, &DigestScope::Below("r")), mail_digest(&tree, &DigestScope::Point));
    }
}
