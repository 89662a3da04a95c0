//! Restore session bodies: a create with its standard or granular artifacts, and the delta PATCH.

use backstore_domain::echo::{CountEcho, Echoed, ErrorEcho, IdentityEcho, IdentitySetEcho, Sent};
use backstore_domain::{ArtifactAdd, DeltaItem, Limits, RuleError, Timestamp, Workload};
use serde_json::{Map, Value};

use super::artifacts::{artifact_add, content_id_text};
use super::granular::{granular_add, granular_type};
use super::{check_type, into_object, json_kind, malformed, parse_json, BodyKind};
use crate::error::ApiError;
use crate::names::{names, workload_by};

/// Server-managed properties of a restore session.
pub const SESSION_READ_ONLY: &[&str] = &[
    "id",
    "status",
    "createdDateTime",
    "createdBy",
    "lastModifiedBy",
    "lastModifiedDateTime",
    "completedDateTime",
    "error",
    "restoreSessionArtifactCount",
    "restoreJobType",
];

/// One element of a `…@delta` array: an add, or `{"@removed": {...}, "id": …}`.
fn delta_item(v: &Value, w: Workload, granular: bool) -> Result<DeltaItem, ApiError> {
    let kind = BodyKind::Patch;
    let Some(obj) = v.as_object() else {
        return Err(malformed(kind, format!("Each element of the delta must be a JSON object, not {}.", json_kind(v))));
    };
    let Some(removed) = obj.get("@removed") else {
        let add = if granular { granular_add(v, w, kind)? } else { artifact_add(v, w, kind)? };
        return Ok(DeltaItem::Add(add));
    };
    if !removed.is_object() {
        return Err(malformed(kind, "@removed must be an object such as {\"reason\": \"changed\"}.".into()));
    }
    let mut content_id = None;
    for (k, val) in obj {
        match k.as_str() {
            "@removed" | "id" => {}
            "@odata.type" => check_type(
                val,
                &[names(w).artifact_type, "restoreArtifactBase", granular_type(w), "granularRestoreArtifactBase"],
                kind,
            )?,
            "@contentId" => content_id = Some(content_id_text(val, kind)?),
            other => {
                return Err(malformed(
                    kind,
                    format!("A removed element carries only '@removed' and 'id', not '{other}'."),
                ))
            }
        }
    }
    match obj.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => Ok(DeltaItem::Remove { id: id.clone(), content_id }),
        _ => Err(malformed(kind, "A removed element needs the 'id' of the artifact to remove.".into())),
    }
}

/// The artifacts of a create body (`siteRestoreArtifacts` etc.); absent or empty makes an empty
/// draft (Ruling 2), `null` is `InvalidArtifactRequest`.
pub fn create_body(body: &[u8], w: Workload, limits: &Limits) -> Result<Vec<ArtifactAdd>, ApiError> {
    let kind = BodyKind::Create;
    let obj = if body.iter().all(u8::is_ascii_whitespace) { Map::new() } else { into_object(parse_json(body)?, kind)? };
    let n = names(w);
    let mut adds = Vec::new();
    let mut kinds: Option<bool> = None;
    for (k, val) in &obj {
        match k.as_str() {
            "@odata.type" => check_type(val, &[n.session_type], kind)?,
            k if k.eq_ignore_ascii_case(n.artifact_nav) || k.eq_ignore_ascii_case(n.granular_nav) => match val {
                Value::Null => return Err(RuleError::EmptyArtifactList.into()),
                Value::Array(items) => {
                    let granular = k.eq_ignore_ascii_case(n.granular_nav);
                    if kinds.replace(granular).is_some_and(|before| before != granular) {
                        return Err(RuleError::MixedRestoreKinds.into());
                    }
                    backstore_domain::delta::check_request_size(
                        adds.len() + items.len(),
                        true,
                        limits.artifacts_per_request,
                    )?;
                    for item in items {
                        adds.push(if granular { granular_add(item, w, kind)? } else { artifact_add(item, w, kind)? });
                    }
                }
                other => return Err(malformed(kind, format!("'{k}' must be an array, not {}.", json_kind(other)))),
            },
            k if SESSION_READ_ONLY.contains(&k) => {
                if !val.is_null() {
                    return Err(malformed(kind, format!("Property '{k}' is read-only and cannot be set.")));
                }
            }
            k if k.starts_with('@') => {}
            other => {
                return Err(malformed(
                    kind,
                    format!("Property '{other}' does not exist on type 'microsoft.graph.{}'.", n.session_type),
                ))
            }
        }
    }
    Ok(adds)
}

/// A PATCH body, parsed but not yet checked against the session it is for.
#[derive(Debug, Default)]
pub struct PatchBody {
    pub odata_type: Option<Value>,
    /// The workload the `…@delta` names, and its elements.
    pub delta: Option<(Workload, Vec<DeltaItem>)>,
    /// Whether the delta is of the granular artifacts.
    pub granular: bool,
    /// Server-managed properties sent back, to compare with the session's own values.
    pub read_only: Vec<Echoed>,
}

/// Members of an object sent back, without annotations and null members (what a model leaves unset).
fn members(o: &Map<String, Value>) -> impl Iterator<Item = (&str, &Value)> {
    o.iter().filter(|(k, v)| !k.starts_with("@odata.") && !v.is_null()).map(|(k, v)| (k.as_str(), v))
}

/// `v` read as `T` by `read`: `null` is [`Sent::Null`], a value of another shape [`Sent::Unreadable`].
fn sent<T>(v: &Value, read: impl Fn(&Value) -> Option<T>) -> Sent<T> {
    match v {
        Value::Null => Sent::Null,
        v => read(v).map_or(Sent::Unreadable, Sent::Value),
    }
}

fn text(v: &Value) -> Sent<String> {
    sent(v, |v| v.as_str().map(str::to_owned))
}

fn time(v: &Value) -> Sent<Timestamp> {
    sent(v, |v| v.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc()))
}

fn identity(v: &Value) -> Option<IdentityEcho> {
    let mut out = IdentityEcho::default();
    for (k, v) in members(v.as_object()?) {
        let s = Some(v.as_str()?.to_owned());
        match k {
            "id" => out.id = s,
            "displayName" => out.display_name = s,
            _ => return None,
        }
    }
    Some(out)
}

fn identity_set(v: &Value) -> Option<IdentitySetEcho> {
    let mut out = IdentitySetEcho::default();
    for (k, v) in members(v.as_object()?) {
        match k {
            "application" => out.application = Some(identity(v)?),
            "user" => out.user = Some(identity(v)?),
            _ => return None,
        }
    }
    Some(out)
}

fn count(v: &Value) -> Option<CountEcho> {
    let mut out = CountEcho::default();
    for (k, v) in members(v.as_object()?) {
        let n = Some(v.as_i64()?);
        match k {
            "total" => out.total = n,
            "completed" => out.completed = n,
            "inProgress" => out.in_progress = n,
            "failed" => out.failed = n,
            _ => return None,
        }
    }
    Some(out)
}

fn public_error(v: &Value) -> Option<ErrorEcho> {
    let mut out = ErrorEcho::default();
    for (k, v) in members(v.as_object()?) {
        match k {
            "code" => out.code = Some(v.as_str()?.to_owned()),
            "message" => out.message = Some(v.as_str()?.to_owned()),
            "details" if v.as_array().is_some_and(Vec::is_empty) => out.empty_details = true,
            _ => return None,
        }
    }
    Some(out)
}

/// A server-managed property sent back, typed for the comparison with the session's own value.
fn echoed(name: &str, v: &Value) -> Option<Echoed> {
    Some(match name {
        "id" => Echoed::Id(text(v)),
        "status" => Echoed::Status(text(v)),
        "restoreJobType" => Echoed::RestoreJobType(text(v)),
        "restoreSessionArtifactCount" => Echoed::ArtifactCount(sent(v, count)),
        "createdBy" => Echoed::CreatedBy(sent(v, identity_set)),
        "lastModifiedBy" => Echoed::LastModifiedBy(sent(v, identity_set)),
        "createdDateTime" => Echoed::CreatedDateTime(time(v)),
        "lastModifiedDateTime" => Echoed::LastModifiedDateTime(time(v)),
        "completedDateTime" => Echoed::CompletedDateTime(time(v)),
        "error" => Echoed::Error(sent(v, public_error)),
        _ => return None,
    })
}

pub fn patch_body(body: &[u8], limits: &Limits) -> Result<PatchBody, ApiError> {
    let kind = BodyKind::Patch;
    let obj = into_object(parse_json(body)?, kind)?;
    let mut out = PatchBody::default();
    for (k, val) in obj {
        if let Some(nav) = k.strip_suffix("@delta") {
            let standard = workload_by(nav, |n| n.artifact_nav);
            let granular = workload_by(nav, |n| n.granular_nav);
            if let Some(w) = standard.or(granular) {
                if out.delta.is_some() {
                    return Err(malformed(kind, "A PATCH carries at most one artifact delta.".into()));
                }
                let items = match &val {
                    Value::Null => return Err(RuleError::EmptyArtifactList.into()),
                    Value::Array(items) if items.is_empty() => return Err(RuleError::EmptyArtifactList.into()),
                    Value::Array(items) => items,
                    other => return Err(malformed(kind, format!("'{k}' must be an array, not {}.", json_kind(other)))),
                };
                backstore_domain::delta::check_request_size(items.len(), false, limits.artifacts_per_request)?;
                let granular = granular.is_some();
                let parsed = items.iter().map(|i| delta_item(i, w, granular)).collect::<Result<Vec<_>, _>>()?;
                out.delta = Some((w, parsed));
                out.granular = granular;
                continue;
            }
            return Err(malformed(kind, format!("'{k}' is not a navigation property of a restore session.")));
        }
        match k.as_str() {
            "@odata.type" => out.odata_type = Some(val),
            k if SESSION_READ_ONLY.contains(&k) => out.read_only.extend(echoed(k, &val)),
            k if workload_by(k, |n| n.artifact_nav).or(workload_by(k, |n| n.granular_nav)).is_some() => {
                return Err(malformed(kind, format!("Artifacts are changed with '{k}@delta', not '{k}'.")))
            }
            k if k.starts_with('@') => {}
            other => return Err(malformed(kind, format!("Property '{other}' does not exist on a restore session."))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comments_are_not_json() {
        let body = br#"{"siteRestoreArtifacts@delta": [ // a comment
        ]}"#;
        assert!(matches!(patch_body(body, &Limits::SERVICE), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn delta_elements() {
        let body = json!({"mailboxRestoreArtifacts@delta": [
            {"restorePoint": {"@odata.id": "rp"}, "destinationType": "inPlace"},
            {"@removed": {"reason": "changed"}, "id": "a1", "@contentId": "c"}
        ]});
        let p = patch_body(body.to_string().as_bytes(), &Limits::SERVICE).unwrap();
        let (w, items) = p.delta.unwrap();
        assert_eq!(w, Workload::Exchange);
        assert!(matches!(&items[1], DeltaItem::Remove { id, content_id: Some(c) } if id == "a1" && c == "c"));
        let bad =
            json!({"mailboxRestoreArtifacts@delta": [{"restorePoint": {"id": "rp"}, "destinationType": "elsewhere"}]});
        assert!(matches!(
            patch_body(bad.to_string().as_bytes(), &Limits::SERVICE),
            Err(ApiError::Rule(RuleError::InvalidDestination(_)))
        ));
        let unknown = json!({"foo": 1});
        assert!(matches!(
            patch_body(unknown.to_string().as_bytes(), &Limits::SERVICE),
            Err(ApiError::Rule(RuleError::InvalidPatch(_)))
        ));
    }
}
