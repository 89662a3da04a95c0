//! Granular restores: what of a restore point's tree a granular artifact restores, and the
//! restore of a file or folder into its session's "Recovered Items" folder.
//!
//! - A site's or OneDrive's item (by its browse item key: `{site},{web}` or `{site},{web},{library}`
//!   for the whole library, `…,{item}` for a file or folder) is copied with everything below it;
//!   a whole library is copied as a folder named after it.
//! - A mailbox's search: exactly the messages it matched, with the folders above them; restored as
//!   a mailbox's messages are (`content_restore`), into a "Recovered Items" folder when `new`.

use std::collections::HashSet;

use backstore_content::{BlobId, Entry, EntryKind};
use backstore_domain::restore::{
    library_guid, recovered_files_folder_name, recovered_folder_name, RestoreOutcome, UnitInfo,
};
use backstore_domain::{Timestamp, Workload};
use backstore_store::sql::drives::{encoded_path, library_web_url};
use backstore_store::sql::granular_restores::{item_digest, GranularItems};
use backstore_store::sql::mail_restores;
use backstore_store::sql::restores::{PointItem, PointTree, TreeRestore};
use backstore_store::{ArtifactRecord, Store, StoreError, StoreResult, Writer};

use crate::Content;

/// The id the whole library's copy stands under in a narrowed tree.
const LIBRARY: &str = "library";

fn unusable(why: String) -> StoreError {
    StoreError::InvalidTreeChange(why)
}

/// The part of the point's tree (`root`) an artifact restores: all of it for a standard one; for a
/// browse item only its subtree, read from the manifests on the way to it (not the whole tree);
/// for a search the messages it matched with their folders.
pub(crate) async fn read_tree(
    store: &Store,
    content: &Content,
    tenant: &str,
    a: &ArtifactRecord,
    root: BlobId,
) -> StoreResult<PointTree> {
    let item = a.granular.as_ref().filter(|g| g.item_key.is_some()).and_then(|_| a.wire_id().split(',').nth(3));
    if let Some(item) = item {
        return PointTree::read_item(content, tenant, root, &[], item)
            .await?
            .ok_or_else(|| unusable(format!("item {item} is not in the restore point")));
    }
    let tree = PointTree::read(content, tenant, root).await?;
    let Some(g) = &a.granular else { return Ok(tree) };
    if let Some(search_id) = &g.search_response_id {
        let search = store
            .search(tenant, search_id)
            .await?
            .ok_or_else(|| unusable(format!("search response {search_id} is gone")))?;
        let matched: HashSet<&str> = search.item_ids.iter().map(String::as_str).collect();
        return Ok(only_messages(tree, &matched));
    }
    // A site's or library's key: the whole library.
    Ok(whole_library(tree, a.restore_point.workload))
}

/// The restorable messages of `ids` and the folders above them.
fn only_messages(tree: PointTree, ids: &HashSet<&str>) -> PointTree {
    let parents: std::collections::HashMap<&str, Option<&str>> =
        tree.items.iter().map(|i| (i.entry.id.as_str(), i.parent.as_deref())).collect();
    let mut keep: HashSet<String> = HashSet::new();
    for item in mail_restores::restorable(&tree) {
        if item.entry.kind == EntryKind::File && ids.contains(item.entry.id.as_str()) {
            keep.insert(item.entry.id.clone());
            let mut at = item.parent.as_deref();
            while let Some(p) = at {
                if !keep.insert(p.to_owned()) {
                    break;
                }
                at = parents.get(p).copied().flatten();
            }
        }
    }
    let items = tree.items.iter().filter(|i| keep.contains(&i.entry.id)).cloned().collect();
    PointTree { root: tree.root, items }
}

/// The whole tree below one folder named after the library.
fn whole_library(tree: PointTree, w: Workload) -> PointTree {
    let name = if w == Workload::OneDrive { "Documents" } else { "Shared Documents" };
    let mut top = Entry::folder(name, LIBRARY, tree.bytes(), tree.root);
    top.tree = None;
    let mut items = vec![PointItem { parent: None, entry: top }];
    items.extend(
        tree.items.into_iter().map(|i| PointItem { parent: Some(i.parent.unwrap_or_else(|| LIBRARY.to_owned())), ..i }),
    );
    PointTree { root: tree.root, items }
}

/// The name a granular mailbox restore's `new` folder gets.
pub(crate) fn mail_folder_name(a: &ArtifactRecord, now: Timestamp) -> String {
    if a.granular.is_some() {
        recovered_folder_name(now)
    } else {
        backstore_domain::restore::restored_folder_name(now)
    }
}

/// Copies a file or folder of the point into the session's "Recovered Items" folder of the unit's
/// library, and proves the copy equal to the point's item.
pub(crate) async fn restore_item(
    store: &Store,
    content: &Content,
    (a, unit, tenant): (&ArtifactRecord, &UnitInfo, &str),
    tree: &PointTree,
    w: Writer<'_>,
) -> StoreResult<(RestoreOutcome, TreeRestore)> {
    let resource_id = unit.resource.resource_id().unwrap_or_default();
    let drive = store
        .drive_of_resource(tenant, resource_id)
        .await?
        .ok_or_else(|| unusable(format!("unit {} has no library to restore into", unit.id)))?;
    let top = tree.items.first().map(|i| i.entry.id.clone()).unwrap_or_default();
    store.start_restore_proof(tenant, &a.id, &a.session_id, &drive.drive_id, &tree.root, None).await?;
    let folder_name = recovered_files_folder_name(w.now);
    let g = GranularItems { session_id: &a.session_id, artifact_id: &a.id, folder_name: &folder_name, tree };
    let (recovered, done) = store.restore_items(w, &drive, g).await?;
    let written = store.snapshot_drive(content, tenant, &drive.drive_id).await?;
    // Only the copy is read back: the session's folder is at the library's root.
    let copy = PointTree::read_item(content, tenant, written, &[&recovered.folder_id], &recovered.item_id)
        .await?
        .ok_or_else(|| unusable(format!("the copy of {top} is not in the library's snapshot")))?;
    let digests = (item_digest(tree, &top), item_digest(&copy, &recovered.item_id));
    store.finish_restore_proof(tenant, &a.id, &written, Some(digests), w.now).await?;
    if digests.0 != digests.1 {
        tracing::warn!(artifact = %a.id, "the recovered copy differs from the restore point's item");
    }
    // The copy's key: the item key's site, web and library, and the copy's id.
    let parts: Vec<&str> = a.wire_id().split(',').collect();
    let library = match parts.get(2) {
        Some(l) => (*l).to_owned(),
        None => library_guid(parts.first().copied().unwrap_or_default(), &unit.id),
    };
    let (site, web) = (parts.first().copied().unwrap_or_default(), parts.get(1).copied().unwrap_or_default());
    let library_url =
        unit.resource.site_web_url.as_deref().map(|u| library_web_url(u, unit.resource.workload != Workload::OneDrive));
    let folder_path = format!("/{}", recovered.folder_name);
    let outcome = RestoreOutcome {
        restored_item_key: Some(format!("{site},{web},{library},{}", recovered.item_id)),
        // The folder as a server-relative path: the library's path, then the folder.
        restored_item_path: library_url.as_deref().map(|u| {
            let path = u.split_once("://").and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..])).unwrap_or("");
            let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
            format!("{decoded}{folder_path}")
        }),
        restored_item_web_url: library_url
            .map(|u| format!("{u}{}", encoded_path(&format!("{folder_path}/{}", recovered.item_name)))),
        ..RestoreOutcome::default()
    };
    Ok((outcome, done))
}
