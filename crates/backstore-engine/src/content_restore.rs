//! Restores that write content: an artifact whose restore point holds a tree
//! (`restore_points.content_root`) is restored for real.
//!
//! - SharePoint and OneDrive: `new` makes a site at the `R<n>` URL whose library holds the point's
//!   tree; `inPlace` makes the unit's own drive equal to it, after a snapshot of what it replaces.
//! - Exchange: `new` makes a "Restored Items" folder holding the point's folders and messages;
//!   `inPlace` puts the point's messages back in their folders (after a snapshot of the mailbox),
//!   keeping mail that came later. Drafts are not restored.
//!
//! - Granular artifacts restore a part of the point's tree (`granular_restore`).
//!
//! Either way the drive or mailbox is snapshotted right after and the root of that snapshot
//! recorded beside the point's (the restore proof; a mailbox's compares digests, see
//! `mail_restores`). Every step can run again after a `kill -9`: what a `new` restore makes has
//! ids derived from the artifact, the tree is written in one transaction, and the proof keeps what
//! its first run recorded.

use backstore_content::{BlobId, EntryKind};
use backstore_domain::restore::{restored_site_url, RestoreOutcome, UnitInfo};
use backstore_domain::{Actor, DestinationType, Workload};
use backstore_store::sql::mail_restores::{self, DigestScope};
use backstore_store::sql::restores::{NewSite, PointTree, TreeRestore};
use backstore_store::{ArtifactRecord, Store, StoreError, StoreResult, Writer};

use crate::config::Work;
use crate::Content;

/// Who a restore says wrote what it wrote.
fn restore_actor() -> Actor {
    Actor {
        application_id: "8e2a6f0c-3d41-4b59-a7c2-1f0b9d4e6a35".into(),
        application_name: Some("Microsoft 365 Backup".into()),
        user_id: None,
        user_name: None,
    }
}

/// The id of the site a `new` restore of `artifact` makes: the same on every run of it.
fn restored_site_id(tenant: &str, artifact: &str) -> String {
    let a = backstore_domain::stable_hash(&format!("restored-site\u{1f}{tenant}\u{1f}{artifact}"));
    let b = backstore_domain::stable_hash(&format!("restored-site-2\u{1f}{tenant}\u{1f}{artifact}"));
    uuid::Uuid::from_u64_pair(a, b).to_string()
}

/// A restore of content the engine is about to run: the point's tree and what it writes in all.
pub(crate) struct Planned {
    pub tree: PointTree,
    pub work: Work,
}

/// Reads the tree of the artifact's point, if it holds one; `None` when it holds none (a unit
/// protected without content), which the engine restores by its metadata alone.
pub(crate) async fn plan(
    store: &Store,
    content: &Content,
    a: &ArtifactRecord,
    unit: &UnitInfo,
    tenant: &str,
) -> StoreResult<Option<Planned>> {
    let Some(point_root) = store.restore_point_root(tenant, &a.restore_point.id).await? else { return Ok(None) };
    if unit.resource.resource_id().is_none() {
        return Ok(None);
    }
    let tree = crate::granular_restore::read_tree(store, content, tenant, a, point_root).await?;
    let work = match unit.resource.workload {
        Workload::Exchange => {
            let items: Vec<_> = mail_restores::restorable(&tree).collect();
            let bytes = items.iter().filter(|i| i.entry.kind == EntryKind::File).map(|i| i.entry.size).sum();
            Work { items: items.len() as u64, bytes }
        }
        Workload::SharePoint | Workload::OneDrive => Work { items: tree.items.len() as u64, bytes: tree.bytes() },
    };
    Ok(Some(Planned { tree, work }))
}

/// Restores the planned content; what this run wrote.
pub(crate) async fn restore_content(
    store: &Store,
    content: &Content,
    a: &ArtifactRecord,
    unit: &UnitInfo,
    tenant: &str,
    planned: &Planned,
    now: backstore_domain::Timestamp,
) -> StoreResult<(RestoreOutcome, TreeRestore)> {
    let resource_id = unit.resource.resource_id().unwrap_or_default();
    let tree = &planned.tree;
    match unit.resource.workload {
        Workload::Exchange => restore_mailbox(store, content, a, unit, resource_id, tenant, tree, now).await,
        Workload::SharePoint | Workload::OneDrive if a.granular.is_some() => {
            let actor = restore_actor();
            let w = Writer { tenant, actor: &actor, now };
            crate::granular_restore::restore_item(store, content, (a, unit, tenant), tree, w).await
        }
        Workload::SharePoint | Workload::OneDrive => {
            restore_drive(store, content, a, unit, resource_id, tenant, tree, now).await
        }
    }
}

/// Records what a restore wrote: the root of a snapshot taken now and, for a mailbox, the digests.
async fn finish_proof(
    store: &Store,
    tenant: &str,
    artifact_id: &str,
    written: BlobId,
    point: &PointTree,
    digests: Option<(BlobId, BlobId)>,
    now: backstore_domain::Timestamp,
) -> StoreResult<()> {
    store.finish_restore_proof(tenant, artifact_id, &written, digests, now).await?;
    let equal = match digests {
        Some((p, w)) => p == w,
        None => written == point.root,
    };
    if equal {
        tracing::info!(root = %written.to_hex(), items = point.items.len(), "restored content equals the restore point's");
    } else {
        tracing::warn!(written = %written.to_hex(), point = %point.root.to_hex(), "restored content differs from the restore point's");
    }
    Ok(())
}

/// A mailbox's restore: into a new "Restored Items" folder, or its messages back in place.
#[allow(clippy::too_many_arguments)]
async fn restore_mailbox(
    store: &Store,
    content: &Content,
    a: &ArtifactRecord,
    unit: &UnitInfo,
    user_id: &str,
    tenant: &str,
    tree: &PointTree,
    now: backstore_domain::Timestamp,
) -> StoreResult<(RestoreOutcome, TreeRestore)> {
    let mailbox = store
        .mailbox(tenant, user_id)
        .await?
        .ok_or_else(|| StoreError::InvalidTreeChange(format!("unit {} has no mailbox to restore into", unit.id)))?;
    let actor = restore_actor();
    let w = Writer { tenant, actor: &actor, now };
    let count = Some(mail_restores::restorable_messages(tree) as i64);
    let (outcome, folder, done) = match a.destination {
        DestinationType::New => {
            store.start_restore_proof(tenant, &a.id, &a.session_id, &mailbox.drive_id, &tree.root, None).await?;
            let name = crate::granular_restore::mail_folder_name(a, now);
            let (folder_id, name, done) = store.restore_mailbox_new(w, &a.id, &mailbox, &name, tree).await?;
            let outcome = RestoreOutcome {
                restored_folder_id: Some(folder_id.clone()),
                restored_folder_name: Some(name),
                restored_item_count: count,
                ..RestoreOutcome::default()
            };
            (outcome, Some(folder_id), done)
        }
        DestinationType::InPlace => {
            let before = store.snapshot_drive(content, tenant, &mailbox.drive_id).await?;
            store
                .start_restore_proof(tenant, &a.id, &a.session_id, &mailbox.drive_id, &tree.root, Some(&before))
                .await?;
            let done = store.restore_mailbox_in_place(w, &a.id, &mailbox, tree).await?;
            let outcome = RestoreOutcome {
                // In place, messages go back to their own folders: the mailbox's root is reported.
                restored_folder_id: Some(mailbox.root_id.clone()),
                restored_folder_name: None,
                restored_item_count: count,
                ..RestoreOutcome::default()
            };
            (outcome, None, done)
        }
    };
    let written = store.snapshot_drive(content, tenant, &mailbox.drive_id).await?;
    let after = PointTree::read(content, tenant, written).await?;
    let scope = match &folder {
        Some(id) => DigestScope::Below(id),
        None => DigestScope::InPlace(tree),
    };
    let digests = (mail_restores::mail_digest(tree, &DigestScope::Point), mail_restores::mail_digest(&after, &scope));
    finish_proof(store, tenant, &a.id, written, tree, Some(digests), now).await?;
    Ok((outcome, done))
}

/// A site's or OneDrive's restore: into a new site at the `R<n>` URL, or the drive made the point's.
#[allow(clippy::too_many_arguments)]
async fn restore_drive(
    store: &Store,
    content: &Content,
    a: &ArtifactRecord,
    unit: &UnitInfo,
    resource_id: &str,
    tenant: &str,
    tree: &PointTree,
    now: backstore_domain::Timestamp,
) -> StoreResult<(RestoreOutcome, TreeRestore)> {
    let r = &unit.resource;
    let point_root = tree.root;
    let actor = restore_actor();
    let w = Writer { tenant, actor: &actor, now };
    let (drive_id, outcome, done) = match a.destination {
        DestinationType::New => {
            let site_id = restored_site_id(tenant, &a.id);
            let drive_id = backstore_store::sql::drives::drive_id_of(tenant, &site_id);
            store.start_restore_proof(tenant, &a.id, &a.session_id, &drive_id, &point_root, None).await?;
            let web_url = match store.directory_entry(tenant, Workload::SharePoint, &site_id).await? {
                Some(made) => made.resource.site_web_url.unwrap_or_default(),
                None => {
                    let original = r.site_web_url.as_deref().ok_or_else(|| {
                        StoreError::InvalidTreeChange(format!("unit {} has no site URL to restore next to", unit.id))
                    })?;
                    restored_site_url(original, store.allocate_restore_suffix(tenant, original).await?)
                }
            };
            let name = r.site_name.clone().or_else(|| r.display_name.clone());
            let site = NewSite { site_id: site_id.clone(), name: name.clone(), web_url: web_url.clone() };
            let (drive, done) = store.restore_drive_new(w, &a.id, &site, tree).await?;
            let outcome = RestoreOutcome {
                restored_site_id: Some(site_id),
                restored_site_name: name,
                restored_site_web_url: Some(web_url),
                ..RestoreOutcome::default()
            };
            (drive.drive_id, outcome, done)
        }
        DestinationType::InPlace => {
            let drive = store.drive_of_resource(tenant, resource_id).await?.ok_or_else(|| {
                StoreError::InvalidTreeChange(format!("unit {} has no drive to restore into", unit.id))
            })?;
            let before = store.snapshot_drive(content, tenant, &drive.drive_id).await?;
            store
                .start_restore_proof(tenant, &a.id, &a.session_id, &drive.drive_id, &point_root, Some(&before))
                .await?;
            let done = store.restore_drive_in_place(w, &a.id, &drive, tree).await?;
            let outcome = RestoreOutcome {
                restored_site_id: r.site_id.clone(),
                restored_site_name: r.site_name.clone(),
                restored_site_web_url: r.site_web_url.clone(),
                ..RestoreOutcome::default()
            };
            (drive.drive_id, outcome, done)
        }
    };
    let written = store.snapshot_drive(content, tenant, &drive_id).await?;
    finish_proof(store, tenant, &a.id, written, tree, None, now).await?;
    Ok((outcome, done))
}
