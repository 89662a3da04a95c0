//! Service apps (the applications registered to control the tenant's backup) and the tenant's
//! `emailNotificationsSetting`. A service app is registered `inactive`; `activate` schedules it to
//! take control at `effectiveDateTime` (`pendingActive` until then, while the app in control is
//! `pendingInactive`); `deactivate` ends its control. Both actions take delegated tokens only.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::policy::stable_guid;
use backstore_domain::RuleError;
use backstore_store::{EmailIdentity, NotificationSettings, ServiceAppRecord};
use serde_json::{Map, Value};

use super::bulk_requests::valid_email;
use super::{collection, entity, page};
use crate::auth::Access;
use crate::body::{into_object, parse_json, BodyKind};
use crate::error::ApiError;
use crate::names::is_odata_type;
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
    let rows = ctx.store().list_service_apps(ctx.tenant(), ctx.query.after, limit + 1).await?;
    let (rows, more_after) = page(rows, limit, |a| a.seq);
    let value = rows.iter().map(|a| Value::Object(app_json(ctx, a))).collect();
    Ok(collection(ctx, SET, value, more_after))
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
    let body = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        into_object(parse_json(&ctx.body)?, BodyKind::Create)?
    };
    let actor = &ctx.principal.actor;
    let (mut app_id, mut app_name) = (actor.application_id.clone(), actor.application_name.clone());
    for (k, v) in &body {
        match k.as_str() {
            "@odata.type" if v.as_str().is_some_and(|t| is_odata_type(t, "serviceApp")) => {}
            "@odata.type" => return Err(ApiError::BadRequest(format!("@odata.type {v} is not a serviceApp."))),
            "application" => match v {
                Value::Null => {}
                Value::Object(o) => {
                    if let Some(id) = o.get("id").and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()) {
                        app_id = id.to_owned();
                        app_name = o.get("displayName").and_then(Value::as_str).map(str::to_owned);
                    }
                }
                _ => return Err(ApiError::BadRequest("'application' must be an identity object.".into())),
            },
            k if k.starts_with('@') => {}
            "id"
            | "status"
            | "registrationDateTime"
            | "effectiveDateTime"
            | "lastModifiedBy"
            | "lastModifiedDateTime"
                if v.is_null() => {}
            "id"
            | "status"
            | "registrationDateTime"
            | "effectiveDateTime"
            | "lastModifiedBy"
            | "lastModifiedDateTime" => return Err(ApiError::BadRequest(format!("'{k}' is read-only."))),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.serviceApp'."
                )))
            }
        }
    }
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
        let body = into_object(parse_json(&ctx.body)?, BodyKind::Create)?;
        let mut effective = None;
        for (k, v) in &body {
            match k.as_str() {
                "effectiveDateTime" => effective = Some(v),
                k if k.starts_with('@') => {}
                other => return Err(ApiError::BadRequest(format!("'{other}' is not a parameter of activate."))),
            }
        }
        let text = effective.and_then(Value::as_str).ok_or_else(|| {
            ApiError::BadRequest("effectiveDateTime, when the app takes control, is required.".into())
        })?;
        let at = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|e| ApiError::BadRequest(format!("effectiveDateTime '{text}' is not a date and time: {e}.")))?
            .with_timezone(&chrono::Utc);
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
const EVENTS: &[&str] = &["none", "restoreAndPolicyUpdates"];
const ROLES: &[&str] = &["none", "globalAdmins", "backupAdmins", "custom", "allAdmins"];

fn notification_json(ctx: &Ctx, settings: &NotificationSettings) -> Map<String, Value> {
    wire::members(&wire::NotificationSetting {
        odata_type: "#microsoft.graph.emailNotificationsSetting",
        id: stable_guid(&format!("emailNotificationsSetting\u{1f}{}", ctx.tenant())),
        settings,
    })
}

/// A flags value (`"globalAdmins,backupAdmins"`) in canonical form; `none` stands alone.
fn flags(v: &Value, property: &str, members: &[&str]) -> Result<String, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "'{property}' must be a string of comma-separated members of: {}.",
            members.join(", ")
        ))
    };
    let text = v.as_str().ok_or_else(bad)?;
    let mut out: Vec<&str> = Vec::new();
    for part in text.split(',').map(str::trim) {
        let member = members.iter().find(|m| m.eq_ignore_ascii_case(part)).ok_or_else(bad)?;
        if !out.contains(member) {
            out.push(member);
        }
    }
    if out.len() > 1 && out.contains(&"none") {
        return Err(ApiError::BadRequest(format!("'{property}': 'none' cannot be combined with other members.")));
    }
    out.sort_by_key(|m| members.iter().position(|x| x == m));
    Ok(out.join(","))
}

fn custom_recipients(v: &Value) -> Result<Vec<EmailIdentity>, ApiError> {
    let bad = |m: String| ApiError::BadRequest(format!("recipients.customRecipients: {m}"));
    let items = v.as_array().ok_or_else(|| bad("must be an array of emailIdentity objects.".into()))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let o = item.as_object().ok_or_else(|| bad("each entry must be an emailIdentity object.".into()))?;
        let (mut email, mut id, mut display_name) = (None, None, None);
        for (k, v) in o {
            match k.as_str() {
                "email" => {
                    let e = v
                        .as_str()
                        .filter(|e| valid_email(e))
                        .ok_or_else(|| bad(format!("{v} is not an e-mail address.")))?;
                    email = Some(e.to_owned());
                }
                "id" if v.is_null() || v.is_string() => id = v.as_str().map(str::to_owned),
                "displayName" if v.is_null() || v.is_string() => display_name = v.as_str().map(str::to_owned),
                k if k.starts_with('@') => {}
                other => return Err(bad(format!("'{other}' is not a property of emailIdentity."))),
            }
        }
        let email = email.ok_or_else(|| bad("each entry needs an 'email'.".into()))?;
        out.push(EmailIdentity { email, id, display_name });
    }
    Ok(out)
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
    let body = into_object(parse_json(&ctx.body)?, BodyKind::Patch)?;
    let mut settings = ctx.store().notification_settings(ctx.tenant()).await?.unwrap_or_default();
    for (k, v) in &body {
        match k.as_str() {
            "isEnabled" => {
                let b = v.as_bool().ok_or_else(|| ApiError::BadRequest("'isEnabled' must be a boolean.".into()))?;
                settings.is_enabled = b;
            }
            "additionalEvents" => settings.additional_events = flags(v, k, EVENTS)?,
            "recipients" => {
                let o = v.as_object().ok_or_else(|| {
                    ApiError::BadRequest("'recipients' must be a notificationRecipients object.".into())
                })?;
                for (rk, rv) in o {
                    match rk.as_str() {
                        "role" => settings.recipients.role = flags(rv, "recipients.role", ROLES)?,
                        "customRecipients" => settings.recipients.custom_recipients = custom_recipients(rv)?,
                        rk if rk.starts_with('@') => {}
                        other => {
                            return Err(ApiError::BadRequest(format!(
                                "'{other}' is not a property of notificationRecipients."
                            )))
                        }
                    }
                }
            }
            "id" if v.is_null() => {}
            k if k.starts_with('@') => {}
            other => {
                return Err(ApiError::BadRequest(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.emailNotificationsSetting'."
                )))
            }
        }
    }
    let has_custom = !settings.recipients.custom_recipients.is_empty();
    let role_custom = settings.recipients.role.split(',').any(|m| m == "custom");
    if has_custom && !role_custom {
        return Err(ApiError::BadRequest(
            "recipients.customRecipients are only notified when recipients.role includes 'custom'.".into(),
        ));
    }
    ctx.store().put_notification_settings(ctx.tenant(), &settings).await?;
    Ok(entity(ctx, StatusCode::OK, &format!("{NOTIFICATION}/$entity"), notification_json(ctx, &settings)))
}
