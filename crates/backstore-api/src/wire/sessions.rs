//! Restore sessions and the echo of their delta PATCH.

use backstore_domain::{ArtifactAdd, Granular, Workload};
use backstore_store::{AppliedItem, SessionRecord};
use serde::Serialize;
use serde_json::Value;

use super::{
    ArtifactCount, DataModificationException, DateTime, Head, Info, Named, PublicError, Removed, Render, Stamped,
    CHANGED,
};
use crate::names::{names, odata_type};

/// A session: `@odata.type` when it is shown through the polymorphic set, its own properties in the
/// order Graph's examples show them, then its artifacts when `$expand` asked for them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session<'a> {
    #[serde(flatten)]
    pub head: Head<'a>,
    pub status: &'static str,
    pub restore_job_type: &'static str,
    pub restore_session_artifact_count: ArtifactCount,
    #[serde(flatten)]
    pub stamps: Stamped<'a>,
    pub completed_date_time: Option<DateTime>,
    pub error: Option<PublicError<'a>>,
    #[serde(flatten)]
    pub artifacts: Option<Named<Vec<Value>>>,
}

impl<'a> Session<'a> {
    pub fn new(r: &'a SessionRecord, render: &Render, with_type: bool) -> Session<'a> {
        Session {
            head: Head { odata_type: with_type.then(|| odata_type(names(r.workload).session_type)), id: &r.id },
            status: render.session_status(r.derived.status),
            restore_job_type: render.job_type(r.job_type),
            restore_session_artifact_count: ArtifactCount {
                total: r.derived.total,
                completed: r.derived.completed,
                in_progress: r.derived.in_progress,
                failed: r.derived.failed,
            },
            stamps: Stamped::of(&r.stamps),
            completed_date_time: DateTime::opt(r.completed_at),
            error: PublicError::of(r.error.as_ref()),
            artifacts: None,
        }
    }

    /// With the session's expanded artifacts under its kind's navigation property.
    pub fn with_artifacts(mut self, workload: Workload, items: Vec<Value>) -> Session<'a> {
        self.artifacts = Some(Named::new(names(workload).artifact_nav, items));
        self
    }
}

/// The answer to a delta PATCH: the session's id and one echo per element, in order.
#[derive(Debug, Serialize)]
pub struct SessionDelta<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub items: Named<Vec<DeltaEcho<'a>>>,
}

/// A reference to a restore point, as a delta element names it.
#[derive(Debug, Serialize)]
pub struct PointRef<'a> {
    pub id: &'a str,
}

/// One element of the delta echo (`docs/api-conventions.md`, "Payloads").
#[derive(Debug, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum DeltaEcho<'a> {
    Added {
        #[serde(rename = "@contentId", skip_serializing_if = "Option::is_none")]
        content_id: Option<&'a str>,
        id: &'a str,
        restore_point: PointRef<'a>,
        destination_type: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        search_response_id: Option<&'a str>,
        status: &'static str,
        created_date_time: DateTime,
    },
    /// A granular site or OneDrive artifact added: its item key and browse session.
    ItemAdded {
        #[serde(rename = "@contentId", skip_serializing_if = "Option::is_none")]
        content_id: Option<&'a str>,
        id: &'a str,
        browse_session_id: Option<&'a str>,
        status: &'static str,
        created_date_time: DateTime,
    },
    Removed {
        #[serde(rename = "@contentId", skip_serializing_if = "Option::is_none")]
        content_id: Option<&'a str>,
        id: &'a str,
        #[serde(rename = "@removed")]
        removed: Removed,
    },
    AddFailed {
        #[serde(rename = "@contentId")]
        content_id: String,
        #[serde(rename = "@Core.DataModificationException")]
        exception: DataModificationException<'a>,
        restore_point: PointRef<'a>,
        destination_type: &'static str,
    },
    /// A granular add refused alone: an unknown browse session or search, a key naming nothing.
    ItemAddFailed {
        #[serde(rename = "@contentId")]
        content_id: String,
        #[serde(rename = "@Core.DataModificationException")]
        exception: DataModificationException<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        browse_session_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        search_response_id: Option<&'a str>,
    },
    RemoveFailed {
        #[serde(rename = "@contentId")]
        content_id: String,
        #[serde(rename = "@Core.DataModificationException")]
        exception: DataModificationException<'a>,
        id: &'a str,
    },
}

impl<'a> DeltaEcho<'a> {
    /// A granular add (at `index` of the request) refused with `code` and `message`.
    pub fn refused(add: &'a ArtifactAdd, index: usize, status: u16, code: &'a str, message: &'a str) -> DeltaEcho<'a> {
        let (id, browse_session_id, search_response_id) = match &add.granular {
            Some(Granular::Item { item_key, browse_session_id, .. }) => {
                (Some(item_key.as_str()), Some(browse_session_id.as_str()), None)
            }
            Some(Granular::Search { search_response_id }) => (None, None, Some(search_response_id.as_str())),
            None => (None, None, None),
        };
        DeltaEcho::ItemAddFailed {
            content_id: add.content_id.clone().unwrap_or_else(|| index.to_string()),
            exception: DataModificationException {
                info: Info { code, message: message.into() },
                failed_operation: "add",
                response_code: status,
            },
            id,
            browse_session_id,
            search_response_id,
        }
    }

    pub fn of(item: &'a AppliedItem) -> DeltaEcho<'a> {
        match item {
            AppliedItem::Added { artifact, content_id } => match &artifact.granular {
                Some(g) if g.item_key.is_some() => DeltaEcho::ItemAdded {
                    content_id: content_id.as_deref(),
                    id: artifact.wire_id(),
                    browse_session_id: g.browse_session_id.as_deref(),
                    status: artifact.status.as_str(),
                    created_date_time: DateTime(artifact.created_at),
                },
                g => DeltaEcho::Added {
                    content_id: content_id.as_deref(),
                    id: &artifact.id,
                    restore_point: PointRef { id: &artifact.restore_point.id },
                    destination_type: artifact.destination.as_str(),
                    search_response_id: g.as_ref().and_then(|g| g.search_response_id.as_deref()),
                    status: artifact.status.as_str(),
                    created_date_time: DateTime(artifact.created_at),
                },
            },
            AppliedItem::Removed { id, content_id } => {
                DeltaEcho::Removed { content_id: content_id.as_deref(), id, removed: CHANGED }
            }
            AppliedItem::AddFailed { add, index, problem } => DeltaEcho::AddFailed {
                content_id: add.content_id.clone().unwrap_or_else(|| index.to_string()),
                exception: DataModificationException {
                    info: Info { code: "InvalidRestorePoint", message: problem.to_string().into() },
                    failed_operation: "add",
                    response_code: 404,
                },
                restore_point: PointRef { id: add.restore_point.as_str() },
                destination_type: add.destination.as_str(),
            },
            AppliedItem::RemoveFailed { id, index, content_id } => DeltaEcho::RemoveFailed {
                content_id: content_id.clone().unwrap_or_else(|| index.to_string()),
                exception: DataModificationException {
                    info: Info {
                        code: "Invalid",
                        message: "The identifier to be removed from the Restore Session does not exist".into(),
                    },
                    failed_operation: "remove",
                    response_code: 409,
                },
                id,
            },
        }
    }
}
