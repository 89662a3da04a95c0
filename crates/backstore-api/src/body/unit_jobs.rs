//! Protection unit and (beta) exclusion unit bulk addition job bodies.

use backstore_domain::policy::MAX_BULK_JOB_RESOURCES;
use backstore_domain::{RuleError, Workload};
use serde_json::Value;

use super::{parse_json, strings, valid_email, valid_site_url};
use crate::error::ApiError;
use crate::names::names;

/// What a bulk addition job asks for: a name, and the resources by address and by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnitJob {
    pub display_name: Option<String>,
    pub addresses: Vec<String>,
    pub object_ids: Vec<String>,
}

fn invalid(msg: String) -> ApiError {
    ApiError::Rule(RuleError::InvalidCreateRequest(msg))
}

/// Trimmed strings of an array member `name`.
fn trimmed(v: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    let all = strings(v, || invalid(format!("'{name}' must be an array of strings.")))?;
    Ok(all.into_iter().map(|s| s.trim().to_owned()).collect())
}

/// The body of a create on the `w` bulk job set.
pub fn unit_job(body: &[u8], w: Workload) -> Result<NewUnitJob, ApiError> {
    let n = names(w);
    let obj = match parse_json(body)? {
        Value::Object(m) => m,
        _ => return Err(invalid("The request body must be a bulk addition job object.".into())),
    };
    let (mut name, mut addresses, mut ids) = (None, Vec::new(), Vec::new());
    for (k, v) in &obj {
        match k.as_str() {
            "displayName" => name = v.as_str().map(str::to_owned),
            k if k == n.bulk_addresses => addresses = trimmed(v, k)?,
            k if k == n.bulk_ids => ids = trimmed(v, k)?,
            k if k.starts_with('@') => {}
            other => {
                return Err(invalid(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.{}'.",
                    crate::wire::job_type(w)
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
    Ok(NewUnitJob { display_name: name, addresses, object_ids: ids })
}

/// beta: the body of a create on the `w` exclusion bulk job set: a name and the resources by
/// address (`siteWebUrls`, `drives`, `mailboxes`).
pub fn exclusion_job(body: &[u8], w: Workload) -> Result<(Option<String>, Vec<String>), ApiError> {
    let n = names(w);
    let obj = match parse_json(body)? {
        Value::Object(m) => m,
        _ => return Err(invalid("The request body must be a bulk addition job object.".into())),
    };
    let (mut name, mut addresses) = (None, Vec::new());
    for (k, v) in &obj {
        match k.as_str() {
            "displayName" => name = v.as_str().map(str::to_owned),
            k if k == n.bulk_addresses => addresses = trimmed(v, k)?,
            k if k.starts_with('@') => {}
            other => {
                return Err(invalid(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.{}'.",
                    crate::wire::exclusion_job_type(w)
                )))
            }
        }
    }
    if addresses.is_empty() {
        return Err(invalid(format!("Name at least one resource in '{}'.", n.bulk_addresses)));
    }
    if addresses.len() > MAX_BULK_JOB_RESOURCES {
        return Err(invalid(format!("At most {MAX_BULK_JOB_RESOURCES} resources per bulk addition job.")));
    }
    for a in &addresses {
        let ok = if w == Workload::SharePoint { valid_site_url(a) } else { valid_email(a) };
        if !ok {
            return Err(invalid(format!("'{a}' is not a valid entry of '{}'.", n.bulk_addresses)));
        }
    }
    Ok((name, addresses))
}
