//! Service app bodies (register, `activate`) and the e-mail notification setting's PATCH.

use backstore_domain::{Actor, Timestamp};
use backstore_store::{EmailIdentity, NotificationSettings};
use serde_json::{Map, Value};

use super::{into_object, parse_json, valid_email, BodyKind};
use crate::error::ApiError;
use crate::names::is_odata_type;

const EVENTS: &[&str] = &["none", "restoreAndPolicyUpdates"];
const ROLES: &[&str] = &["none", "globalAdmins", "backupAdmins", "custom", "allAdmins"];

/// The application to register: the one named in `application`, or the caller's own.
pub fn new_service_app(body: &[u8], caller: &Actor) -> Result<(String, Option<String>), ApiError> {
    let obj = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        into_object(parse_json(body)?, BodyKind::Create)?
    };
    let (mut app_id, mut app_name) = (caller.application_id.clone(), caller.application_name.clone());
    for (k, v) in &obj {
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
    Ok((app_id, app_name))
}

/// When an `activate` makes the app take control (`effectiveDateTime`, required).
pub fn activation(body: &[u8]) -> Result<Timestamp, ApiError> {
    let obj = into_object(parse_json(body)?, BodyKind::Create)?;
    let mut effective = None;
    for (k, v) in &obj {
        match k.as_str() {
            "effectiveDateTime" => effective = Some(v),
            k if k.starts_with('@') => {}
            other => return Err(ApiError::BadRequest(format!("'{other}' is not a parameter of activate."))),
        }
    }
    let text = effective
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("effectiveDateTime, when the app takes control, is required.".into()))?;
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| ApiError::BadRequest(format!("effectiveDateTime '{text}' is not a date and time: {e}.")))?
        .with_timezone(&chrono::Utc);
    Ok(at)
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

/// `settings` with the members a PATCH sends merged in; every member is checked before any is kept.
pub fn notification_patch(body: &[u8], mut settings: NotificationSettings) -> Result<NotificationSettings, ApiError> {
    let obj = into_object(parse_json(body)?, BodyKind::Patch)?;
    for (k, v) in &obj {
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
    Ok(settings)
}
