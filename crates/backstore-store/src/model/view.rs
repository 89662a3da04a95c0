//! Standard artifacts and restore points borrowed from where they are held: the row a page reads
//! them from (written out while each row is read, with no record made of it), or a record.

use backstore_domain::restore::RestoreOutcome;
use backstore_domain::{ArtifactStatus, DestinationType, ErrorInfo, RestorePointTags, Timestamp, Workload};

use super::{ArtifactRecord, RestorePointRecord};

/// A restore point as an artifact shows it, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestorePointView<'r> {
    pub id: &'r str,
    pub protection_unit_id: &'r str,
    pub workload: Workload,
    pub protection_at: Timestamp,
    pub expiration_at: Timestamp,
    pub tags: RestorePointTags,
}

/// A public error's code and message, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorView<'r> {
    pub code: &'r str,
    pub message: &'r str,
}

/// An artifact as a standard one shows it (what a standard artifact's row holds), borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArtifactView<'r> {
    pub seq: i64,
    pub id: &'r str,
    pub session_id: &'r str,
    pub restore_point: RestorePointView<'r>,
    pub destination: DestinationType,
    pub status: ArtifactStatus,
    pub created_at: Timestamp,
    pub start_at: Option<Timestamp>,
    pub completion_at: Option<Timestamp>,
    pub error: Option<ErrorView<'r>>,
    pub restored_site_id: Option<&'r str>,
    pub restored_site_name: Option<&'r str>,
    pub restored_site_web_url: Option<&'r str>,
    pub restored_folder_id: Option<&'r str>,
    pub restored_folder_name: Option<&'r str>,
    pub restored_item_count: Option<i64>,
    /// A granular mailbox artifact's search; never in a standard artifact's row.
    pub search_response_id: Option<&'r str>,
}

impl RestorePointRecord {
    pub fn view(&self) -> RestorePointView<'_> {
        RestorePointView {
            id: &self.id,
            protection_unit_id: &self.protection_unit_id,
            workload: self.workload,
            protection_at: self.protection_at,
            expiration_at: self.expiration_at,
            tags: self.tags,
        }
    }
}

impl RestorePointView<'_> {
    pub fn to_record(&self) -> RestorePointRecord {
        RestorePointRecord {
            id: self.id.to_owned(),
            protection_unit_id: self.protection_unit_id.to_owned(),
            workload: self.workload,
            protection_at: self.protection_at,
            expiration_at: self.expiration_at,
            tags: self.tags,
        }
    }
}

impl ArtifactRecord {
    /// The artifact as a standard one shows it (a granular one's own members are not in it).
    pub fn view(&self) -> ArtifactView<'_> {
        let o = &self.outcome;
        ArtifactView {
            seq: self.seq,
            id: &self.id,
            session_id: &self.session_id,
            restore_point: self.restore_point.view(),
            destination: self.destination,
            status: self.status,
            created_at: self.created_at,
            start_at: self.start_at,
            completion_at: self.completion_at,
            error: self.error.as_ref().map(|e| ErrorView { code: &e.code, message: &e.message }),
            restored_site_id: o.restored_site_id.as_deref(),
            restored_site_name: o.restored_site_name.as_deref(),
            restored_site_web_url: o.restored_site_web_url.as_deref(),
            restored_folder_id: o.restored_folder_id.as_deref(),
            restored_folder_name: o.restored_folder_name.as_deref(),
            restored_item_count: o.restored_item_count,
            search_response_id: self.granular.as_ref().and_then(|g| g.search_response_id.as_deref()),
        }
    }
}

impl ArtifactView<'_> {
    /// The record of a standard artifact's row (no granular members, no restored item).
    pub fn to_record(&self) -> ArtifactRecord {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        ArtifactRecord {
            seq: self.seq,
            id: self.id.to_owned(),
            session_id: self.session_id.to_owned(),
            restore_point: self.restore_point.to_record(),
            destination: self.destination,
            status: self.status,
            created_at: self.created_at,
            start_at: self.start_at,
            completion_at: self.completion_at,
            error: self.error.map(|e| ErrorInfo { code: e.code.to_owned(), message: e.message.to_owned() }),
            outcome: RestoreOutcome {
                restored_site_id: owned(self.restored_site_id),
                restored_site_name: owned(self.restored_site_name),
                restored_site_web_url: owned(self.restored_site_web_url),
                restored_folder_id: owned(self.restored_folder_id),
                restored_folder_name: owned(self.restored_folder_name),
                restored_item_count: self.restored_item_count,
                ..RestoreOutcome::default()
            },
            granular: None,
        }
    }
}
