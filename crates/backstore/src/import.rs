//! Bringing a local directory tree into a drive: `backstore import`, and the content seed. The
//! drive ends up holding what the directory holds: files stored in the content store
//! (deduplicated, so unchanged files cost a hash), added or replaced where they differ, and items
//! the directory does not have removed.

use std::path::{Path, PathBuf};

use backstore_store::{Conflict, DriveItemRecord, DriveRecord, FileBody, Store, StoreError, Writer};
use serde::Serialize;

use crate::content::Content;

/// What an import changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub files: u64,
    pub folders: u64,
    pub bytes: u64,
    pub added: u64,
    pub replaced: u64,
    pub removed: u64,
}

async fn children(store: &Store, tenant: &str, drive: &str, folder: &str) -> Result<Vec<DriveItemRecord>, StoreError> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map(|i: &DriveItemRecord| i.name.to_lowercase());
        let page = store.drive_children(tenant, drive, folder, after.as_deref(), 1000).await?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

/// Makes `drive` hold what `dir` holds.
pub async fn sync_dir(
    store: &Store,
    content: &Content,
    w: Writer<'_>,
    drive: &DriveRecord,
    dir: &Path,
) -> anyhow::Result<ImportReport> {
    let mut report = ImportReport::default();
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_owned(), drive.root_id.clone())];
    while let Some((local, folder)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&local)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        let live = children(store, w.tenant, &drive.drive_id, &folder).await?;
        let find = |name: &str| live.iter().find(|i| i.name.eq_ignore_ascii_case(name));
        let mut keep: Vec<String> = Vec::new();
        // Files first, stored with one flush for the folder, then recorded.
        let mut writer = content.writer(w.tenant)?;
        let mut files = Vec::new();
        for entry in &entries {
            let name = entry.file_name().into_string().map_err(|n| anyhow::anyhow!("{n:?} is not UTF-8"))?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                let sub = match find(&name) {
                    Some(f) if f.is_folder => f.item_id.clone(),
                    other => {
                        if let Some(file) = other {
                            store.delete_drive_item(w, &drive.drive_id, &file.item_id).await?;
                            report.removed += 1;
                        }
                        let made =
                            store.create_drive_folder(w, &drive.drive_id, &folder, &name, Conflict::Fail).await?;
                        report.added += 1;
                        made.item_id
                    }
                };
                report.folders += 1;
                keep.push(name.to_lowercase());
                stack.push((entry.path(), sub));
            } else if kind.is_file() {
                let stored = writer.write_file(tokio::fs::File::open(entry.path()).await?).await?;
                report.files += 1;
                report.bytes += stored.size;
                keep.push(name.to_lowercase());
                files.push((name, stored));
            }
        }
        writer.flush().await?;
        for (name, stored) in files {
            let body = FileBody {
                size: stored.size,
                mime_type: Some(backstore_api::wire::drives::mime_type(&name).to_owned()),
                sha256: Some(stored.sha256_hex()),
                quick_xor: Some(stored.quick_xor_base64()),
                chunks: stored.chunks,
            };
            match find(&name) {
                Some(f) if !f.is_folder && f.chunks == body.chunks => {}
                Some(f) if f.is_folder => {
                    store.delete_drive_item(w, &drive.drive_id, &f.item_id).await?;
                    store.put_drive_file(w, &drive.drive_id, &folder, &name, &body, Conflict::Fail).await?;
                    report.removed += 1;
                    report.added += 1;
                }
                Some(_) => {
                    store.put_drive_file(w, &drive.drive_id, &folder, &name, &body, Conflict::Replace).await?;
                    report.replaced += 1;
                }
                None => {
                    store.put_drive_file(w, &drive.drive_id, &folder, &name, &body, Conflict::Fail).await?;
                    report.added += 1;
                }
            }
        }
        for gone in live.iter().filter(|i| !keep.contains(&i.name.to_lowercase())) {
            store.delete_drive_item(w, &drive.drive_id, &gone.item_id).await?;
            report.removed += 1;
        }
    }
    Ok(report)
}
