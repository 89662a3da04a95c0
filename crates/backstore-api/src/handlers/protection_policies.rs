//! Protection policies: the typed sets, the polymorphic `protectionPolicies`, one policy, its
//! units delta PATCH, activate / deactivate (carried out by the engine), delete, and the policy's
//! units.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::{RuleError, Workload};
use backstore_store::PolicyRecord;
use serde_json::{Map, Value};

use super::protection_units::{unit_body, unit_json};
use super::{counted_collection, entity, page, project, selected};
use crate::auth::Access;
use crate::body::{empty_action_body, into_object, parse_json, BodyKind};
use crate::error::ApiError;
use crate::names::{names, BASE_POLICY_SET, BASE_POLICY_TYPE};
use crate::path::CountOf;
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

/// What beta's policies add.
const BETA_PROPERTIES: [&str; 3] = ["billingPolicyId", "offboardRequestedDateTime", "protectionMode"];

/// A policy's properties, as `$select` may name them on this version.
fn properties(ctx: &Ctx) -> Vec<&'static str> {
    let beta: &[&'static str] = if ctx.is_beta() { &BETA_PROPERTIES } else { &[] };
    PROPERTIES.iter().chain(beta).copied().collect()
}

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

fn policy_json(ctx: &Ctx, p: &PolicyRecord, with_type: bool, select: Option<&[&'static str]>) -> Map<String, Value> {
    project(crate::wire::members(&crate::wire::Policy::new(p, with_type, ctx.is_beta())), select, &[])
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
    let select = selected(ctx, &properties(ctx), type_name(workload))?;
    no_expand(ctx, workload)?;
    let limit = ctx.query.page_size();
    let count = super::inline_count(ctx, CountOf::Policies { workload }).await?;
    let rows = ctx.store().list_policies(ctx.tenant(), workload, ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |p| p.seq);
    let value = rows.iter().map(|p| Value::Object(policy_json(ctx, p, base, select.as_deref()))).collect();
    Ok(counted_collection(ctx, &set_fragment(workload, base), value, more_after, count))
}

async fn load(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<PolicyRecord, ApiError> {
    Ok(ctx.store().get_policy(ctx.tenant(), id, workload).await?.ok_or(RuleError::PolicyNotFound)?)
}

/// The policy a collection is under (when it is under one) exists and is of `workload`.
pub(super) async fn require_under(ctx: &Ctx, workload: Option<Workload>, policy: Option<&str>) -> Result<(), ApiError> {
    if let Some(p) = policy {
        load(ctx, p, workload).await?;
    }
    Ok(())
}

pub(super) async fn get_policy(ctx: &Ctx, id: &str, w: Option<Workload>, base: bool) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    let p = load(ctx, id, w).await?;
    let select = selected(ctx, &properties(ctx), type_name(Some(p.workload)))?;
    no_expand(ctx, w)?;
    let fragment = format!("{}/$entity", set_fragment(w, base));
    Ok(entity(ctx, StatusCode::OK, &fragment, policy_json(ctx, &p, base, select.as_deref())))
}

pub(super) async fn create_policy(ctx: &Ctx, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let n = names(w);
    let crate::body::NewPolicy { display_name, resource_ids, full_service } =
        crate::body::create_policy(&ctx.body, w, ctx.is_beta())?;
    let p = ctx.store().create_policy(ctx.writer(), w, display_name, resource_ids, full_service).await?;
    let location = format!("{}/{}('{}')", ctx.service_url(), n.policy_set, p.id);
    let r = entity(ctx, StatusCode::CREATED, &format!("{}/$entity", n.policy_set), policy_json(ctx, &p, false, None));
    Ok(super::locate(r, &location, &[header::LOCATION, header::CONTENT_LOCATION]))
}

pub(super) async fn update_policy(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let obj = into_object(parse_json(&ctx.body)?, BodyKind::Patch)?;
    let current = load(ctx, id, workload).await?;
    let w = current.workload;
    let n = names(w);
    let patch = crate::body::policy_patch(&obj, w, &current.id, ctx.is_beta())?;
    if patch.full_service.is_some_and(|f| f != current.full_service) {
        return Err(ApiError::BadRequest(
            "'protectionMode' is chosen when a policy is created and cannot be changed.".into(),
        ));
    }
    let delta_sent = patch.items.is_some();
    let exclusions_sent = patch.exclusions.is_some();
    let delegated = ctx.principal.is_delegated();
    let outcome = ctx
        .store()
        .update_policy(
            ctx.writer(),
            id,
            workload,
            patch.display_name.clone(),
            patch.items.unwrap_or_default(),
            patch.exclusions.unwrap_or_default(),
        )
        .await?;
    let echo = crate::wire::PolicyDelta {
        id: &outcome.policy.id,
        display_name: patch.display_name.as_deref(),
        exclusions: exclusions_sent.then(|| {
            crate::wire::Named::new(
                format!("{}@delta", n.exclusion_set),
                outcome.exclusions.iter().map(|r| crate::wire::ExclusionDeltaItem::of(r, w, delegated)).collect(),
            )
        }),
        items: delta_sent.then(|| {
            crate::wire::Named::new(
                format!("{}@delta", n.unit_set),
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
pub(super) async fn set_enabled(ctx: &Ctx, id: &str, w: Option<Workload>, enable: bool) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    empty_action_body(&ctx.body, if enable { "activate" } else { "deactivate" })?;
    let p = ctx.store().set_policy_enabled(ctx.writer(), id, w, enable, None).await?;
    let location = format!("{}/{}('{}')", ctx.service_url(), BASE_POLICY_SET, p.id);
    let fragment = format!("{}/$entity", BASE_POLICY_SET);
    let r = entity(ctx, StatusCode::ACCEPTED, &fragment, policy_json(ctx, &p, true, None));
    Ok(super::locate(r, &location, &[header::CONTENT_LOCATION]))
}

pub(super) async fn list_policy_units(ctx: &Ctx, policy: &str, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    load(ctx, policy, Some(w)).await?;
    let select = selected(ctx, &super::protection_units::properties(Some(w), ctx.is_beta()), names(w).unit_type)?;
    let limit = ctx.query.page_size();
    let count = super::inline_count(ctx, CountOf::PolicyUnits { policy: policy.to_owned(), workload: w }).await?;
    let rows = ctx.store().list_policy_units(ctx.tenant(), policy, ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |r| r.seq);
    let value =
        rows.iter().map(|r| Value::Object(project(unit_json(ctx, &r.unit, false), select.as_deref(), &[]))).collect();
    let fragment = format!("{}('{policy}')/{}", names(w).policy_set, names(w).unit_set);
    Ok(counted_collection(ctx, &fragment, value, more_after, count))
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
    let select = selected(ctx, &super::protection_units::properties(Some(w), ctx.is_beta()), names(w).unit_type)?;
    let fragment = format!("{}('{policy}')/{}/$entity", names(w).policy_set, names(w).unit_set);
    Ok(entity(ctx, StatusCode::OK, &fragment, project(unit_json(ctx, &row.unit, false), select.as_deref(), &[])))
}

/// beta `reports/getStatisticsByPolicy(policyId='…')`: the policy's units counted by where their
/// protection stands, computed now.
pub(super) async fn statistics(ctx: &Ctx, policy: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    let p = load(ctx, policy, None).await?;
    let c = backstore_domain::policy::count_statistics(ctx.store().policy_unit_states(ctx.tenant(), &p.id).await?);
    let context = format!("{}/{}/$metadata#microsoft.graph.backupPolicyReport", ctx.origin, ctx.version.as_str());
    let body = crate::wire::PolicyReport {
        context,
        backup_policy_id: &p.id,
        display_name: p.display_name.as_deref(),
        count_statistics: crate::wire::CountStatistics::new(c, ctx.writer().now),
    };
    Ok(crate::json_response(StatusCode::OK, &body))
}

/// beta `activityLogs`: what happened to policies and restores, in the order it happened unless
/// `$orderby` says otherwise, with `$filter` (`eventDateTime`, `activityType`, `resultStatus`,
/// `serviceType`, `severity`, `isof(…)`), `$top`, `$skip`, `$count` and paging.
pub(super) async fn activity_logs(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::Monitor)?;
    if !ctx.query.expand.is_empty() {
        return Err(ApiError::BadRequest("activityLogs has no navigation properties to $expand.".into()));
    }
    let page = ctx.store().list_activity_logs(ctx.tenant(), &super::list_spec(ctx)?).await?;
    let (rows, next) = super::keyed_page(ctx, page.rows, |a| a.seq);
    let value: Vec<Value> = rows
        .iter()
        .map(|a| {
            let mut m = serde_json::Map::new();
            m.insert("@odata.type".into(), format!("#microsoft.graph.{}", a.kind).into());
            m.insert("id".into(), a.id.clone().into());
            m.insert("activityType".into(), a.activity_type.clone().into());
            m.insert("eventDateTime".into(), serde_json::json!(crate::wire::DateTime(a.event_at)));
            m.insert("performedBy".into(), serde_json::json!(a.performed_by));
            m.insert("error".into(), serde_json::json!(crate::wire::PublicError::of(a.error.as_ref())));
            m.insert("resultStatus".into(), a.result_status.clone().into());
            m.insert("serviceType".into(), a.service_type.clone().into());
            m.insert("severity".into(), a.severity.clone().into());
            if let Value::Object(details) = &a.details {
                m.extend(details.clone());
            }
            Value::Object(m)
        })
        .collect();
    Ok(super::queried_collection(ctx, "activityLogs", value, next, page.count))
}
