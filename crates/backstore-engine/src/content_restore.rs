//! Restores that write content: a SharePoint or OneDrive artifact whose restore point holds a tree
//! (`restore_points.content_root`) is restored for real. `new` makes a site at the `R<n>` URL whose
//! library holds the point's tree; `inPlace` makes the unit's own drive equal to it, after a
//! snapshot of what it replaces. Either way the drive is snapshotted right after and the root of
//! that snapshot recorded beside the point's (the restore proof). Every step can run again after a
//! `kill -9`: the new site's id is derived from the artifact, the tree is written in one
//! transaction, and the proof keeps what its first run recorded.

use backstore_domain::restore::{restored_site_url, RestoreOutcome, UnitInfo};
use backstore_domain::{Actor, DestinationType, Workload};
use backstore_store::sql::restores::{NewSite, PointTree};
use backstore_store::{ArtifactRecord, Store, StoreError, StoreResult, Writer};

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

/// Restores the artifact's content if its point holds any; `None` when it holds none (a unit
/// protected without content, a mailbox), which the caller restores by its metadata alone.
pub(crate) async fn restore_content(
    store: &Store,
    content: &Content,
    a: &ArtifactRecord,
    unit: &UnitInfo,
    tenant: &str,
    now: backstore_domain::Timestamp,
) -> StoreResult<Option<RestoreOutcome>> {
    let r = &unit.resource;
    if !matches!(r.workload, Workload::SharePoint | Workload::OneDrive) {
        return Ok(None);
    }
    let Some(point_root) = store.restore_point_root(tenant, &a.restore_point.id).await? else { return Ok(None) };
    let Some(resource_id) = r.resource_id() else { return Ok(None) };
    let tree = PointTree::read(content, tenant, point_root).await?;
    let actor = restore_actor();
    let w = Writer { tenant, actor: &actor, now };
    let (drive_id, outcome) = match a.destination {
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
            let (drive, _) = store.restore_drive_new(w, &a.id, &site, &tree).await?;
            let outcome = RestoreOutcome {
                restored_site_id: Some(site_id),
                restored_site_name: name,
                restored_site_web_url: Some(web_url),
                ..RestoreOutcome::default()
            };
            (drive.drive_id, outcome)
        }
        DestinationType::InPlace => {
            let drive = store.drive_of_resource(tenant, resource_id).await?.ok_or_else(|| {
                StoreError::InvalidTreeChange(format!("unit {} has no drive to restore into", unit.id))
            })?;
            let before = store.snapshot_drive(content, tenant, &drive.drive_id).await?;
            store
                .start_restore_proof(tenant, &a.id, &a.session_id, &drive.drive_id, &point_root, Some(&before))
                .await?;
            store.restore_drive_in_place(w, &a.id, &drive, &tree).await?;
            let outcome = RestoreOutcome {
                restored_site_id: r.site_id.clone(),
                restored_site_name: r.site_name.clone(),
                restored_site_web_url: r.site_web_url.clone(),
                ..RestoreOutcome::default()
            };
            (drive.drive_id, outcome)
        }
    };
    let written = store.snapshot_drive(content, tenant, &drive_id).await?;
    store.finish_restore_proof(tenant, &a.id, &written, now).await?;
    if written == point_root {
        tracing::info!(root = %written.to_hex(), items = tree.items.len(), "restored tree equals the restore point's");
    } else {
        tracing::warn!(written = %written.to_hex(), point = %point_root.to_hex(), "restored tree differs from the restore point's");
    }
    Ok(Some(outcome))
}
