//! Protection units: the polymorphic `protectionUnits` (with type casts) and the typed sets
//! `siteProtectionUnits`, `mailboxProtectionUnits`, `driveProtectionUnits`, and `offboard` /
//! `cancelOffboard`. Units are created and removed through protection policies.

use axum::http::StatusCode;
use axum::response::Response;
use backstore_domain::Workload;
use backstore_store::ProtectionUnitRecord;
use serde_json::{Map, Value};

use super::{entity, keyed_page, list_spec, project, queried_collection, selected};
use crate::auth::Access;
use crate::error::ApiError;
use crate::names::{names, BASE_UNIT_SET, BASE_UNIT_TYPE};
use crate::wire;
use crate::Ctx;

const COMMON: [&str; 10] = [
    "id",
    "policyId",
    "protectionSources",
    "status",
    "createdBy",
    "createdDateTime",
    "lastModifiedBy",
    "lastModifiedDateTime",
    "error",
    "offboardRequestedDateTime",
];

/// What beta's units add.
const BETA: [&str; 3] = ["backupRetentionPeriodInDays", "billingPolicyId", "pendingRetentionPeriodChange"];

/// A unit's properties, as `$select` may name them on this version.
pub(super) fn properties(workload: Option<Workload>, beta: bool) -> Vec<&'static str> {
    let own: &[&'static str] = match (workload, beta) {
        (Some(Workload::SharePoint), _) => &["siteId", "siteName", "siteWebUrl"],
        (Some(Workload::Exchange), true) => &["directoryObjectId", "displayName", "email", "mailboxType"],
        (Some(Workload::Exchange | Workload::OneDrive), _) => &["directoryObjectId", "displayName", "email"],
        (None, _) => &[],
    };
    let beta: &[&'static str] = if beta { &BETA } else { &[] };
    COMMON.iter().chain(beta).chain(own).copied().collect()
}

/// A unit as an item or entity: `@odata.type` only when reached through `protectionUnits`.
/// A unit as this caller may see it.
pub(crate) fn unit_body<'a>(ctx: &Ctx, u: &'a ProtectionUnitRecord, with_type: bool) -> wire::Unit<'a> {
    wire::Unit::new(u, &ctx.render, ctx.principal.is_delegated(), with_type, ctx.is_beta())
}

pub(crate) fn unit_json(ctx: &Ctx, u: &ProtectionUnitRecord, with_type: bool) -> Map<String, Value> {
    wire::members(&unit_body(ctx, u, with_type))
}

fn type_name(workload: Option<Workload>) -> &'static str {
    workload.map_or(BASE_UNIT_TYPE, |w| names(w).unit_type)
}

pub(super) async fn list_units(ctx: &Ctx, workload: Option<Workload>, base: bool) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    let select = selected(ctx, &properties(workload, ctx.is_beta()), type_name(workload))?;
    if let Some(e) = ctx.query.expand.first() {
        return Err(ApiError::BadRequest(format!(
            "Could not find a navigation property named '{e}' on type 'microsoft.graph.{}'.",
            type_name(workload)
        )));
    }
    let page = ctx.store().list_units(ctx.tenant(), workload, &list_spec(ctx)?).await?;
    let (rows, next) = keyed_page(ctx, page.rows, |r| r.seq);
    let value =
        rows.iter().map(|r| Value::Object(project(unit_json(ctx, &r.unit, base), select.as_deref(), &[]))).collect();
    let fragment = match (workload, base) {
        (Some(w), false) => names(w).unit_set.to_owned(),
        (Some(w), true) => format!("{BASE_UNIT_SET}/microsoft.graph.{}", names(w).unit_type),
        (None, _) => BASE_UNIT_SET.to_owned(),
    };
    Ok(queried_collection(ctx, &fragment, value, next, page.count))
}

pub(super) async fn get_unit(ctx: &Ctx, id: &str, kind: Option<Workload>, base: bool) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    let row = ctx
        .store()
        .get_unit(ctx.tenant(), id)
        .await?
        .filter(|r| kind.is_none_or(|w| w == r.unit.info.resource.workload))
        .ok_or_else(|| ApiError::ProtectionUnitNotFound(id.to_owned()))?;
    let select = selected(ctx, &properties(Some(row.unit.info.resource.workload), ctx.is_beta()), type_name(kind))?;
    let fragment = if base { BASE_UNIT_SET } else { names(row.unit.info.resource.workload).unit_set };
    let members = project(unit_json(ctx, &row.unit, base), select.as_deref(), &[]);
    Ok(entity(ctx, StatusCode::OK, &format!("{fragment}/$entity"), members))
}

/// `offboard` / `cancelOffboard`: delegated callers only; a unit still in a policy is refused.
pub(super) async fn offboard(ctx: &Ctx, id: &str, cancel: bool) -> Result<Response, ApiError> {
    let action = if cancel { "cancelOffboard" } else { "offboard" };
    ctx.principal.require(Access::ConfigurationWrite)?;
    ctx.principal.require_delegated(action)?;
    crate::body::empty_action_body(&ctx.body, action)?;
    let unit = ctx.store().offboard_unit(ctx.writer(), id, cancel).await?;
    Ok(entity(ctx, StatusCode::OK, &format!("{BASE_UNIT_SET}/$entity"), unit_json(ctx, &unit, true)))
}
