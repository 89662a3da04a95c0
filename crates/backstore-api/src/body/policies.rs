//! Protection policy bodies: a create with its units (or, on beta, in full-service mode), and the
//! PATCH that renames a policy and carries its units delta (and, on beta, its exclusions delta).

use std::collections::HashSet;

use backstore_domain::policy::MAX_UNITS_PER_REQUEST;
use backstore_domain::{RuleError, Workload};
use backstore_store::{ExclusionDeltaItem, PolicyDeltaItem};
use serde_json::{Map, Value};

use super::{parse_json, BodyKind};
use crate::error::ApiError;
use crate::names::names;

/// Longest `displayName` (error-codes page: 1–1024 characters).
const MAX_DISPLAY_NAME: usize = 1024;

/// What a create asks for: a name, and the resources (site ids or directory object ids) to protect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    pub display_name: Option<String>,
    pub resource_ids: Vec<String>,
    /// beta `protectionMode: fullServiceBackup`.
    pub full_service: bool,
}

/// What a PATCH asks for: a new name, and the units delta when the body has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyPatch {
    pub display_name: Option<String>,
    pub items: Option<Vec<PolicyDeltaItem>>,
    /// beta: the exclusions delta, when the body has one.
    pub exclusions: Option<Vec<ExclusionDeltaItem>>,
    /// beta: the `protectionMode` sent (`true` for `fullServiceBackup`), which must be the policy's.
    pub full_service: Option<bool>,
}

/// `displayName`: a string of 1 to 1024 characters.
fn display_name(v: &Value) -> Result<String, ApiError> {
    match v.as_str() {
        Some(s) if !s.trim().is_empty() && s.chars().count() <= MAX_DISPLAY_NAME => Ok(s.to_owned()),
        _ => Err(ApiError::Rule(RuleError::InvalidDisplayName)),
    }
}

/// The resource id of one unit in a create body or delta add: `{"siteId": …}` or
/// `{"directoryObjectId": …}` (other read-only unit properties sent along are ignored).
fn unit_reference(v: &Value, w: Workload, kind: BodyKind) -> Result<String, ApiError> {
    let key = names(w).unit_key;
    let bad = |msg: String| match kind {
        BodyKind::Create => ApiError::Rule(RuleError::InvalidCreateRequest(msg)),
        BodyKind::Patch => ApiError::Rule(RuleError::InvalidPatch(msg)),
    };
    let obj = v.as_object().ok_or_else(|| bad(format!("Each protection unit must be an object with '{key}'.")))?;
    match obj.get(key).and_then(Value::as_str).map(str::trim) {
        Some(id) if !id.is_empty() && id.len() <= backstore_domain::MAX_ID_LEN => Ok(id.to_owned()),
        Some(_) => Err(ApiError::InvalidProtectionUnitId(format!("'{key}' is empty or too long."))),
        None => Err(bad(format!("A protection unit needs '{key}'."))),
    }
}

fn check_limit_and_duplicates<'a>(ids: impl Iterator<Item = &'a str>, count: usize) -> Result<(), ApiError> {
    if count > MAX_UNITS_PER_REQUEST {
        return Err(RuleError::UnitLimit.into());
    }
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id.to_lowercase()) {
            return Err(RuleError::DuplicateUnit(id.to_owned()).into());
        }
    }
    Ok(())
}

/// beta's `protectionMode`: `standard`, or `fullServiceBackup` (every resource of the workload
/// protected but the excluded ones); `true` for the latter.
fn protection_mode(v: &Value) -> Result<bool, ApiError> {
    match v.as_str() {
        Some("standard") => Ok(false),
        Some("fullServiceBackup") => Ok(true),
        _ => Err(ApiError::BadRequest(format!("'protectionMode' must be 'standard' or 'fullServiceBackup', not {v}."))),
    }
}

/// The body of a create on the `w` policy set.
pub fn create_policy(body: &[u8], w: Workload, beta: bool) -> Result<NewPolicy, ApiError> {
    let n = names(w);
    let obj = match parse_json(body)? {
        Value::Object(m) => m,
        _ => {
            return Err(
                RuleError::InvalidCreateRequest("The request body must be a protection policy object.".into()).into()
            )
        }
    };
    let mut name = None;
    let mut ids = Vec::new();
    let mut full_service = false;
    for (k, v) in &obj {
        match k.as_str() {
            "displayName" => name = Some(display_name(v)?),
            k if k == n.unit_set => {
                let items = v
                    .as_array()
                    .ok_or_else(|| RuleError::InvalidCreateRequest(format!("'{}' must be an array.", n.unit_set)))?;
                if items.len() > MAX_UNITS_PER_REQUEST {
                    return Err(RuleError::UnitLimit.into());
                }
                ids = items.iter().map(|i| unit_reference(i, w, BodyKind::Create)).collect::<Result<_, _>>()?;
            }
            "@odata.type" if v.as_str().is_some_and(|t| crate::names::is_odata_type(t, n.policy_type)) => {}
            k if k.starts_with('@') => {}
            "protectionMode" if beta => full_service = protection_mode(v)?,
            "isEnabled" | "status" | "id" | "retentionSettings" | "protectionPolicyArtifactCount" => {
                return Err(RuleError::InvalidCreateRequest(format!("'{k}' is read-only.")).into())
            }
            other => {
                return Err(RuleError::InvalidCreateRequest(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.{}'.",
                    n.policy_type
                ))
                .into())
            }
        }
    }
    if full_service && !ids.is_empty() {
        return Err(RuleError::InvalidCreateRequest(format!(
            "A full-service backup policy protects every resource of its workload; leave '{}' out and exclude \
             resources with '{}@delta'.",
            n.unit_set, n.exclusion_set
        ))
        .into());
    }
    check_limit_and_duplicates(ids.iter().map(String::as_str), ids.len())?;
    Ok(NewPolicy { display_name: name, resource_ids: ids, full_service })
}

/// One element of `…ProtectionUnits@delta`: an add (`{siteId}` / `{directoryObjectId}`) or a
/// remove (`{"@removed": {…}, "id": …}`), with an optional `@contentId`.
fn delta_item(v: &Value, w: Workload) -> Result<PolicyDeltaItem, ApiError> {
    let obj = v.as_object().ok_or_else(|| RuleError::InvalidPatch("Each delta element must be an object.".into()))?;
    let content_id = obj.get("@contentId").and_then(Value::as_str).map(str::to_owned);
    if obj.contains_key("@removed") {
        let id = obj.get("id").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
            ApiError::InvalidProtectionUnitId("A removed element needs the protection unit's 'id'.".into())
        })?;
        return Ok(PolicyDeltaItem::Remove { unit_id: id.to_owned(), content_id });
    }
    Ok(PolicyDeltaItem::Add { resource_id: unit_reference(v, w, BodyKind::Patch)?, content_id })
}

/// The body of a PATCH on policy `id` of workload `w` (already read as an object).
pub fn policy_patch(obj: &Map<String, Value>, w: Workload, id: &str, beta: bool) -> Result<PolicyPatch, ApiError> {
    let n = names(w);
    let delta_key = format!("{}@delta", n.unit_set);
    let exclusions_key = format!("{}@delta", n.exclusion_set);
    let mut name = None;
    let mut items = Vec::new();
    let (mut exclusions, mut full_service) = (None, None);
    for (k, v) in obj {
        match k.as_str() {
            "displayName" => name = Some(display_name(v)?),
            k if k == delta_key => {
                let arr =
                    v.as_array().ok_or_else(|| RuleError::InvalidPatch(format!("'{delta_key}' must be an array.")))?;
                if arr.len() > MAX_UNITS_PER_REQUEST {
                    return Err(RuleError::UnitLimit.into());
                }
                items = arr.iter().map(|i| delta_item(i, w)).collect::<Result<_, _>>()?;
            }
            k if k.starts_with('@') => {}
            "id" if v.as_str() == Some(id) => {}
            "protectionMode" if beta => full_service = Some(protection_mode(v)?),
            k if beta && k == exclusions_key => {
                let arr = v
                    .as_array()
                    .ok_or_else(|| RuleError::InvalidPatch(format!("'{exclusions_key}' must be an array.")))?;
                if arr.len() > MAX_UNITS_PER_REQUEST {
                    return Err(RuleError::UnitLimit.into());
                }
                exclusions = Some(arr.iter().map(|i| exclusion_item(i, w)).collect::<Result<Vec<_>, _>>()?);
            }
            other => {
                return Err(RuleError::InvalidPatch(format!(
                    "Property '{other}' cannot be updated on type 'microsoft.graph.{}'.",
                    n.policy_type
                ))
                .into())
            }
        }
    }
    let keys = items.iter().map(|i| match i {
        PolicyDeltaItem::Add { resource_id, .. } => resource_id.as_str(),
        PolicyDeltaItem::Remove { unit_id, .. } => unit_id.as_str(),
    });
    check_limit_and_duplicates(keys, items.len())?;
    if let Some(list) = &exclusions {
        let keys = list.iter().map(|i| match i {
            ExclusionDeltaItem::Add { resource_id, .. } => resource_id.as_str(),
            ExclusionDeltaItem::Remove { id, .. } => id.as_str(),
        });
        check_limit_and_duplicates(keys, list.len())?;
    }
    Ok(PolicyPatch {
        display_name: name,
        items: obj.contains_key(&delta_key).then_some(items),
        exclusions,
        full_service,
    })
}

/// One element of `…ExclusionUnits@delta`: an add (`{siteId}` / `{directoryObjectId}`) or a
/// remove (`{"@removed": {…}, "id": …}`), with an optional `@contentId`.
fn exclusion_item(v: &Value, w: Workload) -> Result<ExclusionDeltaItem, ApiError> {
    let obj = v.as_object().ok_or_else(|| RuleError::InvalidPatch("Each delta element must be an object.".into()))?;
    let content_id = obj.get("@contentId").and_then(Value::as_str).map(str::to_owned);
    if obj.contains_key("@removed") {
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| RuleError::InvalidPatch("A removed element needs the exclusion unit's 'id'.".into()))?;
        return Ok(ExclusionDeltaItem::Remove { id: id.to_owned(), content_id });
    }
    Ok(ExclusionDeltaItem::Add { resource_id: unit_reference(v, w, BodyKind::Patch)?, content_id })
}
