//! Protection policies: creation with units, the units delta, activation and deactivation (settled
//! by the engine's `settlePolicy` job), deletion, and a policy's status from its units'.

use super::activity_logs::{log_policy, unit_details};
use super::listing;
use super::rows::kind_scope;
use backstore_domain::activity::ActivityType;

use super::tx::Tx;
use backstore_domain::policy::{derive_policy, is_requested, PolicyStatus};
use backstore_domain::{ProtectionUnitStatus, RuleError, Timestamp, Workload};

use super::directory::insert_resources;
use super::exclusions::{apply_exclusions, attach_all, full_service_policy};
use super::jobs::{enqueue, forget_done_job, Queue};
use super::read::{Col, Columns};
use super::rows::{actor_json, corrupt, micros, stamps, workload};
use super::tx::On;
use super::units::{attach, load_unit, set_unit_status, AttachProblem};
use super::Lock;
use crate::{
    DirectoryResource, ExclusionDeltaItem, ExclusionItemResult, JobKind, JobRef, PolicyCounts, PolicyDeltaItem,
    PolicyDeltaOutcome, PolicyItemResult, PolicyRecord, Store, StoreResult, Writer,
};

/// A policy with its unit counts, read in one statement (each count an indexed lookup).
pub(super) const POLICY_SELECT: &str =
    "SELECT p.seq, p.id, p.workload, p.display_name, p.enabled, p.status, p.created_at, \
    p.created_by, p.last_modified_at, p.last_modified_by, p.protection_mode, \
    (SELECT COUNT(*) FROM protection_units u WHERE u.tenant_id = p.tenant_id AND u.policy_id = p.id) AS total, \
    (SELECT COUNT(*) FROM protection_units u WHERE u.tenant_id = p.tenant_id AND u.policy_id = p.id \
     AND u.status = 'protected' AND u.error_code IS NULL) AS completed, \
    (SELECT COUNT(*) FROM protection_units u WHERE u.tenant_id = p.tenant_id AND u.policy_id = p.id \
     AND u.status IN ('protectRequested', 'unprotectRequested', 'removeRequested')) AS in_progress, \
    (SELECT COUNT(*) FROM protection_units u WHERE u.tenant_id = p.tenant_id AND u.policy_id = p.id \
     AND u.error_code IS NOT NULL) AS failed \
    FROM protection_policies p";

pub(super) fn policy_from_row(row: &dyn Columns) -> StoreResult<PolicyRecord> {
    let status: String = row.col("status")?;
    Ok(PolicyRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        workload: workload(&row.col::<String>("workload")?)?,
        display_name: row.col("display_name")?,
        enabled: row.col::<i64>("enabled")? != 0,
        status: PolicyStatus::parse(&status).map_or_else(|| corrupt("policy status", &status), Ok)?,
        counts: PolicyCounts {
            total: row.col("total")?,
            completed: row.col("completed")?,
            in_progress: row.col("in_progress")?,
            failed: row.col("failed")?,
        },
        stamps: stamps(row)?,
        full_service: row.col::<String>("protection_mode")? == FULL_SERVICE,
    })
}

/// `protection_mode` of a beta full-service policy.
const FULL_SERVICE: &str = "fullServiceBackup";

pub(super) async fn load_policy(
    on: impl Into<On<'_>>,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
) -> StoreResult<Option<PolicyRecord>> {
    let sql = format!("{POLICY_SELECT} WHERE p.tenant_id = ? AND p.id = ?");
    let p = on.into().row(&sql, args![tenant, id], policy_from_row).await?;
    Ok(p.filter(|p| workload.is_none_or(|w| w == p.workload)))
}

pub(super) async fn require_policy(
    conn: &mut Tx,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
) -> StoreResult<PolicyRecord> {
    Ok(load_policy(&mut *conn, tenant, id, workload).await?.ok_or(RuleError::PolicyNotFound)?)
}

/// Sets the policy's status: `updating` while a settle job is due, else derived from its units.
pub(super) async fn refresh_policy(
    conn: &mut Tx,
    tenant: &str,
    id: &str,
    pending_job: bool,
    w: Option<&Writer<'_>>,
) -> StoreResult<()> {
    let enabled: i64 = conn
        .scalar("SELECT enabled FROM protection_policies WHERE tenant_id = ? AND id = ?", args![tenant, id])
        .await?;
    let rows = conn
        .fetch_all(
            "SELECT status, error_code FROM protection_units WHERE tenant_id = ? AND policy_id = ?",
            args![tenant, id],
        )
        .await?;
    let mut statuses = Vec::with_capacity(rows.len());
    let mut errors = 0;
    for r in &rows {
        let s: String = r.col("status")?;
        statuses.push(ProtectionUnitStatus::parse(&s).map_or_else(|| corrupt("unit status", &s), Ok)?);
        errors += usize::from(r.col::<Option<String>>("error_code")?.is_some());
    }
    let status = if pending_job { PolicyStatus::Updating } else { derive_policy(enabled != 0, &statuses, errors) };
    match w {
        Some(w) => {
            exec!(
                conn,
                "UPDATE protection_policies SET status = ?, last_modified_at = ?, last_modified_by = ? \
                 WHERE tenant_id = ? AND id = ?",
                status.as_str(),
                micros(w.now),
                actor_json(w.actor),
                tenant,
                id
            )
            .await?
        }
        None => {
            exec!(
                conn,
                "UPDATE protection_policies SET status = ? WHERE tenant_id = ? AND id = ?",
                status.as_str(),
                tenant,
                id
            )
            .await?
        }
    };
    Ok(())
}

/// Queues the policy's settle job (one row per policy, re-armed once it is done).
pub(super) async fn enqueue_settle(conn: &mut Tx, tenant: &str, policy_id: &str, now: Timestamp) -> StoreResult<()> {
    enqueue(conn, (tenant, policy_id, policy_id), JobKind::SettlePolicy, Queue::Rearm, now).await
}

/// Settles the waiting units of a policy (see `Store::settle_policy`); a policy that is gone is
/// nothing to do.
pub(super) async fn settle(
    conn: &mut Tx,
    tenant: &str,
    policy_id: &str,
    now: Timestamp,
    protected_since: Timestamp,
) -> StoreResult<()> {
    let exists: Option<i64> = conn
        .scalar_opt("SELECT 1 FROM protection_policies WHERE tenant_id = ? AND id = ?", args![tenant, policy_id])
        .await?;
    if exists.is_none() {
        return Ok(());
    }
    let t = micros(now);
    exec!(
        conn,
        "UPDATE protection_units SET status = 'protected', protected_since = ?, protection_epoch = protection_epoch + 1, \
         last_modified_at = ? WHERE tenant_id = ? AND policy_id = ? AND status = 'protectRequested'",
        micros(protected_since), t, tenant, policy_id,
    )
    .await?;
    exec!(
        conn,
        "UPDATE protection_units SET status = 'unprotected', last_modified_at = ? \
         WHERE tenant_id = ? AND policy_id = ? AND status = 'unprotectRequested'",
        t,
        tenant,
        policy_id
    )
    .await?;
    exec!(
        conn,
        "UPDATE protection_units SET status = 'unprotected', policy_id = NULL, last_modified_at = ? \
         WHERE tenant_id = ? AND policy_id = ? AND status = 'removeRequested'",
        t,
        tenant,
        policy_id
    )
    .await?;
    refresh_policy(conn, tenant, policy_id, false, None).await
}

impl Store {
    /// Creates an inactive policy with units for `resource_ids` (site ids or directory object ids):
    /// every resource must exist and be in no other policy, and no policy of the workload may be
    /// active, or nothing is created.
    pub async fn create_policy(
        &self,
        w: Writer<'_>,
        workload: Workload,
        display_name: Option<String>,
        resource_ids: Vec<String>,
        full_service: bool,
    ) -> StoreResult<PolicyRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            if full_service && full_service_policy(conn, w.tenant, workload).await?.is_some() {
                return Err(RuleError::FullServicePolicyExists.into());
            }
            let active: Option<i64> = conn
                .scalar_opt(
                    "SELECT 1 FROM protection_policies WHERE tenant_id = ? AND workload = ? AND enabled = 1 LIMIT 1",
                    args![w.tenant, workload.unit_kind()],
                )
                .await?;
            if active.is_some() {
                return Err(RuleError::PolicyCreationNotAllowed.into());
            }
            let id = uuid::Uuid::new_v4().to_string();
            exec!(
                conn,
                "INSERT INTO protection_policies (tenant_id, id, workload, display_name, enabled, status, created_at, \
         created_by, last_modified_at, last_modified_by, protection_mode) VALUES (?, ?, ?, ?, 0, 'inactive', ?, ?, ?, ?, ?)",
                w.tenant,
                &id,
                workload.unit_kind(),
                &display_name,
                micros(w.now),
                actor_json(w.actor),
                micros(w.now),
                actor_json(w.actor),
                if full_service { FULL_SERVICE } else { "standard" }
            )
            .await?;
            let policy = require_policy(conn, w.tenant, &id, None).await?;
            let (mut joined, _) = (resource_ids.len(), false);
            if full_service {
                joined = attach_all(conn, &w, &policy).await?.0;
            }
            for resource_id in &resource_ids {
                match attach(conn, &w, &policy, resource_id).await? {
                    Ok(_) => {}
                    Err(AttachProblem::Unknown) => return Err(RuleError::UnknownResource(resource_id.clone()).into()),
                    Err(AttachProblem::InPolicy) => {
                        return Err(RuleError::UnitAlreadyProtected(resource_id.clone()).into())
                    }
                }
            }
            refresh_policy(conn, w.tenant, &id, false, None).await?;
            let units = unit_details(joined, 0, 0);
            log_policy(conn, (w.tenant, &id), (ActivityType::BackupPolicyCreated, w.actor, w.now), units, None).await?;
            require_policy(conn, w.tenant, &id, None).await
        })
        .await
    }

    /// Makes resources known in the writer's tenant (what `seed` creates outside the backup
    /// service); resources known already are left as they are. A workload's full-service policy
    /// takes the new ones in the same transaction. Returns how many were new.
    pub async fn register_resources(&self, w: Writer<'_>, resources: &[DirectoryResource]) -> StoreResult<u64> {
        let tenant = w.tenant;
        self.write(Lock::Tenant(tenant), async move |conn| {
            let added = insert_resources(conn, tenant, resources).await?;
            for workload in Workload::ALL {
                let Some(policy_id) = full_service_policy(conn, tenant, workload).await? else { continue };
                let policy = require_policy(conn, tenant, &policy_id, None).await?;
                let (joined, requested) = attach_all(conn, &w, &policy).await?;
                if requested {
                    enqueue_settle(conn, tenant, &policy_id, w.now).await?;
                }
                if joined > 0 {
                    refresh_policy(conn, tenant, &policy_id, requested, None).await?;
                }
            }
            Ok(added)
        })
        .await
    }

    pub async fn get_policy(
        &self,
        tenant: &str,
        id: &str,
        workload: Option<Workload>,
    ) -> StoreResult<Option<PolicyRecord>> {
        load_policy(self, tenant, id, workload).await
    }

    pub async fn list_policies(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<PolicyRecord>> {
        listing::after_seq(self, POLICY_SELECT, kind_scope(tenant, workload), ("p.seq", after, limit), policy_from_row)
            .await
    }

    /// The units of a policy by status, and whether each carries an error.
    pub async fn policy_unit_states(
        &self,
        tenant: &str,
        policy_id: &str,
    ) -> StoreResult<Vec<(ProtectionUnitStatus, bool)>> {
        let sql = "SELECT status, error_code FROM protection_units WHERE tenant_id = ? AND policy_id = ?";
        self.read_rows(super::read::Cost::Scan, sql, args![tenant, policy_id], |r| {
            let s: String = r.col("status")?;
            let status = ProtectionUnitStatus::parse(&s).map_or_else(|| corrupt("unit status", &s), Ok)?;
            Ok((status, r.col::<Option<String>>("error_code")?.is_some()))
        })
        .await
    }

    /// How many policies the tenant has (of one kind, or all).
    pub async fn count_policies(&self, tenant: &str, workload: Option<Workload>) -> StoreResult<i64> {
        listing::count_in(self, "protection_policies", kind_scope(tenant, workload)).await
    }

    /// Renames a policy and applies a units delta: adds of unknown resources or of resources in
    /// another policy, and removes of units not in the policy, fail one item; the rest apply.
    pub async fn update_policy(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        display_name: Option<String>,
        items: Vec<PolicyDeltaItem>,
        exclusions: Vec<ExclusionDeltaItem>,
    ) -> StoreResult<PolicyDeltaOutcome> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            let policy = require_policy(conn, w.tenant, id, workload).await?;
            if !exclusions.is_empty() && !policy.full_service {
                return Err(RuleError::InvalidPatch(
                    "Exclusion units belong to full-service backup policies (protectionMode 'fullServiceBackup')."
                        .into(),
                )
                .into());
            }
            if !items.is_empty() && policy.full_service {
                return Err(RuleError::InvalidPatch(
                    "A full-service backup policy protects every resource of its workload; leave resources out \
                     with its exclusion units instead."
                        .into(),
                )
                .into());
            }
            // Request-level refusals first, before anything is written.
            for item in &items {
                if let PolicyDeltaItem::Remove { unit_id, .. } = item {
                    if let Some(u) = load_unit(&mut *conn, w.tenant, unit_id).await? {
                        if u.unit.policy_id.as_deref() == Some(id) && u.unit.sources.contains("dynamicRule") {
                            return Err(RuleError::UnitActionNotAllowed(unit_id.clone()).into());
                        }
                    }
                }
            }
            if let Some(name) = &display_name {
                exec!(
                    conn,
                    "UPDATE protection_policies SET display_name = ? WHERE tenant_id = ? AND id = ?",
                    name,
                    w.tenant,
                    id
                )
                .await?;
            }
            let mut results = Vec::with_capacity(items.len());
            let mut needs_job = false;
            for (index, item) in items.into_iter().enumerate() {
                match &item {
                    PolicyDeltaItem::Add { resource_id, content_id } => match attach(conn, &w, &policy, resource_id)
                        .await?
                    {
                        Ok(unit) => {
                            needs_job |= is_requested(unit.status);
                            results
                                .push(PolicyItemResult::Added { unit: Box::new(unit), content_id: content_id.clone() });
                        }
                        Err(problem) => {
                            let (code, message, response_code) = match problem {
                                AttachProblem::Unknown => (
                                    "ProtectionUnitNotFound",
                                    format!(
                                        "No {} '{resource_id}' exists in this tenant.",
                                        policy.workload.unit_kind()
                                    ),
                                    404,
                                ),
                                AttachProblem::InPolicy => (
                                    "ProtectionUnitAlreadyExists",
                                    format!("'{resource_id}' is already protected by a protection policy."),
                                    409,
                                ),
                            };
                            results.push(PolicyItemResult::Failed {
                                index,
                                item,
                                code: code.into(),
                                message,
                                response_code,
                            });
                        }
                    },
                    PolicyDeltaItem::Remove { unit_id, content_id } => {
                        let found = load_unit(&mut *conn, w.tenant, unit_id).await?.filter(|u| {
                            u.unit.policy_id.as_deref() == Some(id)
                                && u.unit.status != ProtectionUnitStatus::RemoveRequested
                        });
                        match found {
                            Some(_) => {
                                set_unit_status(conn, &w, unit_id, ProtectionUnitStatus::RemoveRequested).await?;
                                needs_job = true;
                                let unit = load_unit(&mut *conn, w.tenant, unit_id).await?.expect("just updated").unit;
                                results.push(PolicyItemResult::Removed {
                                    unit: Box::new(unit),
                                    content_id: content_id.clone(),
                                });
                            }
                            None => results.push(PolicyItemResult::Failed {
                                index,
                                item: item.clone(),
                                code: "ProtectionUnitNotFound".into(),
                                message: "The identifier to be removed from the Protection Policy does not exist"
                                    .into(),
                                response_code: 409,
                            }),
                        }
                    }
                }
            }
            let (excluded, exclusions_wait) = apply_exclusions(conn, &w, &policy, exclusions).await?;
            needs_job |= exclusions_wait;
            if needs_job {
                enqueue_settle(conn, w.tenant, id, w.now).await?;
            }
            refresh_policy(conn, w.tenant, id, needs_job, Some(&w)).await?;
            let old_name = policy.display_name.as_deref();
            if display_name.as_deref().is_some_and(|new| Some(new) != old_name) {
                let what = (ActivityType::BackupPolicyRenamed, w.actor, w.now);
                log_policy(conn, (w.tenant, id), what, unit_details(0, 0, 0), old_name).await?;
            }
            if !results.is_empty() || !excluded.is_empty() {
                // An exclusion takes a unit out of the policy; dropping one puts it back.
                let count = |f: fn(&PolicyItemResult) -> bool| results.iter().filter(|r| f(r)).count();
                let excluding = |f: fn(&ExclusionItemResult) -> bool| excluded.iter().filter(|r| f(r)).count();
                let units = unit_details(
                    count(|r| matches!(r, PolicyItemResult::Added { .. }))
                        + excluding(|r| matches!(r, ExclusionItemResult::Removed { .. })),
                    count(|r| matches!(r, PolicyItemResult::Removed { .. }))
                        + excluding(|r| matches!(r, ExclusionItemResult::Added { .. })),
                    count(|r| matches!(r, PolicyItemResult::Failed { .. }))
                        + excluding(|r| matches!(r, ExclusionItemResult::Failed { .. })),
                );
                let what = (ActivityType::BackupPolicyModified, w.actor, w.now);
                log_policy(conn, (w.tenant, id), what, units, None).await?;
            }
            let policy = require_policy(conn, w.tenant, id, None).await?;
            Ok(PolicyDeltaOutcome { policy, items: results, exclusions: excluded })
        })
        .await
    }

    /// Activates (`enable`) an inactive policy or deactivates an active one: its units go to
    /// `protectRequested` / `unprotectRequested` and a job settles them. With `settle_from`, the
    /// units are settled in the same transaction instead, protected from that time on (how `seed`
    /// makes a tenant that has been protected for a while).
    pub async fn set_policy_enabled(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        enable: bool,
        settle_from: Option<Timestamp>,
    ) -> StoreResult<PolicyRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
    let policy = require_policy(conn, w.tenant, id, workload).await?;
    if enable {
        if policy.enabled || policy.status != PolicyStatus::Inactive {
            return Err(RuleError::PolicyActionNotAllowed(format!(
                "The protection policy is {}; only an inactive policy can be activated.",
                policy.status.as_str()
            ))
            .into());
        }
        let other: Option<String> = conn.scalar_opt("SELECT id FROM protection_policies WHERE tenant_id = ? AND workload = ? AND enabled = 1 AND id <> ? LIMIT 1", args![w.tenant, policy.workload.unit_kind(), id])
        .await?;
        if let Some(other) = other {
            return Err(RuleError::PolicyActionNotAllowed(format!(
                "Protection policy '{other}' of this service is active already; only one can be."
            ))
            .into());
        }
    } else if !policy.enabled {
        return Err(RuleError::PolicyActionNotAllowed(format!(
            "The protection policy is {}; only an active policy can be deactivated.",
            policy.status.as_str()
        ))
        .into());
    }
    let (from, to) = if enable {
        ("'unprotected'", ProtectionUnitStatus::ProtectRequested)
    } else {
        ("'protected', 'protectRequested'", ProtectionUnitStatus::UnprotectRequested)
    };
    exec!(conn, &format!(
        "UPDATE protection_units SET status = ?, error_code = NULL, error_message = NULL, last_modified_at = ?, \
         last_modified_by = ? WHERE tenant_id = ? AND policy_id = ? AND status IN ({from})"
    ), to.as_str(), micros(w.now), actor_json(w.actor), w.tenant, id)
    .await?;
    exec!(
        conn,
        "UPDATE protection_policies SET enabled = ? WHERE tenant_id = ? AND id = ?",
        i64::from(enable), w.tenant, id,
    )
        .await?;
    match settle_from {
        Some(since) => {
            refresh_policy(conn, w.tenant, id, false, Some(&w)).await?;
            settle(conn, w.tenant, id, w.now, since).await?;
        }
        None => {
            enqueue_settle(conn, w.tenant, id, w.now).await?;
            refresh_policy(conn, w.tenant, id, true, Some(&w)).await?;
        }
    }
    let kind = if enable { ActivityType::BackupPolicyActivated } else { ActivityType::BackupPolicyPaused };
    log_policy(conn, (w.tenant, id), (kind, w.actor, w.now), unit_details(0, 0, 0), None).await?;
    require_policy(conn, w.tenant, id, None).await
})
        .await
    }

    /// Deletes an inactive policy; its units stay, detached and unprotected.
    pub async fn delete_policy(&self, tenant: &str, id: &str, workload: Option<Workload>) -> StoreResult<()> {
        self.write(Lock::Tenant(tenant), async move |conn| {
            let policy = require_policy(conn, tenant, id, workload).await?;
            if policy.status != PolicyStatus::Inactive {
                return Err(RuleError::PolicyActionNotAllowed(format!(
                    "The protection policy is {}; only an inactive policy can be deleted.",
                    policy.status.as_str()
                ))
                .into());
            }
            exec!(
                conn,
                "UPDATE protection_units SET policy_id = NULL, status = 'unprotected' WHERE tenant_id = ? AND policy_id = ?",
                tenant, id,
            )
    .await?;
            forget_done_job(conn, tenant, JobKind::SettlePolicy, id).await?;
            // Its inclusion rules go with it (a queued apply job finds nothing), and their finished jobs.
            exec!(
                conn,
                "DELETE FROM jobs WHERE tenant_id = ? AND kind = ? AND state = 'done' AND target_id IN \
         (SELECT id FROM protection_rules WHERE tenant_id = ? AND policy_id = ?)",
                tenant, JobKind::ApplyRule.as_str(), tenant, id,
            )
            .await?;
            exec!(conn, "DELETE FROM protection_rules WHERE tenant_id = ? AND policy_id = ?", tenant, id)
                .await?;
            exec!(conn, "DELETE FROM exclusion_units WHERE tenant_id = ? AND policy_id = ?", tenant, id).await?;
            exec!(conn, "DELETE FROM protection_policies WHERE tenant_id = ? AND id = ?", tenant, id)
                .await?;
            Ok(())
        })
        .await
    }

    /// Settles the waiting units of a policy now: `protectRequested → protected` (restore points
    /// are taken from `protected_since`), `unprotectRequested → unprotected`, `removeRequested` →
    /// detached. What a `SettlePolicy` job does, for callers that run it in place (`seed`).
    pub async fn settle_policy(
        &self,
        tenant: &str,
        policy_id: &str,
        now: Timestamp,
        protected_since: Timestamp,
    ) -> StoreResult<PolicyRecord> {
        self.write(Lock::Tenant(tenant), async move |tx| {
            settle(tx, tenant, policy_id, now, protected_since).await?;
            let policy = load_policy(&mut *tx, tenant, policy_id, None).await?.ok_or(RuleError::PolicyNotFound)?;
            Ok(policy)
        })
        .await
    }

    /// Runs a claimed `SettlePolicy` job. False when the lease was lost.
    pub async fn settle_policy_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        self.complete_job(job, now, async move |tx| settle(tx, &job.tenant_id, &job.target_id, now, now).await).await
    }
}
