//! One artifact element of a request body: `{"restorePoint": {...}, "destinationType": …}`, with
//! the restore point reference in each form clients send it.

use backstore_domain::{ArtifactAdd, DestinationType, RestorePointRef, RuleError, Workload};
use serde_json::Value;

use super::{check_type, json_kind, malformed, BodyKind};
use crate::error::ApiError;
use crate::names::names;

/// Server-managed properties of a restore artifact (and the `createdDateTime` of delta echoes).
const ARTIFACT_READ_ONLY: &[&str] = &[
    "id",
    "status",
    "startDateTime",
    "completionDateTime",
    "error",
    "createdDateTime",
    "restoredSiteId",
    "restoredSiteName",
    "restoredSiteWebUrl",
    "restoredFolderId",
    "restoredFolderName",
    "restoredItemCount",
];

/// Properties of `restorePoint` a client may send along with its id (SDK models); ignored.
const RESTORE_POINT_PROPERTIES: &[&str] = &["protectionDateTime", "expirationDateTime", "tags", "protectionUnit"];

/// The restore point id of a reference `{"id": …}` or `{"@odata.id": …}`; the latter may be a bare
/// id or a URL ending in `restorePoints('<id>')`, `restorePoints(<id>)` or `restorePoints/<id>`.
fn restore_point_ref(v: Option<&Value>, kind: BodyKind) -> Result<RestorePointRef, ApiError> {
    let invalid = |m: &str| ApiError::Rule(RuleError::InvalidRestorePoint(m.to_owned()));
    let obj = match v {
        None | Some(Value::Null) => return Err(invalid("restorePoint is required.")),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(invalid("restorePoint must be an object such as {\"id\": \"...\"}.")),
    };
    let mut id = None;
    let mut odata_id = None;
    for (k, val) in obj {
        match k.as_str() {
            "id" => id = Some(val),
            "@odata.id" => odata_id = Some(val),
            "@odata.type" => check_type(val, &["restorePoint"], kind)?,
            k if RESTORE_POINT_PROPERTIES.contains(&k) || k.starts_with('@') => {}
            other => {
                return Err(malformed(
                    kind,
                    format!("Property '{other}' does not exist on type 'microsoft.graph.restorePoint'."),
                ))
            }
        }
    }
    let from_odata_id = match odata_id {
        None => None,
        Some(Value::String(s)) => {
            Some(id_from_odata_id(s).ok_or_else(|| invalid("the @odata.id does not name a restore point."))?)
        }
        Some(_) => return Err(invalid("restorePoint's @odata.id must be a string.")),
    };
    let from_id = match id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("restorePoint's id must be a string.")),
    };
    let raw = match (from_id, from_odata_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid("restorePoint's id and @odata.id name different restore points."))
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(invalid("restorePoint has neither an id nor an @odata.id.")),
    };
    Ok(RestorePointRef::parse(&raw)?)
}

fn id_from_odata_id(s: &str) -> Option<String> {
    if !s.contains('/') && !s.contains('(') {
        return Some(s.to_owned());
    }
    let lower = s.to_ascii_lowercase();
    let at = lower.rfind("restorepoints")? + "restorepoints".len();
    let rest = &s[at..];
    let inner = if let Some(r) = rest.strip_prefix('/') {
        r.trim_end_matches('/')
    } else {
        rest.strip_prefix('(')?.strip_suffix(')')?
    };
    let id = inner.strip_prefix('\'').and_then(|i| i.strip_suffix('\'')).unwrap_or(inner);
    (!id.is_empty() && !id.contains('/')).then(|| id.replace("''", "'"))
}

/// One artifact to add: `{"restorePoint": {...}, "destinationType": "new" | "inPlace"}`.
pub fn artifact_add(v: &Value, w: Workload, kind: BodyKind) -> Result<ArtifactAdd, ApiError> {
    let artifact_type = names(w).artifact_type;
    let obj = v
        .as_object()
        .ok_or_else(|| malformed(kind, format!("Each {artifact_type} must be a JSON object, not {}.", json_kind(v))))?;
    let mut content_id = None;
    for (k, val) in obj {
        match k.as_str() {
            "restorePoint" | "destinationType" => {}
            "@odata.type" => check_type(val, &[artifact_type, "restoreArtifactBase"], kind)?,
            "@contentId" => content_id = Some(content_id_text(val, kind)?),
            k if ARTIFACT_READ_ONLY.contains(&k) => {
                if !val.is_null() {
                    return Err(malformed(
                        kind,
                        format!("Property '{k}' of {artifact_type} is read-only and cannot be set."),
                    ));
                }
            }
            k if k.starts_with('@') => {}
            other => {
                return Err(malformed(
                    kind,
                    format!("Property '{other}' does not exist on type 'microsoft.graph.{artifact_type}'."),
                ))
            }
        }
    }
    let restore_point = restore_point_ref(obj.get("restorePoint"), kind)?;
    let destination = match obj.get("destinationType") {
        None | Some(Value::Null) => {
            return Err(RuleError::InvalidDestination("destinationType is required.".into()).into())
        }
        Some(Value::String(s)) => DestinationType::parse(s)
            .ok_or_else(|| RuleError::InvalidDestination(format!("'{s}' is not one of new, inPlace.")))?,
        Some(other) => return Err(RuleError::InvalidDestination(format!("{other} is not one of new, inPlace.")).into()),
    };
    Ok(ArtifactAdd { restore_point, destination, content_id, granular: None })
}

pub(super) fn content_id_text(v: &Value, kind: BodyKind) -> Result<String, ApiError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(malformed(kind, "@contentId must be a string.".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn restore_point_references() {
        for v in [
            json!({"id": "rp1"}),
            json!({"@odata.id": "rp1"}),
            json!({"@odata.id": "https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints('rp1')"}),
            json!({"@odata.id": "/solutions/backupRestore/restorePoints/rp1"}),
            json!({"id": "rp1", "@odata.id": "restorePoints(rp1)"}),
        ] {
            assert_eq!(restore_point_ref(Some(&v), BodyKind::Patch).unwrap().as_str(), "rp1", "{v}");
        }
        for v in [json!({}), json!({"id": ""}), json!({"id": 5}), json!({"@odata.id": "/sites/x"}), json!("rp1")] {
            assert!(restore_point_ref(Some(&v), BodyKind::Patch).is_err(), "{v}");
        }
    }
}
