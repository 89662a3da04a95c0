//! `drive` and `driveItem` as Graph writes them.

use backstore_store::{DriveItemRecord, DriveRecord};
use serde::Serialize;

use super::{DateTime, IdentitySet};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub total: u64,
    pub used: u64,
    pub remaining: u64,
    pub deleted: u64,
    pub state: &'static str,
}

/// A drive's quota: 1 TiB, as a OneDrive for Business plan has.
pub const QUOTA_BYTES: u64 = 1 << 40;

/// A drive as an entity: its `@odata.context`, then its members.
#[derive(Debug, Serialize)]
pub struct DriveOut<'a> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(flatten)]
    pub drive: DriveEntry<'a>,
}

/// A drive in a collection (no `@odata.context` of its own).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveEntry<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub drive_type: &'a str,
    pub created_date_time: DateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_url: Option<&'a str>,
    pub quota: Quota,
}

impl<'a> DriveOut<'a> {
    pub fn of(d: &'a DriveRecord, used: u64, context: String) -> DriveOut<'a> {
        DriveOut { context, drive: DriveEntry::of(d, used) }
    }
}

impl<'a> DriveEntry<'a> {
    pub fn of(d: &'a DriveRecord, used: u64) -> DriveEntry<'a> {
        DriveEntry {
            id: &d.drive_id,
            name: &d.name,
            drive_type: &d.drive_type,
            created_date_time: DateTime(d.created_at),
            web_url: d.web_url.as_deref(),
            quota: Quota {
                total: QUOTA_BYTES,
                used,
                remaining: QUOTA_BYTES.saturating_sub(used),
                deleted: 0,
                state: if used * 100 >= QUOTA_BYTES * 99 {
                    "critical"
                } else if used * 10 >= QUOTA_BYTES * 9 {
                    "nearing"
                } else {
                    "normal"
                },
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference<'a> {
    pub drive_id: &'a str,
    pub drive_type: &'a str,
    pub id: &'a str,
    /// `/drives/{id}/root:` and the parent's path, percent-encoded (not on delta pages, as Graph).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hashes<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quick_xor_hash: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_hash: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileFacet<'a> {
    pub mime_type: &'a str,
    pub hashes: Hashes<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderFacet {
    pub child_count: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSystemInfo {
    pub created_date_time: DateTime,
    pub last_modified_date_time: DateTime,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriveItemOut<'a> {
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(rename = "@microsoft.graph.downloadUrl", skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    pub id: &'a str,
    pub name: &'a str,
    pub size: u64,
    pub e_tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub c_tag: Option<String>,
    pub created_date_time: DateTime,
    pub last_modified_date_time: DateTime,
    pub created_by: IdentitySet<'a>,
    pub last_modified_by: IdentitySet<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_reference: Option<ParentReference<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    pub file_system_info: FileSystemInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileFacet<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<FolderFacet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<Empty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Deleted>,
}

/// The `deleted` facet delta queries put on removed items.
#[derive(Debug, Serialize)]
pub struct Deleted {
    pub state: &'static str,
}

/// The properties of a `driveItem` backstore writes (what `$select` may name).
pub const DRIVE_ITEM_PROPERTIES: &[&str] = &[
    "id",
    "name",
    "size",
    "eTag",
    "cTag",
    "createdDateTime",
    "lastModifiedDateTime",
    "createdBy",
    "lastModifiedBy",
    "parentReference",
    "webUrl",
    "fileSystemInfo",
    "file",
    "folder",
    "root",
    "deleted",
];

/// The media type Graph reports for a file name, by its extension.
pub fn mime_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" | "md" | "log" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

pub use backstore_store::sql::drives::encoded_path;

/// The eTag of an item: changes with every change of it.
pub fn e_tag(item: &DriveItemRecord) -> String {
    format!("\"{{{}}},{}\"", item.item_id.to_uppercase(), item.version)
}

impl<'a> DriveItemOut<'a> {
    /// `download_url` for files.
    pub fn of(
        item: &'a DriveItemRecord,
        drive: &'a DriveRecord,
        download_url: Option<String>,
        context: Option<String>,
    ) -> DriveItemOut<'a> {
        DriveItemOut {
            context,
            download_url: download_url.filter(|_| !item.is_folder && !item.deleted),
            id: &item.item_id,
            name: if item.parent_id.is_none() { "root" } else { &item.name },
            size: item.size,
            e_tag: e_tag(item),
            c_tag: (!item.is_folder)
                .then(|| format!("\"c:{{{}}},{}\"", item.item_id.to_uppercase(), item.content_version)),
            created_date_time: DateTime(item.created_at),
            last_modified_date_time: DateTime(item.modified_at),
            created_by: IdentitySet::of(&item.created_by),
            last_modified_by: IdentitySet::of(&item.modified_by),
            parent_reference: item.parent_id.as_deref().map(|id| ParentReference {
                drive_id: &drive.drive_id,
                drive_type: &drive.drive_type,
                id,
                path: None,
            }),
            web_url: None,
            file_system_info: FileSystemInfo {
                created_date_time: DateTime(item.created_at),
                last_modified_date_time: DateTime(item.modified_at),
            },
            file: (!item.is_folder).then(|| FileFacet {
                mime_type: item.mime_type.as_deref().unwrap_or("application/octet-stream"),
                hashes: Hashes { quick_xor_hash: item.quick_xor.as_deref(), sha256_hash: item.sha256.as_deref() },
            }),
            folder: item.is_folder.then_some(FolderFacet { child_count: item.child_count }),
            root: item.parent_id.is_none().then_some(Empty {}),
            deleted: item.deleted.then_some(Deleted { state: "deleted" }),
        }
    }

    /// Where the item is: `path` is its place below the drive's root (`/a/b.txt`, `""` for the
    /// root), which gives `webUrl` and `parentReference.path`.
    pub fn at(mut self, drive: &DriveRecord, path: &str) -> Self {
        self.web_url = drive.web_url.as_ref().map(|base| format!("{base}{}", encoded_path(path)));
        if let Some(parent) = self.parent_reference.as_mut() {
            let above = path.rsplit_once('/').map_or("", |(above, _)| above);
            parent.path = Some(format!("/drives/{}/root:{}", drive.drive_id, encoded_path(above)));
        }
        self
    }
}
