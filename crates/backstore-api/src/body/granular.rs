//! Granular artifacts in request bodies. `granularSiteRestoreArtifacts` and
//! `granularDriveRestoreArtifacts` elements are `{"browseSessionId": …, "id": "<item key>"}`;
//! `granularMailboxRestoreArtifacts` elements are a mailbox artifact with a `searchResponseId`.
//!
//! A site's or OneDrive's item names its restore point only through its browse session: the
//! parsed add carries the browse session's id where its restore point goes until the handler
//! resolves the session (`handlers::granular::resolve`).

use backstore_domain::{ArtifactAdd, DestinationType, Granular, RestorePointRef, RuleError, Workload};
use serde_json::{Map, Value};

use super::artifacts::{artifact_add, content_id_text};
use super::{check_type, json_kind, malformed, BodyKind};
use crate::error::ApiError;
use crate::names::names;

/// Server-managed properties of a granular artifact: accepted when sent back as `null`.
const READ_ONLY: &[&str] = &[
    "status",
    "restoredItemKey",
    "restoredItemPath",
    "restoredItemWebUrl",
    "restorePointDateTime",
    "startDateTime",
    "completionDateTime",
    "createdDateTime",
    "webUrl",
    "siteId",
    "directoryObjectId",
    "error",
    "artifactCount",
];

/// The entity type of a workload's granular artifacts.
pub fn granular_type(w: Workload) -> &'static str {
    match w {
        Workload::SharePoint => "granularSiteRestoreArtifact",
        Workload::OneDrive => "granularDriveRestoreArtifact",
        Workload::Exchange => "granularMailboxRestoreArtifact",
    }
}

/// One granular artifact to add.
pub fn granular_add(v: &Value, w: Workload, kind: BodyKind) -> Result<ArtifactAdd, ApiError> {
    let type_name = granular_type(w);
    let obj = v
        .as_object()
        .ok_or_else(|| malformed(kind, format!("Each {type_name} must be a JSON object, not {}.", json_kind(v))))?;
    if w == Workload::Exchange {
        return search_add(obj, kind);
    }
    let mut content_id = None;
    for (k, val) in obj {
        match k.as_str() {
            "browseSessionId" | "id" => {}
            "@odata.type" => check_type(val, &[type_name, "granularRestoreArtifactBase"], kind)?,
            "@contentId" => content_id = Some(content_id_text(val, kind)?),
            // beta: a granular restore of files always goes to a new folder.
            "destinationType" => match val.as_str() {
                None if val.is_null() => {}
                Some("new") => {}
                _ => {
                    return Err(RuleError::InvalidDestination(format!(
                        "{val} is not supported: a granular restore of files and folders writes them to a new folder \
                         (destinationType 'new')."
                    ))
                    .into())
                }
            },
            k if READ_ONLY.contains(&k) => {
                if !val.is_null() {
                    return Err(malformed(
                        kind,
                        format!("Property '{k}' of {type_name} is read-only and cannot be set."),
                    ));
                }
            }
            k if k.starts_with('@') => {}
            other => {
                return Err(malformed(
                    kind,
                    format!("Property '{other}' does not exist on type 'microsoft.graph.{type_name}'."),
                ))
            }
        }
    }
    let text = |name: &str, what: &str| -> Result<String, ApiError> {
        match obj.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() && !s.chars().any(char::is_control) => {
                Ok(s.trim().to_owned())
            }
            _ => Err(malformed(kind, format!("'{name}' ({what}) is required on each {type_name}."))),
        }
    };
    let browse_session_id = text("browseSessionId", "the browse session the item was found in")?;
    let item_key = text("id", "the item key the browse returned")?;
    let stand_in = RestorePointRef::parse(&browse_session_id)
        .map_err(|_| malformed(kind, format!("'{browse_session_id}' is not a browse session id.")))?;
    Ok(ArtifactAdd {
        restore_point: stand_in,
        destination: DestinationType::New,
        content_id,
        granular: Some(Granular::Item { browse_session_id, item_key, web_url: None }),
    })
}

/// A granular mailbox artifact: a mailbox artifact naming the search whose matches it restores.
fn search_add(obj: &Map<String, Value>, kind: BodyKind) -> Result<ArtifactAdd, ApiError> {
    let mut rest = obj.clone();
    if let Some(t) = rest.remove("@odata.type") {
        check_type(&t, &[granular_type(Workload::Exchange), names(Workload::Exchange).artifact_type], kind)?;
    }
    if rest.get("artifactCount").is_some_and(Value::is_null) {
        rest.remove("artifactCount");
    }
    let search = match rest.remove("searchResponseId") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        _ => {
            return Err(malformed(
                kind,
                "'searchResponseId' (from restorePoints/search with an artifactQuery) is required on each \
                 granularMailboxRestoreArtifact."
                    .into(),
            ))
        }
    };
    let mut add = artifact_add(&Value::Object(rest), Workload::Exchange, kind)?;
    add.granular = Some(Granular::Search { search_response_id: search });
    Ok(add)
}
