//! Snapshots of drives into the content store: manifests written for the folders that changed since
//! the last snapshot, bottom-up, so storing a snapshot costs what changed and taking one when nothing
//! changed costs one read; and the roots (restore points, drives, upload sessions) that content
//! garbage collection and verification start from.
//!
//! Each write of the live tree (`drives.rs`) marks the folders above what it changed (their
//! `tree_id` cleared, `change_seq` bumped); a snapshot sets a folder's `tree_id` only if its
//! `change_seq` is still the one it read, so a write racing a snapshot leaves the folder marked for
//! the next one.

use std::collections::HashMap;

use backstore_content::{BlobId, ChunkIndex, Entry, Repository, Tree};

use super::read::{Col, Cost};
use super::rows::actor_json;
use super::Lock;
use crate::{Store, StoreError, StoreResult};

impl Store {
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
                        let mut props = entry.props;
                        props.extend(child.props.clone());
                        entries.push(Entry {
                            props,
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
    /// `drive:<id>`, upload sessions as `upload:<id>`, trees an in-place restore replaced as
    /// `replaced:<artifact id>`, browse sessions as `browse:<id>`) that hold each. Take the
    /// changed drives' snapshots first so the live trees are among them.
    pub async fn content_roots(&self, tenant: &str) -> StoreResult<Vec<(BlobId, Vec<String>)>> {
        let rows = self
            .read_rows(
                Cost::Scan,
                "SELECT content_root AS root, id AS holder FROM restore_points WHERE tenant_id = ? AND content_root IS NOT NULL \
                 UNION ALL SELECT last_root AS root, 'drive:' || drive_id AS holder FROM drives \
                 WHERE tenant_id = ? AND last_root IS NOT NULL \
                 UNION ALL SELECT tree_id AS root, 'upload:' || id AS holder FROM upload_sessions \
                 WHERE tenant_id = ? AND tree_id IS NOT NULL \
                 UNION ALL SELECT replaced_root AS root, 'replaced:' || artifact_id AS holder FROM restore_proofs \
                 WHERE tenant_id = ? AND replaced_root IS NOT NULL \
                 UNION ALL SELECT content_root AS root, 'browse:' || id AS holder FROM browse_sessions \
                 WHERE tenant_id = ? AND content_root IS NOT NULL",
                args![tenant, tenant, tenant, tenant, tenant],
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
