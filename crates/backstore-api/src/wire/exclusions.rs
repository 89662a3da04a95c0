//! beta exclusion units (`siteExclusionUnit`, `driveExclusionUnit`, `mailboxExclusionUnit`) and
//! the echo of a policy's exclusions delta.

use backstore_domain::Workload;
use backstore_store::{ExclusionDeltaItem as SentItem, ExclusionItemResult, ExclusionRecord};
use serde::Serialize;

use super::policies::{DeltaEcho, Failure};
use super::units::Resource;
use super::{Head, Named, PublicError, Stamped};
use crate::names::{names, odata_type};

/// An exclusion unit: the resource a full-service policy leaves out, and who left it out when.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exclusion<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    pub policy_id: &'a str,
    #[serde(flatten)]
    pub stamps: Stamped<'a>,
    pub error: Option<PublicError<'a>>,
    #[serde(flatten)]
    pub resource: Resource<'a>,
}

impl<'a> Exclusion<'a> {
    /// `delegated`: a delegated caller sees the resource's names, as with protection units.
    pub fn new(e: &'a ExclusionRecord, delegated: bool, with_type: bool) -> Exclusion<'a> {
        let r = &e.resource;
        let personal = |v: &'a Option<String>| v.as_deref().filter(|_| delegated);
        Exclusion {
            head: Head { odata_type: with_type.then(|| odata_type(names(e.workload).exclusion_type)), id: &e.id },
            policy_id: &e.policy_id,
            stamps: Stamped::of(&e.stamps),
            error: None,
            resource: match e.workload {
                Workload::SharePoint => Resource::Site {
                    site_id: r.site_id.as_deref(),
                    site_name: personal(&r.site_name),
                    site_web_url: personal(&r.site_web_url),
                },
                Workload::Exchange | Workload::OneDrive => Resource::User {
                    directory_object_id: r.directory_object_id.as_deref(),
                    display_name: personal(&r.display_name),
                    email: personal(&r.email),
                    mailbox_type: (e.workload == Workload::Exchange).then_some("user"),
                },
            },
        }
    }
}

/// An exclusions delta's echo element: exclusion units added or dropped, or a failure.
pub type ExclusionDeltaItem<'a> = DeltaEcho<'a, Exclusion<'a>>;

impl<'a> DeltaEcho<'a, Exclusion<'a>> {
    pub fn of(r: &'a ExclusionItemResult, workload: Workload, delegated: bool) -> ExclusionDeltaItem<'a> {
        let echo = |e: &'a ExclusionRecord| Exclusion::new(e, delegated, false);
        match r {
            ExclusionItemResult::Added { exclusion, content_id } => {
                DeltaEcho::entity(echo(exclusion), content_id, false)
            }
            ExclusionItemResult::Removed { exclusion, content_id } => {
                DeltaEcho::entity(echo(exclusion), content_id, true)
            }
            ExclusionItemResult::Failed { index, item, code, message, response_code } => {
                let (content_id, sent) = match item {
                    SentItem::Add { content_id, resource_id } => (content_id, Ok(resource_id.as_str())),
                    SentItem::Remove { content_id, id } => (content_id, Err(id.as_str())),
                };
                let f = Failure { index: *index, content_id, sent, code, message, response_code: *response_code };
                DeltaEcho::failed(f, workload)
            }
        }
    }
}

/// An exclusion unit bulk addition job (`siteExclusionUnitsBulkAdditionJob`, …), with its kind's
/// address list (`siteWebUrls`, `drives`, `mailboxes`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExclusionJob<'a> {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: &'a str,
    pub display_name: Option<&'a str>,
    pub status: &'a str,
    #[serde(flatten)]
    pub addresses: Named<&'a [String]>,
    #[serde(flatten)]
    pub stamps: Stamped<'a>,
    pub error: Option<super::PublicErrorWithDetails<'a>>,
}

/// `siteExclusionUnitsBulkAdditionJob` and its kin.
pub fn exclusion_job_type(w: Workload) -> String {
    format!("{}sBulkAdditionJob", names(w).exclusion_type)
}

impl<'a> ExclusionJob<'a> {
    pub fn new(j: &'a backstore_store::ExclusionJobRecord) -> ExclusionJob<'a> {
        ExclusionJob {
            odata_type: odata_type(&exclusion_job_type(j.workload)),
            id: &j.id,
            display_name: j.display_name.as_deref(),
            status: &j.status,
            addresses: Named::new(names(j.workload).bulk_addresses, &j.addresses),
            stamps: Stamped::of(&j.stamps),
            error: super::PublicErrorWithDetails::of(j.error.as_ref()),
        }
    }
}
