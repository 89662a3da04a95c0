//! Service apps (the applications registered to control the tenant's backup) and the tenant's
//! `emailNotificationsSetting`. A service app is registered `inactive`; `activate` schedules it to
//! take control at `effectiveDateTime` (`pendingActive` until then, while the app in control is
//! `pendingInactive`); `deactivate` ends its control. Both actions take delegated tokens only.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::policy::stable_guid;
use backstore_domain::RuleError;
use backstore_store::{NotificationSettings, ServiceAppRecord};
use serde_json::{Map, Value};

use super::{counted_collection, entity, page};
use crate::auth::Access;
use crate::error::ApiError;
use crate::wire;
use crate::Ctx;

const SET: &str = "serviceApps";

fn app_json(ctx: &Ctx, a: &ServiceAppRecord) -> Map<String, Value> {
    wire::members(&wire::ServiceApp::new(a, ctx.state.inner.clock.now()))
}

fn with_location(r: Response, ctx: &Ctx, id: &str) -> Response {
    super::locate(r, &format!("{}/{SET}/{id}", ctx.service_url()), &[header::CONTENT_LOCATION, header::LOCATION])
}

pub(super) async fn list_apps(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlRead)?;
    let limit = ctx.query.page_size();
    let count = super::inline_count(ctx, crate::path::CountOf::ServiceApps).await?;
    let rows = ctx.store().list_service_apps(ctx.tenant(), ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |a| a.seq);
    let value = rows.iter().map(|a| Value::Object(app_json(ctx, a))).collect();
    Ok(counted_collection(ctx, SET, value, more_after, count))
}

async fn load(ctx: &Ctx, id: &str) -> Result<ServiceAppRecord, ApiError> {
    Ok(ctx.store().get_service_app(ctx.tenant(), id).await?.ok_or(RuleError::ServiceAppNotFound)?)
}

pub(super) async fn get_app(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlRead)?;
    ctx.query.for_entity()?;
    let app = load(ctx, id).await?;
    Ok(entity(ctx, StatusCode::OK, &format!("{SET}/$entity"), app_json(ctx, &app)))
}

/// Registers the calling application, or the one named in `application`.
pub(super) async fn create_app(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlWrite)?;
    let (app_id, app_name) = crate::body::new_service_app(&ctx.body, &ctx.principal.actor)?;
    let app = ctx.store().create_service_app(ctx.writer(), &app_id, app_name.as_deref()).await?;
    let r = entity(ctx, StatusCode::CREATED, &format!("{SET}/$entity"), app_json(ctx, &app));
    Ok(with_location(r, ctx, &app.id))
}

pub(super) async fn delete_app(ctx: &Ctx, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlWrite)?;
    ctx.store().delete_service_app(ctx.tenant(), id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn app_action(ctx: &Ctx, id: &str, activate: bool) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlWrite)?;
    let app = if activate {
        ctx.principal.require_delegated("activate")?;
        let at = crate::body::activation(&ctx.body)?;
        ctx.store().activate_service_app(ctx.writer(), id, at).await?
    } else {
        ctx.principal.require_delegated("deactivate")?;
        crate::body::empty_action_body(&ctx.body, "deactivate")?;
        ctx.store().deactivate_service_app(ctx.writer(), id).await?
    };
    let r = entity(ctx, StatusCode::ACCEPTED, &format!("{SET}/$entity"), app_json(ctx, &app));
    Ok(with_location(r, ctx, &app.id))
}

// ---- emailNotificationsSetting ----

const NOTIFICATION: &str = "emailNotificationsSetting";
fn notification_json(ctx: &Ctx, settings: &NotificationSettings) -> Map<String, Value> {
    wire::members(&wire::NotificationSetting {
        odata_type: "#microsoft.graph.emailNotificationsSetting",
        id: stable_guid(&format!("emailNotificationsSetting\u{1f}{}", ctx.tenant())),
        settings,
    })
}

pub(super) async fn get_notifications(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlRead)?;
    ctx.query.for_entity()?;
    let settings = ctx.store().notification_settings(ctx.tenant()).await?.unwrap_or_default();
    Ok(entity(ctx, StatusCode::OK, &format!("{NOTIFICATION}/$entity"), notification_json(ctx, &settings)))
}

/// Merges the members sent into the stored setting; everything is checked before anything is kept.
pub(super) async fn update_notifications(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::ControlWrite)?;
    let current = ctx.store().notification_settings(ctx.tenant()).await?.unwrap_or_default();
    let settings = crate::body::notification_patch(&ctx.body, current)?;
    ctx.store().put_notification_settings(ctx.tenant(), &settings).await?;
    Ok(entity(ctx, StatusCode::OK, &format!("{NOTIFICATION}/$entity"), notification_json(ctx, &settings)))
}
