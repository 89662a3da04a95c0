//! beta exclusion units: `exclusionUnits` (every workload's, each with `@odata.type`), the typed
//! sets, and a full-service policy's, listed in the order they were made, and one by id.

use axum::http::StatusCode;
use axum::response::Response;
use backstore_domain::Workload;
use serde_json::Value;

use super::protection_policies::require_under;
use super::{counted_collection, entity, page, Ctx};
use crate::auth::Access;
use crate::error::ApiError;
use crate::names::names;
use crate::path::CountOf;
use crate::wire;

fn fragment(workload: Option<Workload>, policy: Option<&str>) -> String {
    let set = workload.map_or("exclusionUnits", |w| names(w).exclusion_set);
    match (workload, policy) {
        (Some(w), Some(p)) => format!("{}('{}')/{set}", names(w).policy_set, p.replace('\'', "''")),
        _ => set.to_owned(),
    }
}

pub(super) async fn list_exclusions(
    ctx: &Ctx,
    workload: Option<Workload>,
    policy: Option<&str>,
) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    require_under(ctx, workload, policy).await?;
    let limit = ctx.query.page_size();
    let count = super::inline_count(ctx, CountOf::Exclusions { workload, policy: policy.map(str::to_owned) }).await?;
    let rows = ctx.store().list_exclusions((ctx.tenant(), workload, policy), ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |e| e.seq);
    let delegated = ctx.principal.is_delegated();
    let value: Vec<Value> = rows
        .iter()
        .map(|e| Value::Object(wire::members(&wire::Exclusion::new(e, delegated, workload.is_none()))))
        .collect();
    Ok(counted_collection(ctx, &fragment(workload, policy), value, more_after, count))
}

pub(super) async fn get_exclusion(
    ctx: &Ctx,
    workload: Option<Workload>,
    policy: Option<&str>,
    id: &str,
) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    require_under(ctx, workload, policy).await?;
    let found = ctx.store().get_exclusion(ctx.tenant(), workload, id).await?;
    let e = found
        .filter(|e| policy.is_none_or(|p| p == e.policy_id))
        .ok_or_else(|| ApiError::ResourceNotFound(format!("Exclusion unit '{id}' was not found.")))?;
    let body = wire::Exclusion::new(&e, ctx.principal.is_delegated(), workload.is_none());
    let fragment = format!("{}/$entity", fragment(workload, policy));
    Ok(entity(ctx, StatusCode::OK, &fragment, wire::members(&body)))
}

fn jobs_nav(w: Workload) -> String {
    format!("{}BulkAdditionJobs", names(w).exclusion_set)
}

fn job_json(j: &backstore_store::ExclusionJobRecord) -> serde_json::Map<String, Value> {
    wire::members(&wire::ExclusionJob::new(j))
}

pub(super) async fn create_job(ctx: &Ctx, w: Workload, policy: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let (name, addresses) = crate::body::exclusion_job(&ctx.body, w)?;
    let job = ctx.store().create_exclusion_bulk_job(ctx.writer(), policy, w, name, addresses).await?;
    let nav = jobs_nav(w);
    let location = format!("{}/{}('{policy}')/{nav}('{}')", ctx.service_url(), names(w).policy_set, job.id);
    let fragment = format!("{}/$entity", super::under_policy(w, Some(policy), &nav));
    let r = entity(ctx, StatusCode::CREATED, &fragment, job_json(&job));
    Ok(super::locate(r, &location, &[axum::http::header::LOCATION]))
}

pub(super) async fn list_jobs(ctx: &Ctx, w: Workload, policy: Option<&str>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    require_under(ctx, Some(w), policy).await?;
    let limit = ctx.query.page_size();
    let of = CountOf::ExclusionJobs { workload: w, policy: policy.map(str::to_owned) };
    let count = super::inline_count(ctx, of).await?;
    let rows = ctx
        .store()
        .list_under_policy::<backstore_store::ExclusionJobRecord>((ctx.tenant(), w, policy), ctx.query.after, limit + 1)
        .await?;
    let (rows, more_after) = page(rows, limit, |j| j.seq);
    let value = rows.iter().map(|j| Value::Object(job_json(j))).collect();
    Ok(counted_collection(ctx, &super::under_policy(w, policy, &jobs_nav(w)), value, more_after, count))
}

pub(super) async fn get_job(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    let job = ctx
        .store()
        .get_under_policy::<backstore_store::ExclusionJobRecord>((ctx.tenant(), w, policy), id)
        .await?
        .ok_or_else(|| ApiError::ResourceNotFound(format!("Bulk addition job '{id}' was not found.")))?;
    let fragment = format!("{}/$entity", super::under_policy(w, policy, &jobs_nav(w)));
    Ok(entity(ctx, StatusCode::OK, &fragment, job_json(&job)))
}
