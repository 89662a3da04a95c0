//! Restore artifact bulk addition requests (`siteRestoreArtifactsBulkAdditionRequests` and the
//! mailbox/drive ones): create, list, get, delete. The engine resolves a request into artifacts
//! once its session is activated.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::{RuleError, Workload};
use backstore_store::BulkRequestRecord;
use serde_json::{Map, Value};

use super::{counted_collection, entity};
use crate::auth::Access;
use crate::error::ApiError;
use crate::names::names;
use crate::wire;
use crate::Ctx;

fn request_json(r: &BulkRequestRecord, w: Workload) -> Map<String, Value> {
    wire::members(&wire::BulkRequest::new(r, w))
}

fn fragment(session: &str, w: Workload) -> String {
    let n = names(w);
    format!("{}('{}')/{}", n.session_set, session.replace('\'', "''"), n.bulk_nav)
}

/// Request ids are GUIDs; anything else in the URL is `InvalidBulkRestoreArtifactId`.
fn check_id(id: &str) -> Result<(), ApiError> {
    uuid::Uuid::parse_str(id).map(|_| ()).map_err(|_| ApiError::InvalidBulkRequestId(id.to_owned()))
}

pub(super) async fn create_bulk_request(ctx: &Ctx, session: &str, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let spec = crate::body::bulk_request(&ctx.body, w)?;
    let r = ctx.store().create_bulk_request(ctx.writer(), session, w, spec).await?;
    let response = entity(ctx, StatusCode::CREATED, &format!("{}/$entity", fragment(session, w)), request_json(&r, w));
    let n = names(w);
    let location = format!("{}/{}/{}/{}/{}", ctx.service_url(), n.session_set, session, n.bulk_nav, r.id);
    Ok(super::locate(response, &location, &[header::LOCATION]))
}

async fn requests(ctx: &Ctx, session: &str, w: Workload) -> Result<Vec<BulkRequestRecord>, ApiError> {
    ctx.store().list_bulk_requests(ctx.tenant(), session, w).await?.ok_or(ApiError::Rule(RuleError::SessionNotFound))
}

pub(super) async fn list_bulk_requests(ctx: &Ctx, session: &str, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreRead)?;
    let all = requests(ctx, session, w).await?;
    let count = ctx.query.count.then_some(all.len() as i64);
    let value = all.iter().map(|r| Value::Object(request_json(r, w))).collect();
    Ok(counted_collection(ctx, &fragment(session, w), value, None, count))
}

pub(super) async fn get_bulk_request(ctx: &Ctx, session: &str, w: Workload, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreRead)?;
    ctx.query.for_entity()?;
    check_id(id)?;
    let all = requests(ctx, session, w).await?;
    let r = all.iter().find(|r| r.id.eq_ignore_ascii_case(id)).ok_or(ApiError::Rule(RuleError::BulkRequestNotFound))?;
    Ok(entity(ctx, StatusCode::OK, &format!("{}/$entity", fragment(session, w)), request_json(r, w)))
}

pub(super) async fn delete_bulk_request(ctx: &Ctx, session: &str, w: Workload, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    check_id(id)?;
    ctx.store().delete_bulk_request(ctx.tenant(), session, w, &id.to_ascii_lowercase()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
