//! Protection units.

use backstore_store::ProtectionUnitRecord;
use serde::Serialize;

use super::{DateTime, Head, IdentitySet, PublicError, Render};
use crate::names::{names, odata_type};

/// A protection unit. Site names and URLs, and mailbox and drive owners' names and addresses, are
/// shown to delegated callers only (as the service does).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unit<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    pub policy_id: Option<&'a str>,
    pub protection_sources: &'a str,
    pub status: &'static str,
    pub created_by: Option<IdentitySet<'a>>,
    pub created_date_time: DateTime,
    pub last_modified_by: Option<IdentitySet<'a>>,
    pub last_modified_date_time: DateTime,
    pub error: Option<PublicError<'a>>,
    pub offboard_requested_date_time: Option<DateTime>,
    /// beta only.
    #[serde(flatten)]
    pub beta: Option<UnitBeta>,
    #[serde(flatten)]
    pub resource: Resource<'a>,
}

/// beta's own unit properties. backstore has no billing and no retention changes, so those are
/// null; points are kept as long as the workload's policy keeps them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitBeta {
    pub backup_retention_period_in_days: i32,
    pub billing_policy_id: Option<&'static str>,
    pub pending_retention_period_change: Option<()>,
}

/// What a unit protects: a site, or a user's mailbox or OneDrive.
#[derive(Debug, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum Resource<'a> {
    Site {
        site_id: Option<&'a str>,
        site_name: Option<&'a str>,
        site_web_url: Option<&'a str>,
    },
    User {
        directory_object_id: Option<&'a str>,
        display_name: Option<&'a str>,
        email: Option<&'a str>,
        /// beta, mailbox units: `user` (the directory holds users' mailboxes).
        #[serde(skip_serializing_if = "Option::is_none")]
        mailbox_type: Option<&'static str>,
    },
}

impl<'a> Unit<'a> {
    pub fn new(u: &'a ProtectionUnitRecord, render: &Render, delegated: bool, with_type: bool, beta: bool) -> Unit<'a> {
        let workload = u.info.resource.workload;
        let i = &u.info;
        let personal = |v: &'a Option<String>| v.as_deref().filter(|_| delegated);
        let created_by = u.created_by.as_ref().map(IdentitySet::of);
        let last_modified_by = u.last_modified_by.as_ref().or(u.created_by.as_ref()).map(IdentitySet::of);
        Unit {
            head: Head { odata_type: with_type.then(|| odata_type(names(i.resource.workload).unit_type)), id: &i.id },
            policy_id: u.policy_id.as_deref(),
            protection_sources: &u.sources,
            status: render.unit_status(u.status),
            created_by,
            created_date_time: DateTime(u.created_at),
            last_modified_by,
            last_modified_date_time: DateTime(u.last_modified_at),
            error: PublicError::of(u.error.as_ref()),
            offboard_requested_date_time: DateTime::opt(u.offboard_requested_at),
            beta: beta.then(|| UnitBeta {
                backup_retention_period_in_days: backstore_domain::retention::kept_days(workload),
                billing_policy_id: None,
                pending_retention_period_change: None,
            }),
            resource: match i.resource.workload {
                backstore_domain::Workload::SharePoint => Resource::Site {
                    site_id: i.resource.site_id.as_deref(),
                    site_name: personal(&i.resource.site_name),
                    site_web_url: personal(&i.resource.site_web_url),
                },
                backstore_domain::Workload::Exchange | backstore_domain::Workload::OneDrive => Resource::User {
                    directory_object_id: i.resource.directory_object_id.as_deref(),
                    display_name: personal(&i.resource.display_name),
                    email: personal(&i.resource.email),
                    mailbox_type: (beta && workload == backstore_domain::Workload::Exchange).then_some("user"),
                },
            },
        }
    }
}
