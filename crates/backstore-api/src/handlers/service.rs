//! The tenant's service: `GET /solutions/backupRestore` (its `serviceStatus`), `enable`, and the gate
//! every other call passes: a tenant that has not enabled the service is refused.

use axum::http::StatusCode;
use axum::response::Response;
use backstore_store::ServiceState;
use serde_json::{json, Map, Value};

use super::entity;
use crate::auth::Access;
use crate::body::{into_object, parse_json, BodyKind};
use crate::error::ApiError;
use crate::wire;
use crate::Ctx;

/// 403 unless the caller's tenant has enabled the service.
pub(super) async fn require_enabled(ctx: &Ctx) -> Result<(), ApiError> {
    match ctx.store().service_state(ctx.tenant()).await? {
        Some(s) if s.is_enabled() => Ok(()),
        _ => Err(ApiError::ServiceNotEnabled),
    }
}

fn service_status(state: Option<&ServiceState>) -> Map<String, Value> {
    let mut m = Map::new();
    match state {
        Some(s) => {
            m.insert("status".into(), json!(s.status));
            m.insert("backupServiceConsumer".into(), json!(s.consumer));
            m.insert("disableReason".into(), Value::Null);
            m.insert("gracePeriodDateTime".into(), Value::Null);
            m.insert("restoreAllowedTillDateTime".into(), Value::Null);
            m.insert("lastModifiedBy".into(), wire::identity_set(&s.last_modified_by));
            m.insert("lastModifiedDateTime".into(), wire::datetime(s.last_modified_at));
        }
        None => {
            m.insert("status".into(), json!("disabled"));
            m.insert("backupServiceConsumer".into(), json!("unknown"));
            m.insert("disableReason".into(), json!("none"));
            m.insert("gracePeriodDateTime".into(), Value::Null);
            m.insert("restoreAllowedTillDateTime".into(), Value::Null);
            m.insert("lastModifiedBy".into(), Value::Null);
            m.insert("lastModifiedDateTime".into(), Value::Null);
        }
    }
    m
}

pub(super) async fn get_root(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlRead)?;
    ctx.query.for_entity()?;
    let state = ctx.store().service_state(ctx.tenant()).await?;
    let mut m = Map::new();
    m.insert("id".into(), json!(ctx.tenant()));
    m.insert("serviceStatus".into(), Value::Object(service_status(state.as_ref())));
    Ok(entity(ctx, StatusCode::OK, "$entity", m))
}

pub(super) async fn enable_service(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlWrite)?;
    let body = into_object(parse_json(&ctx.body)?, BodyKind::Create)?;
    let mut owner = None;
    for (k, v) in &body {
        match k.as_str() {
            "appOwnerTenantId" => owner = v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            k if k.starts_with('@') => {}
            other => return Err(ApiError::BadRequest(format!("'{other}' is not a parameter of enable."))),
        }
    }
    let owner = owner.ok_or_else(|| {
        ApiError::InvalidAppOwnerTenantId(
            "appOwnerTenantId, the tenant where the controlling app is registered, is required.".into(),
        )
    })?;
    let state = ctx.store().enable_service(ctx.writer(), &owner).await?;
    let mut m = Map::new();
    m.insert(
        "@odata.context".into(),
        json!(format!("{}/{}/$metadata#microsoft.graph.serviceStatus", ctx.origin, ctx.version.as_str())),
    );
    m.extend(service_status(Some(&state)));
    Ok(crate::json_response(StatusCode::OK, Value::Object(m)))
}
