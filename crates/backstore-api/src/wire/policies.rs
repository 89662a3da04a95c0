//! Protection policies and the echo of their units delta.

use backstore_store::{PolicyDeltaItem as SentItem, PolicyItemResult, PolicyRecord};
use serde::Serialize;

use super::{ArtifactCount, DataModificationException, Head, Info, Named, Removed, Stamped, Unit, CHANGED};
use crate::names::{names, odata_type};

/// A protection policy: `@odata.type` where it belongs, then its own properties.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    pub display_name: Option<&'a str>,
    pub is_enabled: bool,
    pub status: &'static str,
    pub protection_policy_artifact_count: ArtifactCount,
    pub retention_settings: Vec<Retention>,
    /// beta only.
    #[serde(flatten)]
    pub beta: Option<PolicyBeta>,
    #[serde(flatten)]
    pub stamps: Stamped<'a>,
}

/// beta's own policy properties: no billing, never offboarded as a whole, and the protection mode
/// (`standard`, or `fullServiceBackup` with exclusion units).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyBeta {
    pub billing_policy_id: Option<&'static str>,
    pub offboard_requested_date_time: Option<super::DateTime>,
    pub protection_mode: &'static str,
}

/// `retentionSetting`: how often points are taken and how long they are kept (ISO 8601).
#[derive(Debug, Serialize)]
pub struct Retention {
    pub interval: &'static str,
    pub period: &'static str,
}

impl<'a> Policy<'a> {
    pub fn new(p: &'a PolicyRecord, with_type: bool, beta: bool) -> Policy<'a> {
        Policy {
            head: Head { odata_type: with_type.then(|| odata_type(names(p.workload).policy_type)), id: &p.id },
            display_name: p.display_name.as_deref(),
            is_enabled: p.enabled,
            status: p.status.as_str(),
            protection_policy_artifact_count: ArtifactCount {
                total: p.counts.total,
                completed: p.counts.completed,
                in_progress: p.counts.in_progress,
                failed: p.counts.failed,
            },
            retention_settings: backstore_domain::retention::settings(p.workload)
                .iter()
                .map(|(interval, period)| Retention { interval, period })
                .collect(),
            beta: beta.then_some(PolicyBeta {
                billing_policy_id: None,
                offboard_requested_date_time: None,
                protection_mode: if p.full_service { "fullServiceBackup" } else { "standard" },
            }),
            stamps: Stamped::of(&p.stamps),
        }
    }
}

/// The answer to a policy PATCH: its id, the name when one was sent, and the units delta's echo
/// when one was sent.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDelta<'a> {
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<&'a str>,
    #[serde(flatten)]
    pub items: Option<Named<Vec<PolicyDeltaItem<'a>>>>,
    /// beta: the exclusions delta's echo, when one was sent.
    #[serde(flatten)]
    pub exclusions: Option<Named<Vec<super::ExclusionDeltaItem<'a>>>>,
}

/// One element of a delta's echo (a policy's units or, on beta, exclusion units): adds and removes
/// echo the whole entity (a remove with `@removed`); failures carry `@Core.DataModificationException`
/// and what the element named.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum DeltaEcho<'a, E> {
    Entity {
        #[serde(flatten)]
        entity: Box<E>,
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
        sent: FailedItem<'a>,
    },
}

/// A units delta's echo element (`protectRequested` / `removeRequested` units).
pub type PolicyDeltaItem<'a> = DeltaEcho<'a, Unit<'a>>;

/// What a failed element named: the resource it would add, or the entity it would remove.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum FailedItem<'a> {
    Add(Named<&'a str>),
    Remove {
        #[serde(rename = "@removed")]
        removed: Removed,
        id: &'a str,
    },
}

/// A failed element: an add of `resource_id` or a remove of `id`, by its index or `@contentId`.
pub struct Failure<'a> {
    pub index: usize,
    pub content_id: &'a Option<String>,
    /// `Ok(resource_id)` for an add, `Err(id)` for a remove.
    pub sent: Result<&'a str, &'a str>,
    pub code: &'a str,
    pub message: &'a str,
    pub response_code: u16,
}

impl<'a, E> DeltaEcho<'a, E> {
    pub fn entity(entity: E, content_id: &'a Option<String>, removed: bool) -> DeltaEcho<'a, E> {
        DeltaEcho::Entity {
            entity: Box::new(entity),
            content_id: content_id.as_deref(),
            removed: removed.then_some(CHANGED),
        }
    }

    pub fn failed(f: Failure<'a>, workload: backstore_domain::Workload) -> DeltaEcho<'a, E> {
        let (failed_operation, sent) = match f.sent {
            Ok(resource_id) => ("add", FailedItem::Add(Named::new(names(workload).unit_key, resource_id))),
            Err(id) => ("remove", FailedItem::Remove { removed: CHANGED, id }),
        };
        DeltaEcho::Failed {
            content_id: f.content_id.clone().unwrap_or_else(|| f.index.to_string()),
            exception: DataModificationException {
                info: Info { code: f.code, message: f.message.into() },
                failed_operation,
                response_code: f.response_code,
            },
            sent,
        }
    }
}

impl<'a> DeltaEcho<'a, Unit<'a>> {
    /// `unit` renders a unit of the result as the caller may see it.
    pub fn of(
        r: &'a PolicyItemResult,
        workload: backstore_domain::Workload,
        unit: impl Fn(&'a backstore_store::ProtectionUnitRecord) -> Unit<'a>,
    ) -> PolicyDeltaItem<'a> {
        match r {
            PolicyItemResult::Added { unit: u, content_id } => DeltaEcho::entity(unit(u), content_id, false),
            PolicyItemResult::Removed { unit: u, content_id } => DeltaEcho::entity(unit(u), content_id, true),
            PolicyItemResult::Failed { index, item, code, message, response_code } => {
                let (content_id, sent) = match item {
                    SentItem::Add { content_id, resource_id } => (content_id, Ok(resource_id.as_str())),
                    SentItem::Remove { content_id, unit_id } => (content_id, Err(unit_id.as_str())),
                };
                let f = Failure { index: *index, content_id, sent, code, message, response_code: *response_code };
                DeltaEcho::failed(f, workload)
            }
        }
    }
}

/// beta `backupPolicyReport`: a policy's units counted by where their protection stands.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyReport<'a> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    pub backup_policy_id: &'a str,
    pub display_name: Option<&'a str>,
    pub count_statistics: CountStatistics,
}

/// `countStatistics` of a [`PolicyReport`], computed when it is read.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CountStatistics {
    pub last_computed_date_time: super::DateTime,
    pub total: i64,
    pub protected_completed: i64,
    pub protected_failed: i64,
    pub protected_in_progress: i64,
    pub unprotected_completed: i64,
    pub unprotected_failed: i64,
    pub unprotected_in_progress: i64,
    pub offboard_requested: i64,
    pub removed: i64,
}

impl CountStatistics {
    pub fn new(c: backstore_domain::policy::CountStatistics, at: backstore_domain::Timestamp) -> CountStatistics {
        CountStatistics {
            last_computed_date_time: super::DateTime(at),
            total: c.total,
            protected_completed: c.protected_completed,
            protected_failed: c.protected_failed,
            protected_in_progress: c.protected_in_progress,
            unprotected_completed: c.unprotected_completed,
            unprotected_failed: c.unprotected_failed,
            unprotected_in_progress: c.unprotected_in_progress,
            offboard_requested: c.offboard_requested,
            removed: c.removed,
        }
    }
}
