//! The audit trail: one record per write request (POST, PATCH, PUT, DELETE) — when, which tenant,
//! which caller, the request id, what was asked (method, path, body) and what came of it (status,
//! the id of what was created or changed). Records go to the log (target `backstore::audit`) and,
//! when configured, to a JSON-lines file.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use axum::http::Method;
use serde_json::{json, Value};

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
        let caller = entry.trail.principal.as_ref().map(|p| {
            json!({
                "applicationId": p.actor.application_id,
                "applicationName": p.actor.application_name,
                "userId": p.actor.user_id,
                "userName": p.actor.user_name,
            })
        });
        let body = entry.trail.body.as_ref().filter(|b| !b.is_empty()).map(|b| {
            if b.len() > MAX_RECORDED_BODY {
                Value::String(format!("{}… ({} bytes)", String::from_utf8_lossy(&b[..MAX_RECORDED_BODY]), b.len()))
            } else {
                serde_json::from_slice(b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned()))
            }
        });
        let record = json!({
            "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "requestId": entry.request_id,
            "tenant": entry.trail.principal.as_ref().map(|p| &p.tenant),
            "caller": caller,
            "method": entry.method.as_str(),
            "path": entry.path,
            "status": entry.status,
            "request": body,
            "resultId": entry.result_id,
        });
        let mut line = record.to_string();
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
