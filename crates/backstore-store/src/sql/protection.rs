//! The protection side on SQLite: the tenant's directory, protection policies and their units,
//! settling units (what the engine's `SettlePolicy` job does) and offboarding. Every function runs
//! inside the caller's transaction.

use backstore_domain::policy::{self, derive_policy, is_requested, PolicyStatus};
use backstore_domain::{ProtectionUnitStatus, RuleError, Timestamp, Workload};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{
    actor, actor_json, corrupt, enqueue, finish_job_row, forget_done_job, from_micros, holds_lease, json_list, micros,
    numbered, rearm, record_outcome, stored_error, unit_row, workload, OutcomeTable, UNIT_COLUMNS,
};
use crate::{
    DirectoryResource, ErrorDetail, JobRef, PolicyCounts, PolicyDeltaItem, PolicyItemResult, PolicyRecord,
    ProtectionUnitRecord, StoreResult, UnitBulkJobRecord, UnitRow, Writer,
};

pub(super) const SETTLE_POLICY_JOB: &str = "settlePolicy";
pub(super) const RESOLVE_UNIT_JOB: &str = "resolveUnitJob";

/// A policy with its unit counts, read in one statement (each count an indexed lookup).
const POLICY_SELECT: &str = "SELECT p.seq, p.id, p.workload, p.display_name, p.enabled, p.status, p.created_at, \
    p.created_by, p.last_modified_at, p.last_modified_by, \
    (SELECT COUNT(*) FROM protection_units u WHERE u.tenant_id = p.tenant_id AND u.policy_id = p.id) AS total, \
    (SELECT COUNT(*) FROM protection_units u WHERE u.tenant_id = p.tenant_id AND u.policy_id = p.id \
     AND u.status = 'protected' AND u.error_code IS NULL) AS completed, \
    (SELECT COUNT(*) FROM protection_units u WHERE u.tenant_id = p.tenant_id AND u.policy_id = p.id \
     AND u.status IN ('protectRequested', 'unprotectRequested', 'removeRequested')) AS in_progress, \
    (SELECT COUNT(*) FROM protection_units u WHERE u.tenant_id = p.tenant_id AND u.policy_id = p.id \
     AND u.error_code IS NOT NULL) AS failed \
    FROM protection_policies p";

fn policy_from_row(row: &AnyRow) -> StoreResult<PolicyRecord> {
    let status: String = row.try_get("status")?;
    Ok(PolicyRecord {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        workload: workload(row.try_get("workload")?)?,
        display_name: row.try_get("display_name")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        status: PolicyStatus::parse(&status).map_or_else(|| corrupt("policy status", &status), Ok)?,
        counts: PolicyCounts {
            total: row.try_get("total")?,
            completed: row.try_get("completed")?,
            in_progress: row.try_get("in_progress")?,
            failed: row.try_get("failed")?,
        },
        created_at: from_micros(row.try_get("created_at")?)?,
        created_by: actor(row.try_get("created_by")?)?,
        last_modified_at: from_micros(row.try_get("last_modified_at")?)?,
        last_modified_by: actor(row.try_get("last_modified_by")?)?,
    })
}

pub(super) async fn load_policy(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
) -> StoreResult<Option<PolicyRecord>> {
    let sql = format!("{POLICY_SELECT} WHERE p.tenant_id = ? AND p.id = ?");
    let row = sqlx::query(&numbered(&sql)).bind(tenant).bind(id).fetch_optional(conn).await?;
    let p = row.as_ref().map(policy_from_row).transpose()?;
    Ok(p.filter(|p| workload.is_none_or(|w| w == p.workload)))
}

pub(super) async fn require_policy(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
) -> StoreResult<PolicyRecord> {
    Ok(load_policy(conn, tenant, id, workload).await?.ok_or(RuleError::PolicyNotFound)?)
}

pub(super) async fn list_policies(
    conn: &mut AnyConnection,
    tenant: &str,
    workload: Option<Workload>,
    after: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<PolicyRecord>> {
    let sql = format!(
        "{POLICY_SELECT} WHERE p.tenant_id = ? AND (? IS NULL OR p.workload = ?) AND p.seq > ? ORDER BY p.seq LIMIT ?"
    );
    let kind = workload.map(Workload::unit_kind);
    let rows = sqlx::query(&numbered(&sql))
        .bind(tenant)
        .bind(kind)
        .bind(kind)
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(policy_from_row).collect()
}

/// Sets the policy's status: `updating` while a settle job is due, else derived from its units.
pub(super) async fn refresh_policy(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    pending_job: bool,
    w: Option<&Writer<'_>>,
) -> StoreResult<()> {
    let enabled: i64 =
        sqlx::query_scalar(&numbered("SELECT enabled FROM protection_policies WHERE tenant_id = ? AND id = ?"))
            .bind(tenant)
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    let rows =
        sqlx::query(&numbered("SELECT status, error_code FROM protection_units WHERE tenant_id = ? AND policy_id = ?"))
            .bind(tenant)
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let mut statuses = Vec::with_capacity(rows.len());
    let mut errors = 0;
    for r in &rows {
        let s: String = r.try_get("status")?;
        statuses.push(ProtectionUnitStatus::parse(&s).map_or_else(|| corrupt("unit status", &s), Ok)?);
        errors += usize::from(r.try_get::<Option<String>, _>("error_code")?.is_some());
    }
    let status = if pending_job { PolicyStatus::Updating } else { derive_policy(enabled != 0, &statuses, errors) };
    match w {
        Some(w) => {
            sqlx::query(&numbered(
                "UPDATE protection_policies SET status = ?, last_modified_at = ?, last_modified_by = ? \
                 WHERE tenant_id = ? AND id = ?",
            ))
            .bind(status.as_str())
            .bind(micros(w.now))
            .bind(actor_json(w.actor))
            .bind(tenant)
            .bind(id)
            .execute(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(&numbered("UPDATE protection_policies SET status = ? WHERE tenant_id = ? AND id = ?"))
                .bind(status.as_str())
                .bind(tenant)
                .bind(id)
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(())
}

/// Queues the policy's settle job (one row per policy, re-armed once it is done).
pub(super) async fn enqueue_settle(
    conn: &mut AnyConnection,
    tenant: &str,
    policy_id: &str,
    now: Timestamp,
) -> StoreResult<()> {
    rearm(conn, tenant, policy_id, policy_id, SETTLE_POLICY_JOB, now).await
}

pub(super) async fn register_resources(
    conn: &mut AnyConnection,
    tenant: &str,
    resources: &[DirectoryResource],
) -> StoreResult<u64> {
    let mut added = 0;
    for r in resources {
        let Some(resource_id) = r.resource_id() else { continue };
        added += sqlx::query(&numbered(
            "INSERT INTO directory_resources (tenant_id, workload, resource_id, site_id, site_name, site_web_url, \
             directory_object_id, display_name, email, fault) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        ))
        .bind(tenant)
        .bind(r.workload.unit_kind())
        .bind(resource_id)
        .bind(&r.site_id)
        .bind(&r.site_name)
        .bind(&r.site_web_url)
        .bind(&r.directory_object_id)
        .bind(&r.display_name)
        .bind(&r.email)
        .bind(&r.fault)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if let Some(owner) = &r.directory_object_id {
            for group in &r.groups {
                sqlx::query(&numbered(
                    "INSERT INTO directory_groups (tenant_id, directory_object_id, group_id) VALUES (?, ?, ?) \
                     ON CONFLICT DO NOTHING",
                ))
                .bind(tenant)
                .bind(owner)
                .bind(group)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(added)
}

pub(super) fn resource_from_row(row: &AnyRow, w: Workload) -> StoreResult<DirectoryResource> {
    Ok(DirectoryResource {
        workload: w,
        site_id: row.try_get("site_id")?,
        site_name: row.try_get("site_name")?,
        site_web_url: row.try_get("site_web_url")?,
        directory_object_id: row.try_get("directory_object_id")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        fault: row.try_get("fault")?,
        groups: Vec::new(),
    })
}

/// A resource of the tenant by id (site id or directory object id), case-insensitively.
pub(super) async fn find_resource(
    conn: &mut AnyConnection,
    tenant: &str,
    w: Workload,
    resource_id: &str,
) -> StoreResult<Option<DirectoryResource>> {
    let row = sqlx::query(&numbered(
        "SELECT * FROM directory_resources WHERE tenant_id = ? AND workload = ? AND lower(resource_id) = lower(?)",
    ))
    .bind(tenant)
    .bind(w.unit_kind())
    .bind(resource_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(|r| resource_from_row(r, w)).transpose()
}

pub(super) async fn load_unit(conn: &mut AnyConnection, tenant: &str, id: &str) -> StoreResult<Option<UnitRow>> {
    let sql = format!("SELECT {UNIT_COLUMNS} FROM protection_units WHERE tenant_id = ? AND id = ?");
    let row = sqlx::query(&numbered(&sql)).bind(tenant).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(unit_row).transpose()
}

/// Why one resource could not join a policy.
enum AttachProblem {
    Unknown,
    InPolicy,
}

/// Puts the resource's unit (created on first use) into `policy`: `protectRequested` when the
/// policy is on, `unprotected` until it is activated otherwise.
async fn attach(
    conn: &mut AnyConnection,
    w: &Writer<'_>,
    policy: &PolicyRecord,
    resource_id: &str,
) -> StoreResult<Result<ProtectionUnitRecord, AttachProblem>> {
    let Some(resource) = find_resource(conn, w.tenant, policy.workload, resource_id).await? else {
        return Ok(Err(AttachProblem::Unknown));
    };
    let canonical = resource.resource_id().unwrap_or(resource_id).to_owned();
    let unit_id = policy::unit_id(w.tenant, policy.workload, &canonical);
    let status =
        if policy.enabled { ProtectionUnitStatus::ProtectRequested } else { ProtectionUnitStatus::Unprotected };
    match load_unit(conn, w.tenant, &unit_id).await? {
        Some(existing) if existing.unit.policy_id.is_some() => return Ok(Err(AttachProblem::InPolicy)),
        Some(_) => {
            sqlx::query(
                &numbered("UPDATE protection_units SET policy_id = ?, status = ?, protection_sources = 'manual', rule_id = NULL, \
                 offboard_requested_at = NULL, error_code = NULL, error_message = NULL, last_modified_at = ?, \
                 last_modified_by = ? WHERE tenant_id = ? AND id = ?"),
            )
            .bind(&policy.id)
            .bind(status.as_str())
            .bind(micros(w.now))
            .bind(actor_json(w.actor))
            .bind(w.tenant)
            .bind(&unit_id)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query(&numbered(
                "INSERT INTO protection_units (tenant_id, id, workload, policy_id, status, site_id, site_name, \
                 site_web_url, directory_object_id, display_name, email, created_at, created_by, fault, resource_id, \
                 last_modified_at, last_modified_by, protection_sources) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'manual')",
            ))
            .bind(w.tenant)
            .bind(&unit_id)
            .bind(policy.workload.unit_kind())
            .bind(&policy.id)
            .bind(status.as_str())
            .bind(&resource.site_id)
            .bind(&resource.site_name)
            .bind(&resource.site_web_url)
            .bind(&resource.directory_object_id)
            .bind(&resource.display_name)
            .bind(&resource.email)
            .bind(micros(w.now))
            .bind(actor_json(w.actor))
            .bind(&resource.fault)
            .bind(&canonical)
            .bind(micros(w.now))
            .bind(actor_json(w.actor))
            .execute(&mut *conn)
            .await?;
        }
    }
    let row = load_unit(conn, w.tenant, &unit_id).await?.expect("the unit was just written");
    Ok(Ok(row.unit))
}

/// What became of a resource a job (a unit bulk job, an inclusion rule) put into a policy.
pub(super) enum Joined {
    /// The unit's id, and whether it waits for the policy's settle job.
    Added {
        unit_id: String,
        requested: bool,
    },
    /// In this policy already: nothing to do, nothing to report.
    AlreadyIn,
    InOtherPolicy,
    Unknown,
}

pub(super) async fn join(
    conn: &mut AnyConnection,
    w: &Writer<'_>,
    policy: &PolicyRecord,
    resource_id: &str,
) -> StoreResult<Joined> {
    Ok(match attach(conn, w, policy, resource_id).await? {
        Ok(unit) => Joined::Added { requested: is_requested(unit.status), unit_id: unit.info.id },
        Err(AttachProblem::Unknown) => Joined::Unknown,
        Err(AttachProblem::InPolicy) => {
            let here: Option<i64> = sqlx::query_scalar(
                &numbered("SELECT 1 FROM protection_units WHERE tenant_id = ? AND workload = ? AND lower(resource_id) = lower(?) \
                 AND policy_id = ?"),
            )
            .bind(w.tenant)
            .bind(policy.workload.unit_kind())
            .bind(resource_id)
            .bind(&policy.id)
            .fetch_optional(&mut *conn)
            .await?;
            if here.is_some() {
                Joined::AlreadyIn
            } else {
                Joined::InOtherPolicy
            }
        }
    })
}

pub(super) async fn create_policy(
    conn: &mut AnyConnection,
    w: Writer<'_>,
    workload: Workload,
    display_name: Option<String>,
    resource_ids: Vec<String>,
) -> StoreResult<PolicyRecord> {
    let active: Option<i64> = sqlx::query_scalar(&numbered(
        "SELECT 1 FROM protection_policies WHERE tenant_id = ? AND workload = ? AND enabled = 1 LIMIT 1",
    ))
    .bind(w.tenant)
    .bind(workload.unit_kind())
    .fetch_optional(&mut *conn)
    .await?;
    if active.is_some() {
        return Err(RuleError::PolicyCreationNotAllowed.into());
    }
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(&numbered(
        "INSERT INTO protection_policies (tenant_id, id, workload, display_name, enabled, status, created_at, \
         created_by, last_modified_at, last_modified_by) VALUES (?, ?, ?, ?, 0, 'inactive', ?, ?, ?, ?)",
    ))
    .bind(w.tenant)
    .bind(&id)
    .bind(workload.unit_kind())
    .bind(&display_name)
    .bind(micros(w.now))
    .bind(actor_json(w.actor))
    .bind(micros(w.now))
    .bind(actor_json(w.actor))
    .execute(&mut *conn)
    .await?;
    let policy = require_policy(conn, w.tenant, &id, None).await?;
    for resource_id in &resource_ids {
        match attach(conn, &w, &policy, resource_id).await? {
            Ok(_) => {}
            Err(AttachProblem::Unknown) => return Err(RuleError::UnknownResource(resource_id.clone()).into()),
            Err(AttachProblem::InPolicy) => return Err(RuleError::UnitAlreadyProtected(resource_id.clone()).into()),
        }
    }
    refresh_policy(conn, w.tenant, &id, false, None).await?;
    require_policy(conn, w.tenant, &id, None).await
}

pub(super) async fn update_policy(
    conn: &mut AnyConnection,
    w: Writer<'_>,
    id: &str,
    workload: Option<Workload>,
    display_name: Option<String>,
    items: Vec<PolicyDeltaItem>,
) -> StoreResult<(PolicyRecord, Vec<PolicyItemResult>)> {
    let policy = require_policy(conn, w.tenant, id, workload).await?;
    // Request-level refusals first, before anything is written.
    for item in &items {
        if let PolicyDeltaItem::Remove { unit_id, .. } = item {
            if let Some(u) = load_unit(conn, w.tenant, unit_id).await? {
                if u.unit.policy_id.as_deref() == Some(id) && u.unit.sources.contains("dynamicRule") {
                    return Err(RuleError::UnitActionNotAllowed(unit_id.clone()).into());
                }
            }
        }
    }
    if let Some(name) = &display_name {
        sqlx::query(&numbered("UPDATE protection_policies SET display_name = ? WHERE tenant_id = ? AND id = ?"))
            .bind(name)
            .bind(w.tenant)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    let mut results = Vec::with_capacity(items.len());
    let mut needs_job = false;
    for (index, item) in items.into_iter().enumerate() {
        match &item {
            PolicyDeltaItem::Add { resource_id, content_id } => match attach(conn, &w, &policy, resource_id).await? {
                Ok(unit) => {
                    needs_job |= is_requested(unit.status);
                    results.push(PolicyItemResult::Added { unit: Box::new(unit), content_id: content_id.clone() });
                }
                Err(problem) => {
                    let (code, message, response_code) = match problem {
                        AttachProblem::Unknown => (
                            "ProtectionUnitNotFound",
                            format!("No {} '{resource_id}' exists in this tenant.", policy.workload.unit_kind()),
                            404,
                        ),
                        AttachProblem::InPolicy => (
                            "ProtectionUnitAlreadyExists",
                            format!("'{resource_id}' is already protected by a protection policy."),
                            409,
                        ),
                    };
                    results.push(PolicyItemResult::Failed { index, item, code: code.into(), message, response_code });
                }
            },
            PolicyDeltaItem::Remove { unit_id, content_id } => {
                let found = load_unit(conn, w.tenant, unit_id).await?.filter(|u| {
                    u.unit.policy_id.as_deref() == Some(id) && u.unit.status != ProtectionUnitStatus::RemoveRequested
                });
                match found {
                    Some(_) => {
                        set_unit_status(conn, &w, unit_id, ProtectionUnitStatus::RemoveRequested).await?;
                        needs_job = true;
                        let unit = load_unit(conn, w.tenant, unit_id).await?.expect("just updated").unit;
                        results
                            .push(PolicyItemResult::Removed { unit: Box::new(unit), content_id: content_id.clone() });
                    }
                    None => results.push(PolicyItemResult::Failed {
                        index,
                        item: item.clone(),
                        code: "ProtectionUnitNotFound".into(),
                        message: "The identifier to be removed from the Protection Policy does not exist".into(),
                        response_code: 409,
                    }),
                }
            }
        }
    }
    if needs_job {
        enqueue_settle(conn, w.tenant, id, w.now).await?;
    }
    refresh_policy(conn, w.tenant, id, needs_job, Some(&w)).await?;
    Ok((require_policy(conn, w.tenant, id, None).await?, results))
}

pub(super) async fn set_unit_status(
    conn: &mut AnyConnection,
    w: &Writer<'_>,
    unit_id: &str,
    status: ProtectionUnitStatus,
) -> StoreResult<()> {
    sqlx::query(
        &numbered("UPDATE protection_units SET status = ?, last_modified_at = ?, last_modified_by = ? WHERE tenant_id = ? AND id = ?"),
    )
    .bind(status.as_str())
    .bind(micros(w.now))
    .bind(actor_json(w.actor))
    .bind(w.tenant)
    .bind(unit_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn set_policy_enabled(
    conn: &mut AnyConnection,
    w: Writer<'_>,
    id: &str,
    workload: Option<Workload>,
    enable: bool,
    settle_from: Option<Timestamp>,
) -> StoreResult<PolicyRecord> {
    let policy = require_policy(conn, w.tenant, id, workload).await?;
    if enable {
        if policy.enabled || policy.status != PolicyStatus::Inactive {
            return Err(RuleError::PolicyActionNotAllowed(format!(
                "The protection policy is {}; only an inactive policy can be activated.",
                policy.status.as_str()
            ))
            .into());
        }
        let other: Option<String> = sqlx::query_scalar(
            &numbered("SELECT id FROM protection_policies WHERE tenant_id = ? AND workload = ? AND enabled = 1 AND id <> ? LIMIT 1"),
        )
        .bind(w.tenant)
        .bind(policy.workload.unit_kind())
        .bind(id)
        .fetch_optional(&mut *conn)
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
    sqlx::query(&numbered(&format!(
        "UPDATE protection_units SET status = ?, error_code = NULL, error_message = NULL, last_modified_at = ?, \
         last_modified_by = ? WHERE tenant_id = ? AND policy_id = ? AND status IN ({from})"
    )))
    .bind(to.as_str())
    .bind(micros(w.now))
    .bind(actor_json(w.actor))
    .bind(w.tenant)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&numbered("UPDATE protection_policies SET enabled = ? WHERE tenant_id = ? AND id = ?"))
        .bind(i64::from(enable))
        .bind(w.tenant)
        .bind(id)
        .execute(&mut *conn)
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
    require_policy(conn, w.tenant, id, None).await
}

pub(super) async fn delete_policy(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
) -> StoreResult<()> {
    let policy = require_policy(conn, tenant, id, workload).await?;
    if policy.status != PolicyStatus::Inactive {
        return Err(RuleError::PolicyActionNotAllowed(format!(
            "The protection policy is {}; only an inactive policy can be deleted.",
            policy.status.as_str()
        ))
        .into());
    }
    sqlx::query(&numbered(
        "UPDATE protection_units SET policy_id = NULL, status = 'unprotected' WHERE tenant_id = ? AND policy_id = ?",
    ))
    .bind(tenant)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    forget_done_job(conn, tenant, SETTLE_POLICY_JOB, id).await?;
    super::rules::delete_policy_rules(conn, tenant, id).await?;
    sqlx::query(&numbered("DELETE FROM protection_policies WHERE tenant_id = ? AND id = ?"))
        .bind(tenant)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub(super) async fn list_policy_units(
    conn: &mut AnyConnection,
    tenant: &str,
    policy_id: &str,
    after: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<UnitRow>> {
    let sql = format!(
        "SELECT {UNIT_COLUMNS} FROM protection_units WHERE tenant_id = ? AND policy_id = ? AND seq > ? ORDER BY seq LIMIT ?"
    );
    let rows = sqlx::query(&numbered(&sql))
        .bind(tenant)
        .bind(policy_id)
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(unit_row).collect()
}

/// Settles the waiting units of a policy (see `Store::settle_policy`); a policy that is gone is
/// nothing to do.
pub(super) async fn settle(
    conn: &mut AnyConnection,
    tenant: &str,
    policy_id: &str,
    now: Timestamp,
    protected_since: Timestamp,
) -> StoreResult<()> {
    let exists: Option<i64> =
        sqlx::query_scalar(&numbered("SELECT 1 FROM protection_policies WHERE tenant_id = ? AND id = ?"))
            .bind(tenant)
            .bind(policy_id)
            .fetch_optional(&mut *conn)
            .await?;
    if exists.is_none() {
        return Ok(());
    }
    let t = micros(now);
    sqlx::query(
        &numbered("UPDATE protection_units SET status = 'protected', protected_since = ?, protection_epoch = protection_epoch + 1, \
         last_modified_at = ? WHERE tenant_id = ? AND policy_id = ? AND status = 'protectRequested'"),
    )
    .bind(micros(protected_since))
    .bind(t)
    .bind(tenant)
    .bind(policy_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&numbered(
        "UPDATE protection_units SET status = 'unprotected', last_modified_at = ? \
         WHERE tenant_id = ? AND policy_id = ? AND status = 'unprotectRequested'",
    ))
    .bind(t)
    .bind(tenant)
    .bind(policy_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&numbered(
        "UPDATE protection_units SET status = 'unprotected', policy_id = NULL, last_modified_at = ? \
         WHERE tenant_id = ? AND policy_id = ? AND status = 'removeRequested'",
    ))
    .bind(t)
    .bind(tenant)
    .bind(policy_id)
    .execute(&mut *conn)
    .await?;
    refresh_policy(conn, tenant, policy_id, false, None).await
}

/// How long an offboarding request waits (server clock) before the unit is offboarded and its
/// backups go; `cancelOffboard` can stop it until then.
pub fn offboard_grace() -> chrono::Duration {
    chrono::Duration::days(30)
}

pub(super) async fn offboard(
    conn: &mut AnyConnection,
    w: Writer<'_>,
    id: &str,
    cancel: bool,
) -> StoreResult<ProtectionUnitRecord> {
    let unit = load_unit(conn, w.tenant, id).await?.ok_or(RuleError::UnitNotFound)?.unit;
    if !cancel && unit.policy_id.is_some() {
        return Err(RuleError::OperationNotAllowed(
            "The protection unit is still attached to a protection policy. Remove it from the policy first.".into(),
        )
        .into());
    }
    let allowed: &[ProtectionUnitStatus] = if cancel {
        &[ProtectionUnitStatus::OffboardRequested]
    } else {
        &[ProtectionUnitStatus::Unprotected, ProtectionUnitStatus::CancelOffboardRequested]
    };
    if !allowed.contains(&unit.status) {
        return Err(RuleError::OperationNotAllowed(format!(
            "A protection unit in status {} cannot be {}.",
            unit.status.as_str(),
            if cancel { "taken out of offboarding" } else { "offboarded" }
        ))
        .into());
    }
    let (status, requested_at) = if cancel {
        (ProtectionUnitStatus::CancelOffboardRequested, unit.offboard_requested_at.map(micros))
    } else {
        (ProtectionUnitStatus::OffboardRequested, Some(micros(w.now)))
    };
    sqlx::query(
        &numbered("UPDATE protection_units SET status = ?, offboard_requested_at = ?, last_modified_at = ?, last_modified_by = ? \
         WHERE tenant_id = ? AND id = ?"),
    )
    .bind(status.as_str())
    .bind(requested_at)
    .bind(micros(w.now))
    .bind(actor_json(w.actor))
    .bind(w.tenant)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(load_unit(conn, w.tenant, id).await?.expect("just updated").unit)
}

/// Offboarding as time passes: requests past the grace period are carried out (the unit's restore
/// points go, except those an artifact refers to); cancelled ones return the unit to `unprotected`.
pub(super) async fn offboarding_pass(conn: &mut AnyConnection, now: Timestamp) -> StoreResult<u64> {
    let t = micros(now);
    let cancelled = sqlx::query(&numbered(
        "UPDATE protection_units SET status = 'unprotected', offboard_requested_at = NULL, last_modified_at = ? \
         WHERE status = 'cancelOffboardRequested'",
    ))
    .bind(t)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let due = sqlx::query(&numbered(
        "UPDATE protection_units SET status = 'offboarded', last_modified_at = ?1 \
         WHERE status = 'offboardRequested' AND offboard_requested_at <= ?2 RETURNING tenant_id, id",
    ))
    .bind(t)
    .bind(micros(now - offboard_grace()))
    .fetch_all(&mut *conn)
    .await?;
    for row in &due {
        let tenant: String = row.try_get("tenant_id")?;
        let id: String = row.try_get("id")?;
        sqlx::query(&numbered(
            "DELETE FROM restore_points WHERE tenant_id = ? AND protection_unit_id = ? AND NOT EXISTS \
             (SELECT 1 FROM restore_artifacts a WHERE a.tenant_id = restore_points.tenant_id \
              AND a.restore_point_id = restore_points.id)",
        ))
        .bind(&tenant)
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(cancelled + due.len() as u64)
}

const JOB_COLUMNS: &str = "seq, id, policy_id, workload, display_name, status, addresses, object_ids, error, \
    created_at, created_by, last_modified_at, last_modified_by";

fn job_from_row(row: &AnyRow) -> StoreResult<UnitBulkJobRecord> {
    let error = stored_error(row.try_get("error")?)?;
    Ok(UnitBulkJobRecord {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        policy_id: row.try_get("policy_id")?,
        workload: workload(row.try_get("workload")?)?,
        display_name: row.try_get("display_name")?,
        status: row.try_get("status")?,
        addresses: json_list(row.try_get("addresses")?)?,
        object_ids: json_list(row.try_get("object_ids")?)?,
        error,
        created_at: from_micros(row.try_get("created_at")?)?,
        created_by: actor(row.try_get("created_by")?)?,
        last_modified_at: from_micros(row.try_get("last_modified_at")?)?,
        last_modified_by: actor(row.try_get("last_modified_by")?)?,
    })
}

pub(super) async fn load_job(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
) -> StoreResult<Option<UnitBulkJobRecord>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM unit_bulk_jobs WHERE tenant_id = ? AND id = ?");
    let row = sqlx::query(&numbered(&sql)).bind(tenant).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(job_from_row).transpose()
}

pub(super) async fn create_unit_bulk_job(
    conn: &mut AnyConnection,
    w: Writer<'_>,
    policy_id: &str,
    workload: Workload,
    display_name: Option<String>,
    addresses: Vec<String>,
    object_ids: Vec<String>,
) -> StoreResult<UnitBulkJobRecord> {
    require_policy(conn, w.tenant, policy_id, Some(workload)).await?;
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        &numbered("INSERT INTO unit_bulk_jobs (tenant_id, id, policy_id, workload, display_name, status, addresses, object_ids, \
         created_at, created_by, last_modified_at, last_modified_by) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)"),
    )
    .bind(w.tenant)
    .bind(&id)
    .bind(policy_id)
    .bind(workload.unit_kind())
    .bind(&display_name)
    .bind(serde_json::to_string(&addresses).expect("strings serialize"))
    .bind(serde_json::to_string(&object_ids).expect("strings serialize"))
    .bind(micros(w.now))
    .bind(actor_json(w.actor))
    .bind(micros(w.now))
    .bind(actor_json(w.actor))
    .execute(&mut *conn)
    .await?;
    enqueue(conn, w.tenant, policy_id, &id, RESOLVE_UNIT_JOB, w.now).await?;
    Ok(load_job(conn, w.tenant, &id).await?.expect("just inserted"))
}

pub(super) async fn list_unit_bulk_jobs(
    conn: &mut AnyConnection,
    tenant: &str,
    workload: Workload,
    policy_id: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<UnitBulkJobRecord>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM unit_bulk_jobs WHERE tenant_id = ? AND workload = ? AND (? IS NULL OR policy_id = ?) \
         AND seq > ? ORDER BY seq LIMIT ?"
    );
    let rows = sqlx::query(&numbered(&sql))
        .bind(tenant)
        .bind(workload.unit_kind())
        .bind(policy_id)
        .bind(policy_id)
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(job_from_row).collect()
}

/// A resource of the tenant by address: a site URL (trailing `/` ignored) or an e-mail address.
async fn find_by_address(
    conn: &mut AnyConnection,
    tenant: &str,
    w: Workload,
    address: &str,
) -> StoreResult<Option<String>> {
    let sql = match w {
        Workload::SharePoint => {
            "SELECT resource_id FROM directory_resources WHERE tenant_id = ? AND workload = ? \
             AND lower(rtrim(site_web_url, '/')) = lower(rtrim(?, '/'))"
        }
        Workload::Exchange | Workload::OneDrive => {
            "SELECT resource_id FROM directory_resources WHERE tenant_id = ? AND workload = ? AND lower(email) = lower(?)"
        }
    };
    Ok(sqlx::query_scalar(&numbered(sql)).bind(tenant).bind(w.unit_kind()).bind(address).fetch_optional(conn).await?)
}

pub(super) async fn resolve_unit_bulk_job(conn: &mut AnyConnection, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
    if !holds_lease(conn, job, now).await? {
        return Ok(false);
    }
    let tenant = job.tenant_id.as_str();
    if let Some(bulk) = load_job(conn, tenant, &job.artifact_id).await?.filter(|j| j.status == "active") {
        let creator = bulk.created_by.clone();
        let w = Writer { tenant, actor: &creator, now };
        let mut details = Vec::new();
        let mut needs_settle = false;
        let total = bulk.addresses.len() + bulk.object_ids.len();
        match load_policy(conn, tenant, &bulk.policy_id, Some(bulk.workload)).await? {
            None => details.push(ErrorDetail {
                code: "PolicyNotFound".into(),
                message: "The protection policy of this job no longer exists.".into(),
                target: bulk.policy_id.clone(),
            }),
            Some(policy) => {
                let names = bulk.addresses.iter().map(|a| (a, true)).chain(bulk.object_ids.iter().map(|i| (i, false)));
                for (name, by_address) in names {
                    let resource = if by_address {
                        find_by_address(conn, tenant, bulk.workload, name).await?
                    } else {
                        find_resource(conn, tenant, bulk.workload, name)
                            .await?
                            .and_then(|r| r.resource_id().map(str::to_owned))
                    };
                    let Some(resource) = resource else {
                        details.push(ErrorDetail {
                            code: "ProtectionUnitNotFound".into(),
                            message: format!(
                                "No {} known as '{name}' exists in this tenant.",
                                bulk.workload.unit_kind()
                            ),
                            target: name.clone(),
                        });
                        continue;
                    };
                    match join(conn, &w, &policy, &resource).await? {
                        Joined::Added { requested, .. } => needs_settle |= requested,
                        Joined::AlreadyIn => {}
                        Joined::InOtherPolicy => details.push(ErrorDetail {
                            code: "ProtectionUnitAlreadyExists".into(),
                            message: format!("'{name}' is already protected by another protection policy."),
                            target: name.clone(),
                        }),
                        Joined::Unknown => details.push(ErrorDetail {
                            code: "ProtectionUnitNotFound".into(),
                            message: format!(
                                "No {} known as '{name}' exists in this tenant.",
                                bulk.workload.unit_kind()
                            ),
                            target: name.clone(),
                        }),
                    }
                }
                if needs_settle {
                    enqueue_settle(conn, tenant, &policy.id, now).await?;
                }
                refresh_policy(conn, tenant, &policy.id, needs_settle, None).await?;
            }
        }
        let message = format!("{} of {total} resources could not be added to the protection policy.", details.len());
        record_outcome(conn, OutcomeTable::UnitBulkJobs, tenant, &bulk.id, details, message, now).await?;
    }
    finish_job_row(conn, job, now).await?;
    Ok(true)
}
