//! Protection policies: the typed sets, the polymorphic `protectionPolicies`, one policy, its
//! units delta PATCH, activate / deactivate (carried out by the engine), delete, and the policy's
//! units.

use std::collections::HashSet;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::policy::MAX_UNITS_PER_REQUEST;
use backstore_domain::{RuleError, Workload};
use backstore_store::{PolicyDeltaItem, PolicyRecord};
use serde_json::{Map, Value};

use super::protection_units::{unit_body, unit_json};
use super::{collection, entity, page, project, selected};
use crate::auth::Access;
use crate::body::{empty_action_body, into_object, parse_json, BodyKind};
use crate::error::ApiError;
use crate::names::{names, BASE_POLICY_SET, BASE_POLICY_TYPE};
use crate::Ctx;

const PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "isEnabled",
    "status",
    "protectionPolicyArtifactCount",
    "retentionSettings",
    "createdBy",
    "createdDateTime",
    "lastModifiedBy",
    "lastModifiedDateTime",
];

/// Longest `displayName` (error-codes page: 1–1024 characters).
const MAX_DISPLAY_NAME: usize = 1024;

fn type_name(workload: Option<Workload>) -> &'static str {
    workload.map_or(BASE_POLICY_TYPE, |w| names(w).policy_type)
}

fn set_fragment(workload: Option<Workload>, base: bool) -> String {
    match (workload, base) {
        (Some(w), false) => names(w).policy_set.to_owned(),
        (Some(w), true) => format!("{BASE_POLICY_SET}/microsoft.graph.{}", names(w).policy_type),
        (None, _) => BASE_POLICY_SET.to_owned(),
    }
}

fn policy_json(p: &PolicyRecord, with_type: bool, select: Option<&[&'static str]>) -> Map<String, Value> {
    project(crate::wire::members(&crate::wire::Policy::new(p, with_type)), select, &[])
}

fn no_expand(ctx: &Ctx, workload: Option<Workload>) -> Result<(), ApiError> {
    match ctx.query.expand.first() {
        Some(e) => Err(ApiError::BadRequest(format!(
            "Could not find a navigation property named '{e}' on type 'microsoft.graph.{}'.",
            type_name(workload)
        ))),
        None => Ok(()),
    }
}

pub(super) async fn list_policies(ctx: &Ctx, workload: Option<Workload>, base: bool) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    let select = selected(ctx, PROPERTIES, type_name(workload))?;
    no_expand(ctx, workload)?;
    let limit = ctx.query.page_size();
    let rows = ctx.store().list_policies(ctx.tenant(), workload, ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |p| p.seq);
    let value = rows.iter().map(|p| Value::Object(policy_json(p, base, select.as_deref()))).collect();
    Ok(collection(ctx, &set_fragment(workload, base), value, more_after))
}

async fn load(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<PolicyRecord, ApiError> {
    Ok(ctx.store().get_policy(ctx.tenant(), id, workload).await?.ok_or(RuleError::PolicyNotFound)?)
}

pub(super) async fn get_policy(
    ctx: &Ctx,
    id: &str,
    workload: Option<Workload>,
    base: bool,
) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    let p = load(ctx, id, workload).await?;
    let select = selected(ctx, PROPERTIES, type_name(Some(p.workload)))?;
    no_expand(ctx, workload)?;
    let fragment = format!("{}/$entity", set_fragment(workload, base));
    Ok(entity(ctx, StatusCode::OK, &fragment, policy_json(&p, base, select.as_deref())))
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

pub(super) async fn create_policy(ctx: &Ctx, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let n = names(w);
    let obj = match parse_json(&ctx.body)? {
        Value::Object(m) => m,
        _ => {
            return Err(
                RuleError::InvalidCreateRequest("The request body must be a protection policy object.".into()).into()
            )
        }
    };
    let mut name = None;
    let mut ids = Vec::new();
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
    check_limit_and_duplicates(ids.iter().map(String::as_str), ids.len())?;
    let p = ctx.store().create_policy(ctx.writer(), w, name, ids).await?;
    let location = format!("{}/{}('{}')", ctx.service_url(), n.policy_set, p.id);
    let r = entity(ctx, StatusCode::CREATED, &format!("{}/$entity", n.policy_set), policy_json(&p, false, None));
    Ok(super::locate(r, &location, &[header::LOCATION, header::CONTENT_LOCATION]))
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

pub(super) async fn update_policy(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let obj = into_object(parse_json(&ctx.body)?, BodyKind::Patch)?;
    let current = load(ctx, id, workload).await?;
    let w = current.workload;
    let n = names(w);
    let delta_key = format!("{}@delta", n.unit_set);
    let mut name = None;
    let mut items = Vec::new();
    for (k, v) in &obj {
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
            "id" if v.as_str() == Some(current.id.as_str()) => {}
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
    let sent_name = name.clone();
    let outcome = ctx.store().update_policy(ctx.writer(), id, workload, name, items).await?;
    let echo = crate::wire::PolicyDelta {
        id: &outcome.policy.id,
        display_name: sent_name.as_deref(),
        items: obj.contains_key(&delta_key).then(|| {
            crate::wire::Named::new(
                delta_key.clone(),
                outcome
                    .items
                    .iter()
                    .map(|r| crate::wire::PolicyDeltaItem::of(r, w, |u| unit_body(ctx, u, false)))
                    .collect(),
            )
        }),
    };
    let fragment = format!("{}/$entity", n.policy_set);
    Ok(entity(ctx, StatusCode::OK, &fragment, crate::wire::members(&echo)))
}

pub(super) async fn delete_policy(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    ctx.store().delete_policy(ctx.tenant(), id, workload).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `202 Accepted` with `Content-Location` and the policy (`updating`); the engine does the rest.
pub(super) async fn set_enabled(
    ctx: &Ctx,
    id: &str,
    workload: Option<Workload>,
    enable: bool,
) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    empty_action_body(&ctx.body, if enable { "activate" } else { "deactivate" })?;
    let p = ctx.store().set_policy_enabled(ctx.writer(), id, workload, enable, None).await?;
    let location = format!("{}/{}('{}')", ctx.service_url(), BASE_POLICY_SET, p.id);
    let fragment = format!("{}/$entity", BASE_POLICY_SET);
    let r = entity(ctx, StatusCode::ACCEPTED, &fragment, policy_json(&p, true, None));
    Ok(super::locate(r, &location, &[header::CONTENT_LOCATION]))
}

pub(super) async fn list_policy_units(ctx: &Ctx, policy: &str, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    load(ctx, policy, Some(w)).await?;
    let select = selected(ctx, &super::protection_units::properties(Some(w)), names(w).unit_type)?;
    let limit = ctx.query.page_size();
    let rows = ctx.store().list_policy_units(ctx.tenant(), policy, ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |r| r.seq);
    let value =
        rows.iter().map(|r| Value::Object(project(unit_json(ctx, &r.unit, false), select.as_deref(), &[]))).collect();
    let fragment = format!("{}('{policy}')/{}", names(w).policy_set, names(w).unit_set);
    Ok(collection(ctx, &fragment, value, more_after))
}

pub(super) async fn get_policy_unit(ctx: &Ctx, policy: &str, w: Workload, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    load(ctx, policy, Some(w)).await?;
    let row = ctx
        .store()
        .get_unit(ctx.tenant(), id)
        .await?
        .filter(|r| r.unit.policy_id.as_deref() == Some(policy))
        .ok_or_else(|| ApiError::ProtectionUnitNotFound(id.to_owned()))?;
    let select = selected(ctx, &super::protection_units::properties(Some(w)), names(w).unit_type)?;
    let fragment = format!("{}('{policy}')/{}/$entity", names(w).policy_set, names(w).unit_set);
    Ok(entity(ctx, StatusCode::OK, &fragment, project(unit_json(ctx, &row.unit, false), select.as_deref(), &[])))
}
