//! Endpoints for operators and test harnesses, outside Graph's surface:
//! - `GET /admin/clock` tells the server time; `POST /admin/clock/advance` with `{"by": "15d"}` moves
//!   it forward (for every process on the database). Control.Read / Control.ReadWrite.
//! - `POST /admin/service` with `{"status": "restoreLocked"}` sets the caller's tenant's service
//!   status as Microsoft would (`enabled`, `disabled`, `protectionChangeLocked`, `restoreLocked`).
//!   Control.ReadWrite.
//! - `POST /admin/directory` with `{"resources": [...]}` makes sites, mailboxes and OneDrives exist
//!   in the caller's tenant (what SharePoint and Entra ID hold in the real world), for policies,
//!   rules and bulk jobs to find. Configuration.ReadWrite.
//! - `GET /admin/restoreSessions/{id}/proofs` tells, per artifact of a session that restored
//!   content, the root (or, for a mailbox, the digest) of what it wrote beside the restore point's,
//!   whether they are equal, and what it wrote (`backstore sessions verify`). RestoreRead.
//! - `POST /admin/tenants/{id}/reset` empties the caller's tenant, every other tenant untouched.
//!   Control.ReadWrite.
//! - `GET /admin/restoreSessions/{id}/progress` tells, per artifact restoring content and for the
//!   session, items and bytes written so far of how many, the rate and the time left by the
//!   engine's pace (`backstore sessions watch`). RestoreRead.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use backstore_api::auth::{authenticate_local, Access, Principal, SigningKey};
use backstore_api::error::ApiError;
use backstore_domain::restore::Resource;
use backstore_domain::Workload;
use backstore_store::sql::restore_proofs::RestoreProof;
use backstore_store::{Clock, DirectoryResource, Store, Writer};
use serde_json::{json, Value};

#[derive(Clone)]
struct Admin {
    store: Arc<Store>,
    clock: Clock,
    key: SigningKey,
}

pub fn router(store: Arc<Store>, clock: Clock, key: SigningKey) -> Router {
    Router::new()
        .route("/admin/clock", get(show_clock))
        .route("/admin/clock/advance", post(advance_clock))
        .route("/admin/service", post(set_service))
        .route("/admin/directory", post(add_directory))
        .route("/admin/restoreSessions/{id}/proofs", get(session_proofs))
        .route("/admin/restoreSessions/{id}/progress", get(session_progress))
        .route("/admin/tenants/{id}/reset", post(reset_tenant))
        .with_state(Admin { store, clock, key })
}

/// The server time as the clock commands print it.
pub fn clock_json(clock: &Clock) -> Value {
    json!({
        "now": clock.now().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "offsetSeconds": clock.offset_micros() / 1_000_000,
    })
}

pub(crate) fn respond(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(body) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response(),
        Err(e) => {
            if let ApiError::Internal(cause) = &e {
                tracing::error!(cause = %cause, "admin request failed");
            }
            backstore_api::error_response(&e, &uuid::Uuid::new_v4().to_string(), None)
        }
    }
}

pub(crate) fn authorize(key: &SigningKey, headers: &HeaderMap, access: Access) -> Result<Principal, ApiError> {
    let principal = authenticate_local(key, headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()))?;
    principal.require(access)?;
    Ok(principal)
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("The body is not JSON: {e}")))
}

async fn show_clock(State(admin): State<Admin>, headers: HeaderMap) -> Response {
    respond(authorize(&admin.key, &headers, Access::ControlRead).map(|_| clock_json(&admin.clock)))
}

async fn advance_clock(State(admin): State<Admin>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        authorize(&admin.key, &headers, Access::ControlWrite)?;
        let v = json_body(&body)?;
        let by = v["by"].as_str().ok_or_else(|| {
            ApiError::BadRequest("Send {\"by\": \"<duration>\"}, for example {\"by\": \"15d\"}.".into())
        })?;
        let d = humantime::parse_duration(by)
            .map_err(|e| ApiError::BadRequest(format!("'{by}' is not a duration: {e}")))?;
        let micros = i64::try_from(d.as_micros()).map_err(|_| ApiError::BadRequest(format!("'{by}' is too long.")))?;
        let offset = admin.store.advance_clock(micros).await?;
        admin.clock.catch_up(offset);
        Ok(clock_json(&admin.clock))
    }
    .await;
    respond(result)
}

/// `POST /admin/tenants/{id}/reset`: empties the caller's own tenant (every other tenant is left
/// as it is); `{"tenantId", "removedRows"}`.
async fn reset_tenant(State(admin): State<Admin>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        let principal = authorize(&admin.key, &headers, Access::ControlWrite)?;
        if principal.tenant != id {
            return Err(ApiError::AccessDenied(format!(
                "A token of tenant '{}' cannot reset tenant '{id}'.",
                principal.tenant
            )));
        }
        let removed = admin.store.reset_tenant(&id).await?;
        Ok(json!({ "tenantId": id, "removedRows": removed }))
    }
    .await;
    respond(result)
}

const SERVICE_STATUSES: &[&str] = &["enabled", "disabled", "protectionChangeLocked", "restoreLocked"];

async fn set_service(State(admin): State<Admin>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let principal = authorize(&admin.key, &headers, Access::ControlWrite)?;
        let v = json_body(&body)?;
        let status = v["status"].as_str().and_then(|s| SERVICE_STATUSES.iter().find(|x| x.eq_ignore_ascii_case(s)));
        let status = status.ok_or_else(|| {
            ApiError::BadRequest(format!("Send {{\"status\": \"...\"}}, one of: {}.", SERVICE_STATUSES.join(", ")))
        })?;
        let w = Writer { tenant: &principal.tenant, actor: &principal.actor, now: admin.clock.now() };
        let state = admin.store.set_service_status(w, status).await?.ok_or(ApiError::ServiceNotEnabled)?;
        Ok(Value::Object(backstore_api::wire::members(&backstore_api::wire::ServiceStatus::new(Some(&state)))))
    }
    .await;
    respond(result)
}

fn text(o: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(other) => Err(ApiError::BadRequest(format!("'{key}' must be a non-empty string, not {other}."))),
    }
}

/// One entry of `resources`: `{"kind": "site", "siteId", "siteName", "webUrl"}` or
/// `{"kind": "mailbox" | "drive", "directoryObjectId", "displayName", "email", "groups": [...]}`.
fn resource(v: &Value) -> Result<DirectoryResource, ApiError> {
    let o = v.as_object().ok_or_else(|| ApiError::BadRequest("Each resource must be an object.".into()))?;
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default();
    let workload = Workload::ALL
        .into_iter()
        .find(|w| w.unit_kind() == kind)
        .ok_or_else(|| ApiError::BadRequest(format!("'kind' must be site, mailbox or drive, not '{kind}'.")))?;
    let groups = match o.get("groups") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|g| g.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::BadRequest("'groups' must be an array of group ids.".into()))?,
        Some(_) => return Err(ApiError::BadRequest("'groups' must be an array of group ids.".into())),
    };
    let resource = Resource {
        workload,
        site_id: text(o, "siteId")?,
        site_name: text(o, "siteName")?,
        site_web_url: text(o, "webUrl")?,
        directory_object_id: text(o, "directoryObjectId")?,
        display_name: text(o, "displayName")?,
        email: text(o, "email")?,
    };
    let r = DirectoryResource { resource, fault: text(o, "fault")?, groups };
    let needs = if workload == Workload::SharePoint { "siteId" } else { "directoryObjectId" };
    if r.resource.resource_id().is_none() {
        return Err(ApiError::BadRequest(format!("A {kind} needs '{needs}'.")));
    }
    Ok(r)
}

async fn add_directory(State(admin): State<Admin>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let principal = authorize(&admin.key, &headers, Access::ConfigurationWrite)?;
        let v = json_body(&body)?;
        let items =
            v["resources"].as_array().ok_or_else(|| ApiError::BadRequest("Send {\"resources\": [...]}.".into()))?;
        let resources = items.iter().map(resource).collect::<Result<Vec<_>, _>>()?;
        let w = backstore_store::Writer { tenant: &principal.tenant, actor: &principal.actor, now: admin.clock.now() };
        let added = admin.store.register_resources(w, &resources).await?;
        Ok(json!({ "added": added, "known": resources.len() as u64 - added }))
    }
    .await;
    respond(result)
}

/// A proof's verdict: `match`, `mismatch`, or `unfinished` while the restore is writing.
pub fn proof_verdict(p: &RestoreProof) -> &'static str {
    match (&p.written_root, p.matches()) {
        (None, _) => "unfinished",
        (Some(_), true) => "match",
        (Some(_), false) => "mismatch",
    }
}

/// The proofs of the caller's tenant's session `id`, which must exist.
async fn proofs_of(admin: &Admin, headers: &HeaderMap, id: &str) -> Result<Vec<RestoreProof>, ApiError> {
    let principal = authorize(&admin.key, headers, Access::RestoreRead)?;
    let tenant = principal.tenant.as_str();
    if admin.store.get_session(tenant, id, None).await?.is_none() {
        return Err(ApiError::Rule(backstore_domain::RuleError::SessionNotFound));
    }
    Ok(admin.store.restore_proofs(tenant, id).await?)
}

async fn session_proofs(State(admin): State<Admin>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        let proofs = proofs_of(&admin, &headers, &id).await?;
        let value: Vec<Value> = proofs
            .iter()
            .map(|p| {
                json!({
                    "artifactId": p.artifact_id,
                    "driveId": p.drive_id,
                    "verdict": proof_verdict(p),
                    "pointRoot": p.point_root,
                    "writtenRoot": p.written_root,
                    "replacedRoot": p.replaced_root,
                    "pointDigest": p.point_digest,
                    "writtenDigest": p.written_digest,
                    "itemsWritten": p.items_written,
                    "bytesWritten": p.bytes_written,
                    "itemsRemoved": p.items_removed,
                })
            })
            .collect();
        Ok(json!({ "sessionId": id, "value": value }))
    }
    .await;
    respond(result)
}

/// Items and bytes written of how many, bytes per second and seconds left, as the progress path
/// shows them for an artifact or a whole session.
#[derive(Default)]
struct Progress {
    items: (u64, u64),
    bytes: (u64, u64),
    rate: f64,
    eta: f64,
}

impl Progress {
    fn of(p: &RestoreProof, now: backstore_domain::Timestamp) -> Progress {
        let (items, bytes) = p.done_at(now);
        let seconds = |from: backstore_domain::Timestamp, to: backstore_domain::Timestamp| {
            (to - from).to_std().unwrap_or_default().as_secs_f64()
        };
        let (elapsed, eta) = match (p.started_at, p.restored_at) {
            (Some(start), Some(end)) => (seconds(start, end), 0.0),
            (Some(start), None) => (seconds(start, now), (p.planned.as_secs_f64() - seconds(start, now)).max(0.0)),
            _ => (0.0, p.planned.as_secs_f64()),
        };
        let rate = if elapsed > 0.0 { bytes as f64 / elapsed } else { 0.0 };
        Progress { items: (items, p.items_total), bytes: (bytes, p.bytes_total), rate, eta }
    }

    fn json(&self) -> Value {
        json!({
            "itemsDone": self.items.0,
            "itemsTotal": self.items.1,
            "bytesDone": self.bytes.0,
            "bytesTotal": self.bytes.1,
            "bytesPerSecond": self.rate.round() as u64,
            "etaSeconds": self.eta.ceil() as u64,
        })
    }
}

async fn session_progress(State(admin): State<Admin>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        let proofs = proofs_of(&admin, &headers, &id).await?;
        let now = admin.clock.now();
        let mut session = Progress::default();
        let mut value = Vec::new();
        let started: Vec<&RestoreProof> = proofs.iter().filter(|p| p.started_at.is_some()).collect();
        // The session's rate: its bytes over the time since its first restore began (to its last
        // write, once all are written).
        let first = started.iter().filter_map(|p| p.started_at).min();
        let all_written = started.iter().all(|p| p.restored_at.is_some());
        let last = if all_written { started.iter().filter_map(|p| p.restored_at).max() } else { Some(now) };
        for p in started {
            let one = Progress::of(p, now);
            session.items = (session.items.0 + one.items.0, session.items.1 + one.items.1);
            session.bytes = (session.bytes.0 + one.bytes.0, session.bytes.1 + one.bytes.1);
            session.eta = session.eta.max(one.eta);
            let mut v = one.json();
            v["artifactId"] = json!(p.artifact_id);
            v["state"] = json!(if p.restored_at.is_some() { "written" } else { "restoring" });
            value.push(v);
        }
        if let (Some(first), Some(last)) = (first, last) {
            let elapsed = (last - first).to_std().unwrap_or_default().as_secs_f64();
            session.rate = if elapsed > 0.0 { session.bytes.0 as f64 / elapsed } else { 0.0 };
        }
        let mut out = session.json();
        out["sessionId"] = json!(id);
        out["value"] = Value::Array(value);
        Ok(out)
    }
    .await;
    respond(result)
}
