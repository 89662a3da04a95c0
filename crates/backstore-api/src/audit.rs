//! The audit trail: one record per write request (POST, PATCH, PUT, DELETE) — when, which tenant,
//! which caller, the request id, what was asked (method, path, body) and what came of it (status,
//! the id of what was created or changed). Records go to the log (target `backstore::audit`) and,
//! when configured, to a JSON-lines file.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use axum::http::Method;
use serde_json::Value;

use crate::auth::Principal;

/// The most bytes of a request body a record keeps.
pub const MAX_RECORDED_BODY: usize = 4096;

#[derive(Default)]
pub struct AuditLog {
    file: Option<Mutex<std::fs::File>>,
}

/// What one request leaves for its audit record.
#[derive(Default)]
pub struct Trail {
    pub principal: Option<Principal>,
    pub body: Option<axum::body::Bytes>,
}

/// Whether requests of `method` are audited.
pub fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE)
}

impl AuditLog {
    /// Also appends every record to `path` (created if missing, mode 0600).
    pub fn to_file(path: &Path) -> std::io::Result<AuditLog> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        Ok(AuditLog { file: Some(Mutex::new(options.open(path)?)) })
    }

    /// The record of one write request.
    pub fn record(&self, entry: Entry<'_>) {
        let principal = entry.trail.principal.as_ref();
        let record = Record {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            request_id: entry.request_id,
            tenant: principal.map(|p| p.tenant.as_str()),
            caller: principal.map(|p| Caller {
                application_id: &p.actor.application_id,
                application_name: p.actor.application_name.as_deref(),
                user_id: p.actor.user_id.as_deref(),
                user_name: p.actor.user_name.as_deref(),
            }),
            method: entry.method.as_str(),
            path: entry.path,
            status: entry.status,
            request: entry.trail.body.as_ref().filter(|b| !b.is_empty()).map(|b| recorded_body(b)),
            result_id: entry.result_id.as_deref(),
        };
        let mut line = serde_json::to_string(&record).expect("a record serializes");
        tracing::info!(target: "backstore::audit", record = %line, "write");
        if let Some(file) = &self.file {
            // One write of the whole line: formatting straight into the file made a system call per
            // fragment (a sixth of a create's time), and lines of processes sharing the file could
            // interleave; an `O_APPEND` write of one buffer lands whole.
            line.push('\n');
            let mut f = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Err(e) = f.write_all(line.as_bytes()) {
                tracing::error!(error = %e, "cannot append to the audit log");
            }
        }
    }
}

/// One line of the audit trail, its fields in this order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    at: String,
    request_id: &'a str,
    tenant: Option<&'a str>,
    caller: Option<Caller<'a>>,
    method: &'a str,
    path: &'a str,
    status: u16,
    request: Option<Body<'a>>,
    result_id: Option<&'a str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Caller<'a> {
    application_id: &'a str,
    application_name: Option<&'a str>,
    user_id: Option<&'a str>,
    user_name: Option<&'a str>,
}

/// A request body as its record keeps it.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Body<'a> {
    /// JSON on one line, kept as the client wrote it (checked, not rebuilt: rebuilding the tree
    /// of a create of 50 was a twentieth of its time).
    Raw(&'a serde_json::value::RawValue),
    /// JSON over several lines, which a JSON-lines record cannot hold as written.
    Parsed(Value),
    /// Anything else, or the first [`MAX_RECORDED_BODY`] bytes of a longer body, as text.
    Text(String),
}

fn recorded_body(b: &[u8]) -> Body<'_> {
    if b.len() > MAX_RECORDED_BODY {
        return Body::Text(format!("{}… ({} bytes)", String::from_utf8_lossy(&b[..MAX_RECORDED_BODY]), b.len()));
    }
    let one_line = !b.iter().any(|c| *c == b'\n' || *c == b'\r');
    if one_line {
        if let Ok(raw) = serde_json::from_slice::<&serde_json::value::RawValue>(b) {
            return Body::Raw(raw);
        }
    }
    match serde_json::from_slice(b) {
        Ok(v) => Body::Parsed(v),
        Err(_) => Body::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

/// One write request, as its record needs it.
pub struct Entry<'a> {
    pub request_id: &'a str,
    pub method: &'a Method,
    pub path: &'a str,
    pub status: u16,
    pub trail: &'a Trail,
    /// The `id` of the entity the response carries (what was created or changed), if any.
    pub result_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(body: &[u8]) -> String {
        serde_json::to_string(&recorded_body(body)).unwrap()
    }

    #[test]
    fn a_body_is_kept_as_written_when_it_fits_one_line_and_rebuilt_or_quoted_otherwise() {
        assert_eq!(line_of(br#"{"b": 1,  "a":[true]}"#), r#"{"b": 1,  "a":[true]}"#);
        assert_eq!(line_of(b"{\n  \"b\": 1,\r\n  \"a\": [true]\n}"), r#"{"b":1,"a":[true]}"#);
        assert_eq!(line_of(b"not json\nat all"), r#""not json\nat all""#);
        assert_eq!(line_of(br#"{"a": 1} trailing"#), r#""{\"a\": 1} trailing""#);
        let long = format!(r#"{{"s":"{}"}}"#, "x".repeat(MAX_RECORDED_BODY));
        let kept: String = serde_json::from_str(&line_of(long.as_bytes())).unwrap();
        assert!(kept.ends_with(&format!("… ({} bytes)", long.len())), "{kept}");
    }
}
