//! What a finished restore looks like (Ruling 14): where `new` restores land and how they are named.

use crate::enums::{DestinationType, Workload};
use crate::Timestamp;

/// A site, mailbox or OneDrive as Graph names it: what a protection unit and the directory entry it
/// was made from share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub workload: Workload,
    /// SharePoint: the Graph site id; OneDrive: the id of the user's personal site.
    pub site_id: Option<String>,
    pub site_name: Option<String>,
    /// SharePoint: the site URL; OneDrive: the personal site URL.
    pub site_web_url: Option<String>,
    pub directory_object_id: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

impl Resource {
    /// How policies address it: the site id, or the owner's directory object id.
    pub fn resource_id(&self) -> Option<&str> {
        match self.workload {
            Workload::SharePoint => self.site_id.as_deref(),
            Workload::Exchange | Workload::OneDrive => self.directory_object_id.as_deref(),
        }
    }
}

/// The protection unit an artifact restores, as the restore needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitInfo {
    pub id: String,
    pub resource: Resource,
}

/// The restored* fields of a succeeded artifact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreOutcome {
    pub restored_site_id: Option<String>,
    pub restored_site_name: Option<String>,
    pub restored_site_web_url: Option<String>,
    pub restored_folder_id: Option<String>,
    pub restored_folder_name: Option<String>,
    pub restored_item_count: Option<i64>,
    /// A granular restore's copy: its item key, the folder holding it, its URL.
    pub restored_item_key: Option<String>,
    pub restored_item_path: Option<String>,
    pub restored_item_web_url: Option<String>,
}

/// Name of the folder a `new` mailbox restore creates in the same mailbox.
pub fn restored_folder_name(at: Timestamp) -> String {
    format!("Restored Items {}", at.format("%Y-%m-%d, %H:%M"))
}

/// Name of the folder a granular `new` mailbox restore creates.
pub fn recovered_folder_name(at: Timestamp) -> String {
    format!("Recovered Items {}", at.format("%Y-%m-%d, %H:%M"))
}

/// Name of the folder granular restores of files go to in their library, one per restore session:
/// the mailbox's name with the time's `:` as `-`, which SharePoint does not allow in names.
pub fn recovered_files_folder_name(at: Timestamp) -> String {
    format!("Recovered Items {}", at.format("%Y-%m-%d, %H-%M"))
}

/// The GUID of a site's document library in browse item keys (`{site},{web},{library}[,{item}]`),
/// from the site's GUID and the protection unit: the same for every browse session of the unit.
pub fn library_guid(site_guid: &str, unit_id: &str) -> String {
    crate::policy::stable_guid(&format!("library\u{1f}{site_guid}\u{1f}{unit_id}"))
}

/// URL of the `n`th `new` restore of a site or OneDrive: the original URL plus `R<n>`.
pub fn restored_site_url(original: &str, n: u32) -> String {
    format!("{}R{n}", original.trim_end_matches('/'))
}

/// The outcome of a successful restore.
/// - `new_suffix`: for a `new` SharePoint/OneDrive restore, the `n` of `R<n>` allocated for the original URL;
/// - `new_id`: a fresh id for whatever a `new` restore creates (site or folder);
/// - `item_count`: how many mailbox items the restore brought back.
pub fn restore_outcome(
    unit: &Resource,
    destination: DestinationType,
    new_suffix: Option<u32>,
    new_id: String,
    item_count: i64,
    at: Timestamp,
) -> RestoreOutcome {
    match (unit.workload, destination) {
        (Workload::Exchange, DestinationType::New) => RestoreOutcome {
            restored_folder_id: Some(new_id),
            restored_folder_name: Some(restored_folder_name(at)),
            restored_item_count: Some(item_count),
            ..RestoreOutcome::default()
        },
        (Workload::Exchange, DestinationType::InPlace) => RestoreOutcome {
            // In place, items go back to their own folders: the mailbox's root folder is reported.
            restored_folder_id: unit.directory_object_id.clone(),
            restored_folder_name: None,
            restored_item_count: Some(item_count),
            ..RestoreOutcome::default()
        },
        (_, DestinationType::New) => RestoreOutcome {
            restored_site_id: Some(new_id),
            restored_site_name: unit.site_name.clone(),
            restored_site_web_url: unit.site_web_url.as_deref().map(|u| restored_site_url(u, new_suffix.unwrap_or(0))),
            ..RestoreOutcome::default()
        },
        (_, DestinationType::InPlace) => RestoreOutcome {
            restored_site_id: unit.site_id.clone(),
            restored_site_name: unit.site_name.clone(),
            restored_site_web_url: unit.site_web_url.clone(),
            ..RestoreOutcome::default()
        },
    }
}

/// The per-artifact failure codes of the service, with the message it gives for each (error-codes page).
pub const ARTIFACT_ERRORS: &[(&str, &str)] = &[
    ("UnknownError", "Unknown error occurred or a provider-side error."),
    ("ArtifactNotFound", "Restore Artifact doesn't exist."),
    ("InvalidRestoreTime", "Invalid or out-of-bounds restore time."),
    ("ArtifactCannotBeRestored", "Restore Artifact state doesn't allow restoration."),
    ("DuplicateArtifactRestoreRequest", "Concurrent restoration of the same restore artifact."),
];

/// The error an artifact fails with for `code`: the service's message for known codes.
pub fn artifact_error(code: &str) -> crate::ErrorInfo {
    let message = ARTIFACT_ERRORS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| format!("The restore failed with {code}."), |(_, m)| (*m).to_owned());
    crate::ErrorInfo { code: code.to_owned(), message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn naming() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap();
        assert_eq!(restored_folder_name(at), "Restored Items 2026-03-04, 05:06");
        assert_eq!(
            restored_site_url("https://contoso.sharepoint.com/sites/hr/", 3),
            "https://contoso.sharepoint.com/sites/hrR3"
        );
    }
}
