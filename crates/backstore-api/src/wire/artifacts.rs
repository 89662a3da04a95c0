//! Restore artifacts and the restore point they show inline.

use backstore_domain::Workload;
use backstore_store::{ArtifactRecord, ArtifactView, RestorePointRecord, RestorePointView};
use serde::Serialize;

use super::{DateTime, PublicError};

/// An artifact with its kind's `restored…` properties and its restore point inline.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact<'a> {
    pub id: &'a str,
    pub destination_type: &'static str,
    pub status: &'static str,
    pub start_date_time: Option<DateTime>,
    pub completion_date_time: Option<DateTime>,
    pub error: Option<PublicError<'a>>,
    #[serde(flatten)]
    pub restored: Restored<'a>,
    /// A granular mailbox artifact's search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_response_id: Option<&'a str>,
    pub restore_point: RestorePoint<'a>,
}

/// Where a finished restore put things: a folder of a mailbox, or a site.
#[derive(Debug, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum Restored<'a> {
    Folder {
        restored_folder_id: Option<&'a str>,
        restored_folder_name: Option<&'a str>,
        restored_item_count: Option<i64>,
    },
    Site {
        restored_site_id: Option<&'a str>,
        restored_site_name: Option<&'a str>,
        restored_site_web_url: Option<&'a str>,
    },
}

impl<'a> Artifact<'a> {
    pub fn new(a: &'a ArtifactRecord, workload: Workload) -> Artifact<'a> {
        Artifact::of(&a.view(), workload)
    }

    /// The artifact of a view, which may borrow from the row being read.
    pub fn of(a: &ArtifactView<'a>, workload: Workload) -> Artifact<'a> {
        Artifact {
            id: a.id,
            destination_type: a.destination.as_str(),
            status: a.status.as_str(),
            start_date_time: DateTime::opt(a.start_at),
            completion_date_time: DateTime::opt(a.completion_at),
            error: a.error.map(|e| PublicError::new(e.code, e.message)),
            restored: match workload {
                Workload::Exchange => Restored::Folder {
                    restored_folder_id: a.restored_folder_id,
                    restored_folder_name: a.restored_folder_name,
                    restored_item_count: a.restored_item_count,
                },
                Workload::SharePoint | Workload::OneDrive => Restored::Site {
                    restored_site_id: a.restored_site_id,
                    restored_site_name: a.restored_site_name,
                    restored_site_web_url: a.restored_site_web_url,
                },
            },
            search_response_id: a.search_response_id,
            restore_point: RestorePoint::of(&a.restore_point),
        }
    }
}

/// A granular site or OneDrive artifact (`granularSiteRestoreArtifact`,
/// `granularDriveRestoreArtifact`): an item chosen in a browse session, by its key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GranularArtifact<'a> {
    pub id: &'a str,
    pub browse_session_id: Option<&'a str>,
    #[serde(flatten)]
    pub owner: Owner<'a>,
    pub status: &'static str,
    pub web_url: Option<&'a str>,
    pub restored_item_key: Option<&'a str>,
    pub restored_item_path: Option<&'a str>,
    pub restored_item_web_url: Option<&'a str>,
    pub restore_point_date_time: DateTime,
    pub start_date_time: Option<DateTime>,
    pub completion_date_time: Option<DateTime>,
    /// beta only: `destinationType` (always `new`) and `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Option<PublicError<'a>>>,
}

/// The container a granular artifact's item is in: the site, or the OneDrive's owner.
#[derive(Debug, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum Owner<'a> {
    Site { site_id: Option<&'a str> },
    Drive { directory_object_id: Option<&'a str> },
}

impl<'a> GranularArtifact<'a> {
    pub fn new(a: &'a ArtifactRecord, workload: Workload, beta: bool) -> GranularArtifact<'a> {
        let g = a.granular.as_ref();
        let o = &a.outcome;
        let p = &a.restore_point;
        GranularArtifact {
            id: a.wire_id(),
            browse_session_id: g.and_then(|g| g.browse_session_id.as_deref()),
            owner: match workload {
                Workload::OneDrive => {
                    Owner::Drive { directory_object_id: g.and_then(|g| g.directory_object_id.as_deref()) }
                }
                _ => Owner::Site { site_id: a.wire_id().split(',').next() },
            },
            status: a.status.as_str(),
            web_url: g.and_then(|g| g.web_url.as_deref()),
            restored_item_key: o.restored_item_key.as_deref(),
            restored_item_path: o.restored_item_path.as_deref(),
            restored_item_web_url: o.restored_item_web_url.as_deref(),
            restore_point_date_time: DateTime(p.protection_at),
            start_date_time: DateTime::opt(a.start_at),
            completion_date_time: DateTime::opt(a.completion_at),
            destination_type: beta.then_some("new"),
            error: beta.then(|| PublicError::of(a.error.as_ref())),
        }
    }
}

/// A restore point as artifacts show it inline and `…/restorePoint` returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestorePoint<'a> {
    pub id: &'a str,
    pub protection_date_time: DateTime,
    pub expiration_date_time: DateTime,
    pub tags: &'static str,
}

impl<'a> RestorePoint<'a> {
    pub fn new(p: &'a RestorePointRecord) -> RestorePoint<'a> {
        RestorePoint::of(&p.view())
    }

    pub fn of(p: &RestorePointView<'a>) -> RestorePoint<'a> {
        RestorePoint {
            id: p.id,
            protection_date_time: DateTime(p.protection_at),
            expiration_date_time: DateTime(p.expiration_at),
            tags: p.tags.as_str(),
        }
    }
}
