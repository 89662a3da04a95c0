//! The body of `restorePoints/search`.

use backstore_domain::mail_query::{self, Query};
use backstore_domain::{RestorePointTags, Timestamp};
use serde_json::Value;

use super::{into_object, parse_json, BodyKind};
use crate::error::ApiError;

/// Most protection units one search names.
const SEARCH_UNITS: usize = 20;

/// The body of `restorePoints/search`.
pub struct Search {
    pub unit_ids: Vec<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub latest: bool,
    pub tags: Option<RestorePointTags>,
    pub policy_id: Option<String>,
    /// A granular mail search: the query as sent and as parsed.
    pub artifact_query: Option<(String, Query)>,
}

pub fn search(body: &[u8]) -> Result<Search, ApiError> {
    let obj = into_object(parse_json(body)?, BodyKind::Create)?;
    let invalid = |m: &str| ApiError::InvalidSearchRequest(m.to_owned());
    let mut search = Search {
        unit_ids: Vec::new(),
        from: None,
        to: None,
        latest: true,
        tags: None,
        policy_id: None,
        artifact_query: None,
    };
    let mut has_period = false;
    for (k, v) in &obj {
        match k.as_str() {
            "protectionUnitIds" => {
                let ids = v.as_array().ok_or_else(|| invalid("protectionUnitIds must be an array of ids."))?;
                for id in ids {
                    match id.as_str() {
                        Some(s) if !s.trim().is_empty() => search.unit_ids.push(s.to_owned()),
                        _ => {
                            return Err(ApiError::InvalidProtectionUnitId(format!("{id} is not a protection unit id.")))
                        }
                    }
                }
            }
            "protectionTimePeriod" => {
                let period = v.as_object().ok_or_else(|| invalid("protectionTimePeriod must be an object."))?;
                for (pk, pv) in period {
                    let t = match pv {
                        Value::Null => None,
                        Value::String(s) => Some(parse_time(s)?),
                        _ => return Err(invalid("the dates of protectionTimePeriod must be strings.")),
                    };
                    match pk.as_str() {
                        "startDateTime" => search.from = t,
                        "endDateTime" => search.to = t,
                        k if k.starts_with('@') => {}
                        other => {
                            return Err(ApiError::BadRequest(format!(
                                "Property '{other}' does not exist on type 'microsoft.graph.timePeriod'."
                            )))
                        }
                    }
                }
                has_period = true;
            }
            "restorePointPreference" => match v.as_str() {
                Some(s) if s.eq_ignore_ascii_case("latest") => search.latest = true,
                Some(s) if s.eq_ignore_ascii_case("oldest") => search.latest = false,
                None if v.is_null() => {}
                _ => {
                    return Err(ApiError::BadRequest(format!("{v} is not a restorePointPreference (latest, oldest).")))
                }
            },
            "tags" => match v.as_str() {
                Some(s) => match RestorePointTags::parse(s) {
                    Some(RestorePointTags::None) => {}
                    Some(t) => search.tags = Some(t),
                    None => {
                        return Err(ApiError::BadRequest(format!(
                            "'{s}' is not a restorePointTags value (none, fastRestore)."
                        )))
                    }
                },
                None if v.is_null() => {}
                None => return Err(ApiError::BadRequest("tags must be a string.".into())),
            },
            "policyId" => search.policy_id = v.as_str().map(str::to_owned),
            "artifactQuery" if v.is_null() => {}
            "artifactQuery" => search.artifact_query = Some(artifact_query(v)?),
            k if k.starts_with('@') => {}
            other => {
                return Err(ApiError::BadRequest(format!("'{other}' is not a parameter of restorePoints/search.")))
            }
        }
    }
    if search.unit_ids.is_empty() {
        return Err(invalid("protectionUnitIds must name at least one protection unit."));
    }
    if search.unit_ids.len() > SEARCH_UNITS {
        return Err(invalid(&format!("at most {SEARCH_UNITS} protection units can be searched at once.")));
    }
    if !has_period || (search.from.is_none() && search.to.is_none()) {
        return Err(invalid("protectionTimePeriod with a startDateTime or an endDateTime is required."));
    }
    if search.artifact_query.is_some() && search.unit_ids.len() != 1 {
        return Err(invalid("a search with an artifactQuery names exactly one mailbox protection unit."));
    }
    if let (Some(f), Some(t)) = (search.from, search.to) {
        if f > t {
            return Err(invalid("the protectionTimePeriod ends before it starts."));
        }
    }
    Ok(search)
}

/// `artifactQuery`: `{artifactType: "message", queryExpression}` or (beta) `structuredQueryExpression`.
fn artifact_query(v: &Value) -> Result<(String, Query), ApiError> {
    let invalid = |m: String| ApiError::InvalidSearchRequest(m);
    let obj = v.as_object().ok_or_else(|| invalid("artifactQuery must be an object.".into()))?;
    let mut found = None;
    for (k, v) in obj {
        match k.as_str() {
            "artifactType" => match v.as_str() {
                Some(t) if t.eq_ignore_ascii_case("message") => {}
                None if v.is_null() => {}
                _ => return Err(invalid(format!("{v} is not a restorableArtifact: only message can be searched."))),
            },
            "queryExpression" if v.is_null() => {}
            "queryExpression" => {
                let text = v.as_str().ok_or_else(|| invalid("queryExpression must be a string.".into()))?;
                let q =
                    mail_query::parse(text).map_err(|e| invalid(format!("The queryExpression is not valid: {e}.")))?;
                found = Some((text.to_owned(), q));
            }
            "structuredQueryExpression" if v.is_null() => {}
            "structuredQueryExpression" => found = Some((v.to_string(), structured(v)?)),
            k if k.starts_with('@') => {}
            other => return Err(invalid(format!("'{other}' is not a member of artifactQuery."))),
        }
    }
    found.ok_or_else(|| invalid("artifactQuery needs a queryExpression or a structuredQueryExpression.".into()))
}

fn structured(v: &Value) -> Result<Query, ApiError> {
    let invalid = |m: String| ApiError::InvalidSearchRequest(m);
    let obj = v.as_object().ok_or_else(|| invalid("structuredQueryExpression must be an object.".into()))?;
    let list = |k: &str| -> Result<Vec<String>, ApiError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| invalid(format!("'{k}' holds strings."))))
                .collect(),
            Some(_) => Err(invalid(format!("'{k}' must be an array of strings."))),
        }
    };
    for k in obj.keys() {
        if !["senders", "subjects", "recipients", "hasAttachment", "items"].contains(&k.as_str()) && !k.starts_with('@')
        {
            return Err(invalid(format!("'{k}' is not a member of restoreSearchArtifactQueryExpression.")));
        }
    }
    let has_attachment = match obj.get("hasAttachment") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(invalid("hasAttachment must be true or false.".into())),
    };
    let items = list("items")?;
    for i in &items {
        if !["email", "calendar", "contact", "note", "task"].iter().any(|k| k.eq_ignore_ascii_case(i)) {
            return Err(invalid(format!(
                "'{i}' is not a granularRestoreItems value (email, calendar, contact, note, task)."
            )));
        }
    }
    Ok(Query::structured(&list("senders")?, &list("subjects")?, &list("recipients")?, has_attachment, &items))
}

/// A date and time a client sent, quoted or not.
pub fn parse_time(value: &str) -> Result<Timestamp, ApiError> {
    let v = value.trim().trim_matches('\'');
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| ApiError::InvalidSearchRequest(format!("'{v}' is not an ISO 8601 date and time.")))
}
