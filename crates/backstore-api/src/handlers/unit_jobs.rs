//! Protection-unit bulk addition jobs: created on a policy with resources named by address (site
//! URLs, e-mail addresses) or id, resolved by the engine into units of the policy, with an error
//! detail per resource that could not be added. Listed per policy or per workload at the root.

use axum::http::{header, StatusCode};
use axum::response::Response;
use backstore_domain::Workload;
use backstore_store::UnitBulkJobRecord;
use serde_json::{Map, Value};

use super::{counted_collection, entity, page};
use crate::auth::Access;
use crate::error::ApiError;
use crate::names::names;
use crate::path::CountOf;
use crate::wire;
use crate::Ctx;

fn job_json(j: &UnitBulkJobRecord) -> Map<String, Value> {
    wire::members(&wire::UnitJob::new(j))
}

fn fragment(w: Workload, policy: Option<&str>) -> String {
    super::under_policy(w, policy, names(w).unit_jobs_nav)
}

pub(super) async fn create_job(ctx: &Ctx, w: Workload, policy: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let n = names(w);
    let crate::body::NewUnitJob { display_name: name, addresses, object_ids: ids } =
        crate::body::unit_job(&ctx.body, w)?;
    let job = ctx.store().create_unit_bulk_job(ctx.writer(), policy, w, name, addresses, ids).await?;
    let location = format!("{}/{}('{policy}')/{}('{}')", ctx.service_url(), n.policy_set, n.unit_jobs_nav, job.id);
    let r = entity(ctx, StatusCode::CREATED, &format!("{}/$entity", fragment(w, Some(policy))), job_json(&job));
    Ok(super::locate(r, &location, &[header::LOCATION]))
}

pub(super) async fn list_jobs(ctx: &Ctx, w: Workload, policy: Option<&str>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    super::protection_policies::require_under(ctx, Some(w), policy).await?;
    let limit = ctx.query.page_size();
    let count = super::inline_count(ctx, CountOf::UnitJobs { workload: w, policy: policy.map(str::to_owned) }).await?;
    let rows = ctx
        .store()
        .list_under_policy::<UnitBulkJobRecord>((ctx.tenant(), w, policy), ctx.query.after, limit + 1)
        .await?;
    let (rows, more_after) = page(rows, limit, |j| j.seq);
    let value = rows.iter().map(|j| Value::Object(job_json(j))).collect();
    Ok(counted_collection(ctx, &fragment(w, policy), value, more_after, count))
}

pub(super) async fn get_job(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    let job = ctx
        .store()
        .get_under_policy::<UnitBulkJobRecord>((ctx.tenant(), w, policy), id)
        .await?
        .ok_or_else(|| ApiError::ResourceNotFound(format!("Bulk addition job '{id}' was not found.")))?;
    Ok(entity(ctx, StatusCode::OK, &format!("{}/$entity", fragment(w, policy)), job_json(&job)))
}
