//! Domain records → Graph JSON. Evolvable enum members are written here, and only here.

use backstore_domain::{Actor, ErrorInfo, ProtectionUnitStatus, RestoreJobType, SessionStatus, Timestamp, Workload};
use backstore_store::{
    ArtifactRecord, ErrorDetail, PolicyRecord, ProtectionUnitRecord, RestorePointRecord, ServiceState, SessionRecord,
};

use crate::names::{names, odata_type};
use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

/// How a response is written for one request.
#[derive(Debug, Clone, Copy)]
pub struct Render {
    /// The request sent `Prefer: include-unknown-enum-members`.
    pub include_unknown_enums: bool,
}

impl Render {
    /// Members after `unknownFutureValue` are written as `unknownFutureValue` unless asked for.
    fn evolvable(&self, name: &'static str, is_evolvable: bool) -> &'static str {
        if is_evolvable && !self.include_unknown_enums {
            "unknownFutureValue"
        } else {
            name
        }
    }

    pub fn session_status(&self, s: SessionStatus) -> &'static str {
        self.evolvable(s.as_str(), s.is_evolvable())
    }

    pub fn job_type(&self, j: RestoreJobType) -> &'static str {
        self.evolvable(j.as_str(), j.is_evolvable())
    }

    /// `protectionRuleStatus`: `updateRequested` and `deleteRequested` come after the sentinel.
    pub fn rule_status<'a>(&self, s: &'a str) -> &'a str {
        if matches!(s, "updateRequested" | "deleteRequested") && !self.include_unknown_enums {
            "unknownFutureValue"
        } else {
            s
        }
    }

    pub fn unit_status(&self, s: ProtectionUnitStatus) -> &'static str {
        self.evolvable(s.as_str(), s.is_evolvable())
    }
}

/// ISO 8601 UTC with `Z`, fractional seconds only as far as they go.
pub fn datetime(t: Timestamp) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

pub fn opt_datetime(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, datetime)
}

pub fn identity_set(a: &Actor) -> Value {
    let user = match &a.user_id {
        Some(id) => json!({ "id": id, "displayName": a.user_name }),
        None => Value::Null,
    };
    json!({
        "application": { "id": a.application_id, "displayName": a.application_name },
        "user": user,
    })
}

/// A `publicError` with a detail per item that went wrong (bulk requests and jobs, rules).
pub fn public_error_with_details(e: Option<&(ErrorInfo, Vec<ErrorDetail>)>) -> Value {
    e.map_or(Value::Null, |(e, details)| {
        json!({
            "code": e.code,
            "message": e.message,
            "target": null,
            "innerError": null,
            "details": details.iter().map(|d| json!({"code": d.code, "message": d.message, "target": d.target})).collect::<Vec<_>>(),
        })
    })
}

pub fn public_error(e: Option<&ErrorInfo>) -> Value {
    match e {
        Some(e) => json!({ "code": e.code, "message": e.message, "target": null, "details": [], "innerError": null }),
        None => Value::Null,
    }
}

/// A session's own properties, in the order Graph's examples show them.
pub fn session(r: &SessionRecord, render: &Render) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("status".into(), json!(render.session_status(r.derived.status)));
    m.insert("restoreJobType".into(), json!(render.job_type(r.job_type)));
    m.insert(
        "restoreSessionArtifactCount".into(),
        json!({
            "total": r.derived.total,
            "completed": r.derived.completed,
            "inProgress": r.derived.in_progress,
            "failed": r.derived.failed,
        }),
    );
    m.insert("createdBy".into(), identity_set(&r.created_by));
    m.insert("createdDateTime".into(), datetime(r.created_at));
    m.insert("lastModifiedBy".into(), identity_set(&r.last_modified_by));
    m.insert("lastModifiedDateTime".into(), datetime(r.last_modified_at));
    m.insert("completedDateTime".into(), opt_datetime(r.completed_at));
    m.insert("error".into(), public_error(r.error.as_ref()));
    m
}

/// A restore point as artifacts show it inline and `…/restorePoint` returns it.
pub fn restore_point(p: &RestorePointRecord) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("protectionDateTime".into(), datetime(p.protection_at));
    m.insert("expirationDateTime".into(), datetime(p.expiration_at));
    m.insert("tags".into(), json!(p.tags.as_str()));
    m
}

/// An artifact with its kind's restored* fields and its restore point inline.
pub fn artifact(a: &ArtifactRecord, workload: Workload) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.id));
    m.insert("destinationType".into(), json!(a.destination.as_str()));
    m.insert("status".into(), json!(a.status.as_str()));
    m.insert("startDateTime".into(), opt_datetime(a.start_at));
    m.insert("completionDateTime".into(), opt_datetime(a.completion_at));
    m.insert("error".into(), public_error(a.error.as_ref()));
    let o = &a.outcome;
    match workload {
        Workload::Exchange => {
            m.insert("restoredFolderId".into(), json!(o.restored_folder_id));
            m.insert("restoredFolderName".into(), json!(o.restored_folder_name));
            m.insert("restoredItemCount".into(), json!(o.restored_item_count));
        }
        Workload::SharePoint | Workload::OneDrive => {
            m.insert("restoredSiteId".into(), json!(o.restored_site_id));
            m.insert("restoredSiteName".into(), json!(o.restored_site_name));
            m.insert("restoredSiteWebUrl".into(), json!(o.restored_site_web_url));
        }
    }
    m.insert("restorePoint".into(), Value::Object(restore_point(&a.restore_point)));
    m
}

/// A protection policy's own properties (`@odata.type` added by the caller where it belongs).
pub fn protection_policy(p: &PolicyRecord) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("displayName".into(), json!(p.display_name));
    m.insert("isEnabled".into(), json!(p.enabled));
    m.insert("status".into(), json!(p.status.as_str()));
    m.insert(
        "protectionPolicyArtifactCount".into(),
        json!({
            "total": p.counts.total,
            "completed": p.counts.completed,
            "inProgress": p.counts.in_progress,
            "failed": p.counts.failed,
        }),
    );
    let retention: Vec<Value> = backstore_domain::retention::settings(p.workload)
        .iter()
        .map(|(interval, period)| json!({ "interval": interval, "period": period }))
        .collect();
    m.insert("retentionSettings".into(), Value::Array(retention));
    m.insert("createdBy".into(), identity_set(&p.created_by));
    m.insert("createdDateTime".into(), datetime(p.created_at));
    m.insert("lastModifiedBy".into(), identity_set(&p.last_modified_by));
    m.insert("lastModifiedDateTime".into(), datetime(p.last_modified_at));
    m
}

/// A protection unit with its `@odata.type`. Site names and URLs, and mailbox and drive owners'
/// names and addresses, are shown to delegated callers only (as the service does).
pub fn protection_unit(u: &ProtectionUnitRecord, render: &Render, delegated: bool) -> Map<String, Value> {
    let i = &u.info;
    let personal = |v: &Option<String>| if delegated { json!(v) } else { Value::Null };
    let created_by = u.created_by.as_ref().map_or(Value::Null, identity_set);
    let modified_by = u.last_modified_by.as_ref().map_or_else(|| created_by.clone(), identity_set);
    let mut m = Map::new();
    m.insert("@odata.type".into(), json!(odata_type(names(i.workload).unit_type)));
    m.insert("id".into(), json!(i.id));
    m.insert("policyId".into(), json!(u.policy_id));
    m.insert("protectionSources".into(), json!(u.sources));
    m.insert("status".into(), json!(render.unit_status(u.status)));
    m.insert("createdBy".into(), created_by);
    m.insert("createdDateTime".into(), datetime(u.created_at));
    m.insert("lastModifiedBy".into(), modified_by);
    m.insert("lastModifiedDateTime".into(), datetime(u.last_modified_at));
    m.insert("error".into(), public_error(u.error.as_ref()));
    m.insert("offboardRequestedDateTime".into(), opt_datetime(u.offboard_requested_at));
    match i.workload {
        Workload::SharePoint => {
            m.insert("siteId".into(), json!(i.site_id));
            m.insert("siteName".into(), personal(&i.site_name));
            m.insert("siteWebUrl".into(), personal(&i.site_web_url));
        }
        Workload::Exchange | Workload::OneDrive => {
            m.insert("directoryObjectId".into(), json!(i.directory_object_id));
            m.insert("displayName".into(), personal(&i.display_name));
            m.insert("email".into(), personal(&i.email));
        }
    }
    m
}

/// `serviceStatus`; `None` is a tenant that never enabled the service.
pub fn service_status(state: Option<&ServiceState>) -> Map<String, Value> {
    let mut m = Map::new();
    match state {
        Some(s) => {
            m.insert("status".into(), json!(s.status));
            m.insert("backupServiceConsumer".into(), json!(s.consumer));
            m.insert("disableReason".into(), if s.status == "disabled" { json!("userRequested") } else { Value::Null });
            m.insert("gracePeriodDateTime".into(), Value::Null);
            m.insert("restoreAllowedTillDateTime".into(), Value::Null);
            m.insert("lastModifiedBy".into(), identity_set(&s.last_modified_by));
            m.insert("lastModifiedDateTime".into(), datetime(s.last_modified_at));
        }
        None => {
            m.insert("status".into(), json!("disabled"));
            m.insert("backupServiceConsumer".into(), json!("unknown"));
            m.insert("disableReason".into(), json!("none"));
            m.insert("gracePeriodDateTime".into(), Value::Null);
            m.insert("restoreAllowedTillDateTime".into(), Value::Null);
            m.insert("lastModifiedBy".into(), Value::Null);
            m.insert("lastModifiedDateTime".into(), Value::Null);
        }
    }
    m
}
