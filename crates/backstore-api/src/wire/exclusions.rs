//! beta exclusion units (`siteExclusionUnit`, `driveExclusionUnit`, `mailboxExclusionUnit`) and
//! the echo of a policy's exclusions delta.

use backstore_domain::Workload;
use backstore_store::{ExclusionDeltaItem as SentItem, ExclusionItemResult, ExclusionRecord};
use serde::Serialize;

use super::units::Resource;
use super::{DataModificationException, Head, Info, Named, PublicError, Removed, Stamped, CHANGED};
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

/// One element of an exclusions delta's echo: adds and removes echo the exclusion unit (a remove
/// with `@removed`); failures carry `@Core.DataModificationException`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ExclusionDeltaItem<'a> {
    Exclusion {
        #[serde(flatten)]
        exclusion: Box<Exclusion<'a>>,
        #[serde(rename = "@contentId", skip_serializing_if = "Option::is_none")]
        content_id: Option<&'a str>,
        #[serde(rename = "@removed", skip_serializing_if = "Option::is_none")]
        removed: Option<Removed>,
    },
    Failed {
        #[serde(rename = "@contentId")]
        content_id: String,
        #[serde(rename = "@Core.DataModificationException")]
        exception: DataModificationException<'a>,
        #[serde(flatten)]
        sent: FailedExclusion<'a>,
    },
}

/// What a failed element named: the resource it would exclude, or the exclusion it would drop.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum FailedExclusion<'a> {
    Add(Named<&'a str>),
    Remove {
        #[serde(rename = "@removed")]
        removed: Removed,
        id: &'a str,
    },
}

impl<'a> ExclusionDeltaItem<'a> {
    pub fn of(r: &'a ExclusionItemResult, workload: Workload, delegated: bool) -> ExclusionDeltaItem<'a> {
        let echo = |e: &'a ExclusionRecord, content_id: &'a Option<String>, removed: Option<Removed>| {
            ExclusionDeltaItem::Exclusion {
                exclusion: Box::new(Exclusion::new(e, delegated, false)),
                content_id: content_id.as_deref(),
                removed,
            }
        };
        match r {
            ExclusionItemResult::Added { exclusion, content_id } => echo(exclusion, content_id, None),
            ExclusionItemResult::Removed { exclusion, content_id } => echo(exclusion, content_id, Some(CHANGED)),
            ExclusionItemResult::Failed { index, item, code, message, response_code } => {
                let (content_id, failed_operation, sent) = match item {
                    SentItem::Add { content_id, resource_id } => {
                        (content_id, "add", FailedExclusion::Add(Named::new(names(workload).unit_key, resource_id)))
                    }
                    SentItem::Remove { content_id, id } => {
                        (content_id, "remove", FailedExclusion::Remove { removed: CHANGED, id })
                    }
                };
                ExclusionDeltaItem::Failed {
                    content_id: content_id.clone().unwrap_or_else(|| index.to_string()),
                    exception: DataModificationException {
                        info: Info { code, message: message.as_str().into() },
                        failed_operation,
                        response_code: *response_code,
                    },
                    sent,
                }
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
