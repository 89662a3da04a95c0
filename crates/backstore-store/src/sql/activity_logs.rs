//! beta `activityLogs`: entries written in the transaction of what they tell (a policy created,
//! activated, paused, renamed or changed; a restore session activated or finished), read back as a
//! collection with OData query options (`listing::Collection::ActivityLogs`).

use backstore_domain::activity::{service_type, ActivityResult, ActivitySeverity, ActivityType};
use backstore_domain::{Actor, ErrorInfo, SessionStatus, Timestamp, Workload};
use serde_json::{json, Value};

use super::listing::{self, Collection, Source};
use super::read::{Col, Columns};
use super::rows::{error_info, from_micros, micros, new_id, workload};
use super::tx::Tx;
use crate::{Bind, ListSpec, Page, SessionRecord, Store, StoreError, StoreResult};

/// One entry as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRecord {
    pub seq: i64,
    pub id: String,
    /// The subtype: `backupPolicyActivityLog`, `restoreTaskActivityLog`, ….
    pub kind: String,
    pub activity_type: String,
    pub event_at: Timestamp,
    pub performed_by: Option<String>,
    pub result_status: String,
    pub service_type: String,
    pub severity: String,
    pub error: Option<ErrorInfo>,
    /// The subtype's own properties, as Graph names them.
    pub details: Value,
}

/// What an entry says, before it is written.
pub(super) struct Activity<'a> {
    pub kind: &'static str,
    pub activity_type: ActivityType,
    pub workload: Workload,
    pub result: ActivityResult,
    pub actor: Option<&'a Actor>,
    pub details: Value,
}

fn performer(actor: &Actor) -> String {
    actor
        .user_name
        .clone()
        .or_else(|| actor.user_id.clone())
        .or_else(|| actor.application_name.clone())
        .unwrap_or_else(|| actor.application_id.clone())
}

pub(super) async fn log(tx: &mut Tx, tenant: &str, a: Activity<'_>, at: Timestamp) -> StoreResult<()> {
    let severity = match a.result {
        ActivityResult::Failed => ActivitySeverity::High,
        ActivityResult::PartiallySucceeded => ActivitySeverity::Medium,
        _ => ActivitySeverity::Low,
    };
    exec!(
        tx,
        "INSERT INTO activity_logs (tenant_id, id, kind, activity_type, event_at, performed_by, result_status, \
         service_type, severity, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        tenant,
        new_id(),
        a.kind,
        a.activity_type.as_str(),
        micros(at),
        a.actor.map(performer),
        a.result.as_str(),
        service_type(a.workload),
        severity.as_str(),
        a.details.to_string()
    )
    .await?;
    Ok(())
}

/// A `backupPolicyActivityLog` of policy `id` as it is now (after the change), with the unit counts
/// of `details` (`protectionUnitDetails`) and the old name of a rename.
pub(super) async fn log_policy(
    tx: &mut Tx,
    (tenant, id): (&str, &str),
    (activity_type, actor, at): (ActivityType, &Actor, Timestamp),
    units: Value,
    old_name: Option<&str>,
) -> StoreResult<()> {
    let row = tx
        .fetch_one(
            "SELECT workload, display_name, status FROM protection_policies WHERE tenant_id = ? AND id = ?",
            args![tenant, id],
        )
        .await?;
    let details = json!({
        "oldPolicyName": old_name,
        "policyId": id,
        "policyName": row.col::<Option<String>>("display_name")?,
        "policyStatus": row.col::<String>("status")?,
        "protectionUnitDetails": units,
        "retentionPeriod": null,
    });
    let workload = workload(&row.col::<String>("workload")?)?;
    let a = Activity {
        kind: "backupPolicyActivityLog",
        activity_type,
        workload,
        result: ActivityResult::Succeeded,
        actor: Some(actor),
        details,
    };
    log(tx, tenant, a, at).await
}

/// A `dynamicRuleActivityLog` of a rule of `policy_id` (`workload`): a run (`dynamicRuleExecution`)
/// or a deletion, with what it asked of the policy's units.
pub(super) async fn log_rule(
    tx: &mut Tx,
    (tenant, policy_id, workload): (&str, &str, Workload),
    (activity_type, result, actor, at): (ActivityType, ActivityResult, Option<&Actor>, Timestamp),
    units: Value,
) -> StoreResult<()> {
    let name: Option<String> = tx
        .scalar_opt(
            "SELECT display_name FROM protection_policies WHERE tenant_id = ? AND id = ?",
            args![tenant, policy_id],
        )
        .await?
        .flatten();
    let details = json!({ "policyId": policy_id, "policyName": name, "protectionUnitDetails": units });
    let a = Activity { kind: "dynamicRuleActivityLog", activity_type, workload, result, actor, details };
    log(tx, tenant, a, at).await
}

/// An `offboardingActivityLog` of a unit asked to be offboarded (`protectionUnitLevelOffboarding`).
pub(super) async fn log_offboarding(
    tx: &mut Tx,
    tenant: &str,
    unit: &crate::ProtectionUnitRecord,
    actor: &Actor,
    at: Timestamp,
) -> StoreResult<()> {
    let r = &unit.info.resource;
    let what = r.site_web_url.as_deref().or(r.email.as_deref()).or(r.resource_id()).unwrap_or(&unit.info.id);
    let details = json!({
        "offboardingDetails": format!("Protection unit {} ({what}) was requested to be offboarded.", unit.info.id),
        "policyId": null,
        "policyName": null,
        "policyStatus": null,
    });
    let a = Activity {
        kind: "offboardingActivityLog",
        activity_type: ActivityType::ProtectionUnitLevelOffboarding,
        workload: r.workload,
        result: ActivityResult::Succeeded,
        actor: Some(actor),
        details,
    };
    log(tx, tenant, a, at).await
}

/// `protectionUnitDetails` of a policy change.
pub(super) fn unit_details(requested_add: usize, requested_remove: usize, failed: usize) -> Value {
    json!({
        "addedCount": 0, "removedCount": 0, "failedCount": failed,
        "requestedToAddCount": requested_add, "requestedToRemoveCount": requested_remove,
        "backupConfigurationType": null,
    })
}

/// A `restoreTaskActivityLog` of session `id`: `restoreTaskCreated` when it is activated,
/// `restoreTaskCompleted` (with how it went) when it ends.
pub(super) async fn log_restore_task(
    tx: &mut Tx,
    tenant: &str,
    s: &SessionRecord,
    actor: Option<&Actor>,
    at: Timestamp,
) -> StoreResult<()> {
    let (id, status) = (s.id.as_str(), s.derived.status);
    let first: Option<(String, String)> = tx
        .fetch_all(
            "SELECT a.destination_type, rp.tags FROM restore_artifacts a JOIN restore_points rp \
             ON rp.tenant_id = a.tenant_id AND rp.id = a.restore_point_id WHERE a.tenant_id = ? AND a.session_id = ? \
             ORDER BY a.seq LIMIT 1",
            args![tenant, id],
        )
        .await?
        .first()
        .map(|r| Ok::<_, StoreError>((r.col("destination_type")?, r.col("tags")?)))
        .transpose()?;
    let (destination, tags) = first.unwrap_or_else(|| ("new".into(), "none".into()));
    let done = status.is_terminal();
    let result = match status {
        SessionStatus::Failed => ActivityResult::Failed,
        SessionStatus::CompletedWithError => ActivityResult::PartiallySucceeded,
        _ => ActivityResult::Succeeded,
    };
    let details = json!({
        "destinationType": destination,
        "restoreArtifactDetails": {
            "failedCount": s.derived.failed,
            "restoredCount": s.derived.completed,
            "totalArtifactsCount": s.derived.total,
        },
        "restoreCompletionDateTime": if done { s.completed_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)) } else { None },
        "restoreSessionId": id,
        "restoreSessionStatus": status.as_str(),
        "tags": tags,
    });
    let activity_type = if done { ActivityType::RestoreTaskCompleted } else { ActivityType::RestoreTaskCreated };
    let a = Activity { kind: "restoreTaskActivityLog", activity_type, workload: s.workload, result, actor, details };
    log(tx, tenant, a, at).await
}

fn activity_from_row(r: &dyn Columns) -> StoreResult<ActivityRecord> {
    let details: String = r.col("details")?;
    Ok(ActivityRecord {
        seq: r.col("seq")?,
        id: r.col("id")?,
        kind: r.col("kind")?,
        activity_type: r.col("activity_type")?,
        event_at: from_micros(r.col("event_at")?)?,
        performed_by: r.col("performed_by")?,
        result_status: r.col("result_status")?,
        service_type: r.col("service_type")?,
        severity: r.col("severity")?,
        error: error_info(r.col("error_code")?, r.col("error_message")?),
        details: serde_json::from_str(&details).map_err(|e| StoreError::Corrupt(format!("activity details: {e}")))?,
    })
}

/// The tenant's activity log as a listed collection.
fn source(tenant: &str) -> Source<'static> {
    Source {
        collection: Collection::ActivityLogs,
        select: "SELECT * FROM activity_logs".into(),
        seq: "seq",
        scope: backstore_odata::SqlFilter { sql: "tenant_id = ?".into(), binds: vec![Bind::Text(tenant.to_owned())] },
    }
}

impl Store {
    /// A page of the tenant's activity log as `spec` asks.
    pub async fn list_activity_logs(&self, tenant: &str, spec: &ListSpec) -> StoreResult<Page<ActivityRecord>> {
        listing::page(self, &source(tenant), spec, activity_from_row).await
    }

    /// How many records of the tenant's activity log `filter` keeps.
    pub async fn count_activity_logs(&self, tenant: &str, filter: Option<&crate::Filter>) -> StoreResult<i64> {
        listing::count(self, &source(tenant), filter).await
    }
}
