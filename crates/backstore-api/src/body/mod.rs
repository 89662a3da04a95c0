//! Request bodies → typed inputs, one file per resource (`sessions.rs`, `policies.rs`, …), and the
//! reading they share here: JSON within its nesting limit, an object, an `@odata.type` check, an
//! action without parameters. Everything Graph would refuse is refused before any store call, with
//! the code `docs/api-conventions.md` ("Payloads", "Errors") gives.

use backstore_domain::RuleError;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::names::is_odata_type;

mod artifacts;
mod bulk_requests;
mod granular;
pub mod messages;
mod policies;
mod restore_points;
mod rules;
mod service;
mod service_apps;
mod sessions;
mod unit_jobs;

pub use artifacts::artifact_add;
pub use bulk_requests::bulk_request;
pub use granular::granular_type;
pub use policies::{create_policy, policy_patch, NewPolicy, PolicyPatch};
pub use restore_points::{parse_time, search, Search};
pub use rules::{create_rule, rule_patch};
pub use service::enable;
pub use service_apps::{activation, new_service_app, notification_patch};
pub use sessions::{create_body, patch_body, PatchBody, SESSION_READ_ONLY};
pub use unit_jobs::{exclusion_job, unit_job, NewUnitJob};

/// Which request a body belongs to; it picks the code for a malformed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// POST: `400 BadRequest`
    Create,
    /// PATCH: `400 InvalidPatchRequest`
    Patch,
}

pub(crate) fn malformed(kind: BodyKind, msg: String) -> ApiError {
    match kind {
        BodyKind::Create => ApiError::BadRequest(msg),
        BodyKind::Patch => ApiError::Rule(RuleError::InvalidPatch(msg)),
    }
}

/// How deep arrays and objects may nest in a request body (the deepest Graph body here nests 6).
pub const MAX_JSON_DEPTH: usize = 32;

/// How deep a JSON text nests, by its brackets outside strings (without parsing it).
fn nesting(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parses a JSON body. Anything that is not JSON (the doc pages' `//` comments included) is a 400,
/// and so is JSON nested deeper than [`MAX_JSON_DEPTH`].
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if nesting(body) > MAX_JSON_DEPTH {
        return Err(ApiError::BadRequest(format!(
            "The request body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels."
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"
        ))
    })
}

pub fn into_object(v: Value, kind: BodyKind) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(malformed(kind, format!("The request body must be a JSON object, not {}.", json_kind(&other)))),
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A body for `activate`: none, or an empty object.
pub fn empty_action_body(body: &[u8], action: &str) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let obj = into_object(parse_json(body)?, BodyKind::Create)?;
    match obj.keys().find(|k| !k.starts_with('@')) {
        Some(k) => Err(ApiError::BadRequest(format!("The action '{action}' takes no parameters; got '{k}'."))),
        None => Ok(()),
    }
}

/// Checks an `@odata.type` annotation against the types the position allows.
pub(crate) fn check_type(value: &Value, allowed: &[&str], kind: BodyKind) -> Result<(), ApiError> {
    match value.as_str() {
        Some(t) if allowed.iter().any(|a| is_odata_type(t, a)) => Ok(()),
        _ => Err(malformed(
            kind,
            format!("The @odata.type {value} does not match the expected type '#microsoft.graph.{}'.", allowed[0]),
        )),
    }
}

/// An array of strings (`null` is none); anything else is `bad()`.
pub(crate) fn strings(v: &Value, bad: impl Fn() -> ApiError) -> Result<Vec<String>, ApiError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(&bad)).collect(),
        _ => Err(bad()),
    }
}

pub(crate) fn valid_email(s: &str) -> bool {
    let mut parts = s.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(local), Some(domain), None)
        if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'))
        && !s.chars().any(char::is_whitespace)
}

pub(crate) fn valid_site_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")) else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    !host.is_empty() && host.contains('.') && !s.chars().any(char::is_whitespace)
}
