//! Protection-unit bulk addition jobs: created on a policy with resources named by address (site
//! URLs, e-mail addresses) or id, resolved by the engine into units of the policy, with an error
//! detail per resource that could not be added. Listed per policy or per workload at the root.

use axum::http::{header, StatusCode};
use axum::response::Response;
use backstore_domain::policy::MAX_BULK_JOB_RESOURCES;
use backstore_domain::{RuleError, Workload};
use backstore_store::UnitBulkJobRecord;
use serde_json::{Map, Value};

use super::bulk_requests::{valid_email, valid_site_url};
use super::{collection, entity, page};
use crate::auth::Access;
use crate::error::ApiError;
use crate::names::names;
use crate::wire;
use crate::Ctx;

fn job_json(j: &UnitBulkJobRecord) -> Map<String, Value> {
    wire::members(&wire::UnitJob::new(j))
}

fn fragment(w: Workload, policy: Option<&str>) -> String {
    let n = names(w);
    match policy {
        Some(p) => format!("{}('{p}')/{}", n.policy_set, n.unit_jobs_nav),
        None => n.unit_jobs_nav.to_owned(),
    }
}

fn invalid(msg: String) -> ApiError {
    ApiError::Rule(RuleError::InvalidCreateRequest(msg))
}

fn strings(v: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| s.trim().to_owned())
                    .ok_or_else(|| invalid(format!("'{name}' must be an array of strings.")))
            })
            .collect(),
        _ => Err(invalid(format!("'{name}' must be an array of strings."))),
    }
}

pub(super) async fn create_job(ctx: &Ctx, w: Workload, policy: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationWrite)?;
    let n = names(w);
    let obj = match crate::body::parse_json(&ctx.body)? {
        Value::Object(m) => m,
        _ => return Err(invalid("The request body must be a bulk addition job object.".into())),
    };
    let (mut name, mut addresses, mut ids) = (None, Vec::new(), Vec::new());
    for (k, v) in &obj {
        match k.as_str() {
            "displayName" => name = v.as_str().map(str::to_owned),
            k if k == n.bulk_addresses => addresses = strings(v, k)?,
            k if k == n.bulk_ids => ids = strings(v, k)?,
            k if k.starts_with('@') => {}
            other => {
                return Err(invalid(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.{}'.",
                    wire::job_type(w)
                )))
            }
        }
    }
    if addresses.is_empty() && ids.is_empty() {
        return Err(invalid(format!("Name at least one resource in '{}' or '{}'.", n.bulk_addresses, n.bulk_ids)));
    }
    if addresses.len() + ids.len() > MAX_BULK_JOB_RESOURCES {
        return Err(invalid(format!("At most {MAX_BULK_JOB_RESOURCES} resources per bulk addition job.")));
    }
    for a in &addresses {
        let ok = if w == Workload::SharePoint { valid_site_url(a) } else { valid_email(a) };
        if !ok {
            return Err(invalid(format!("'{a}' is not a valid entry of '{}'.", n.bulk_addresses)));
        }
    }
    if let Some(bad) = ids.iter().find(|i| i.is_empty() || i.len() > backstore_domain::MAX_ID_LEN) {
        return Err(invalid(format!("'{bad}' is not a valid entry of '{}'.", n.bulk_ids)));
    }
    let job = ctx.store().create_unit_bulk_job(ctx.writer(), policy, w, name, addresses, ids).await?;
    let location = format!("{}/{}('{policy}')/{}('{}')", ctx.service_url(), n.policy_set, n.unit_jobs_nav, job.id);
    let r = entity(ctx, StatusCode::CREATED, &format!("{}/$entity", fragment(w, Some(policy))), job_json(&job));
    Ok(super::locate(r, &location, &[header::LOCATION]))
}

pub(super) async fn list_jobs(ctx: &Ctx, w: Workload, policy: Option<&str>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    if let Some(p) = policy {
        ctx.store().get_policy(ctx.tenant(), p, Some(w)).await?.ok_or(RuleError::PolicyNotFound)?;
    }
    let limit = ctx.query.page_size();
    let rows = ctx.store().list_unit_bulk_jobs(ctx.tenant(), w, policy, ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |j| j.seq);
    let value = rows.iter().map(|j| Value::Object(job_json(j))).collect();
    Ok(collection(ctx, &fragment(w, policy), value, more_after))
}

pub(super) async fn get_job(ctx: &Ctx, w: Workload, policy: Option<&str>, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ConfigurationRead)?;
    ctx.query.for_entity()?;
    let job = ctx
        .store()
        .get_unit_bulk_job(ctx.tenant(), w, policy, id)
        .await?
        .ok_or_else(|| ApiError::ResourceNotFound(format!("Bulk addition job '{id}' was not found.")))?;
    Ok(entity(ctx, StatusCode::OK, &format!("{}/$entity", fragment(w, policy)), job_json(&job)))
}
