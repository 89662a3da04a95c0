//! Restore artifact bulk addition request bodies.

use backstore_domain::{DestinationType, RestorePointTags, RuleError, Workload};
use backstore_store::BulkRequestSpec;
use serde_json::Value;

use super::{into_object, parse_json, strings, valid_email, valid_site_url, BodyKind};
use crate::error::ApiError;
use crate::names::{is_odata_type, names};

/// Most resources one request may name (sites or users).
const MAX_RESOURCES: usize = 10_000;

fn invalid(message: &str) -> ApiError {
    ApiError::Rule(RuleError::InvalidBulkRequest(message.to_owned()))
}

fn time(v: &Value) -> Result<Option<backstore_domain::Timestamp>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&chrono::Utc)))
            .map_err(|_| invalid(&format!("'{s}' is not an ISO 8601 date and time."))),
        _ => Err(invalid("protectionTimePeriod dates must be strings.")),
    }
}

/// The body of a create: what the request asks for, refused as the service refuses it.
pub fn bulk_request(body: &[u8], w: Workload) -> Result<BulkRequestSpec, ApiError> {
    let n = names(w);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("BulkRestoreCreateRequest is null."));
    }
    let obj = into_object(parse_json(body)?, BodyKind::Create)?;
    if obj.is_empty() {
        return Err(invalid("BulkRestoreCreateRequest is null."));
    }
    let mut spec = BulkRequestSpec {
        display_name: None,
        destination: DestinationType::New,
        period_start: None,
        period_end: None,
        latest: true,
        tags: None,
        addresses: Vec::new(),
        object_ids: Vec::new(),
    };
    let mut destination = None;
    for (k, v) in &obj {
        match k.as_str() {
            "@odata.type" => {
                if !v.as_str().is_some_and(|t| is_odata_type(t, n.bulk_type)) {
                    return Err(invalid(&format!("The @odata.type {v} is not '#microsoft.graph.{}'.", n.bulk_type)));
                }
            }
            "displayName" => spec.display_name = v.as_str().map(str::to_owned),
            "destinationType" => destination = Some(v),
            "protectionTimePeriod" if v.is_null() => {}
            "protectionTimePeriod" => {
                let p = v.as_object().ok_or_else(|| invalid("protectionTimePeriod must be an object."))?;
                spec.period_start = time(p.get("startDateTime").unwrap_or(&Value::Null))?;
                spec.period_end = time(p.get("endDateTime").unwrap_or(&Value::Null))?;
            }
            "restorePointPreference" => match v.as_str() {
                None if v.is_null() => {}
                Some(s) if s.eq_ignore_ascii_case("latest") => spec.latest = true,
                Some(s) if s.eq_ignore_ascii_case("oldest") => spec.latest = false,
                _ => return Err(invalid(&format!("{v} is not a restorePointPreference (latest, oldest)."))),
            },
            "tags" => match v.as_str() {
                None if v.is_null() => {}
                Some(s) => match RestorePointTags::parse(s) {
                    Some(RestorePointTags::None) => {}
                    Some(t) => spec.tags = Some(t),
                    None => {
                        return Err(invalid(&format!("'{s}' is not a restorePointTags value (none, fastRestore).")))
                    }
                },
                None => return Err(invalid("tags must be a string.")),
            },
            "protectionUnitIds" if v.is_null() || v.as_array().is_some_and(Vec::is_empty) => {}
            "protectionUnitIds" => {
                return Err(invalid("protectionUnitIds is not supported: name mailboxes, drives or sites."))
            }
            k if k == n.bulk_addresses => {
                spec.addresses = strings(v, || invalid(&format!("{} must be an array of strings.", k)))?
            }
            k if k == n.bulk_ids => {
                spec.object_ids = strings(v, || invalid(&format!("{} must be an array of strings.", k)))?
            }
            k if SERVER_MANAGED.contains(&k) => {
                if !v.is_null() {
                    return Err(invalid(&format!("Property '{k}' is read-only and cannot be set.")));
                }
            }
            k if k.starts_with('@') => {}
            other => {
                return Err(invalid(&format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.{}'.",
                    n.bulk_type
                )))
            }
        }
    }
    spec.destination = match destination.and_then(Value::as_str) {
        Some(s) => DestinationType::parse(s)
            .ok_or_else(|| RuleError::InvalidDestination(format!("'{s}' is not one of new, inPlace.")))?,
        None => return Err(RuleError::InvalidDestination("destinationType is required.".into()).into()),
    };
    if let (Some(a), Some(b)) = (spec.period_start, spec.period_end) {
        if a > b {
            return Err(invalid("the protectionTimePeriod ends before it starts."));
        }
    }
    let count = spec.addresses.len() + spec.object_ids.len();
    if count == 0 {
        return Err(invalid(&format!("Name at least one resource in {} or {}.", n.bulk_addresses, n.bulk_ids)));
    }
    if count > MAX_RESOURCES {
        return Err(ApiError::BulkResourcesLimit(MAX_RESOURCES));
    }
    for a in &spec.addresses {
        match w {
            Workload::SharePoint if !valid_site_url(a) => return Err(ApiError::BulkInvalidSiteUrl(a.clone())),
            Workload::Exchange | Workload::OneDrive if !valid_email(a) => {
                return Err(ApiError::BulkInvalidEmail(a.clone()))
            }
            _ => {}
        }
    }
    if let Some(empty) = spec.object_ids.iter().find(|i| i.trim().is_empty()) {
        return Err(invalid(&format!("'{empty}' is not an id.")));
    }
    Ok(spec)
}

const SERVER_MANAGED: &[&str] =
    &["id", "status", "createdDateTime", "createdBy", "lastModifiedDateTime", "lastModifiedBy", "error"];
