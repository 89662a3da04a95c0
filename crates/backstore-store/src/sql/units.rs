//! Protection units: created on first use when a resource joins a policy, kept across removals;
//! their reads, offboarding and the offboarding pass, and fixtures put in place as they are.

use super::rows::and_eq;
use super::stored::by_id;

use super::tx::Tx;
use backstore_domain::policy::is_requested;
use backstore_domain::restore::UnitInfo;
use backstore_domain::{policy, ProtectionUnitStatus, RuleError, Timestamp, Workload};

use super::directory::find_resource;
use super::directory::names_from_row;
use super::listing::{self, Collection, Source};
use super::read::{Col, Columns};
use super::rows::{actor, actor_json, corrupt, error_info, from_micros, kind_scope, micros, opt_from_micros, workload};
use super::tx::On;
use super::Lock;
use crate::{
    Filter, ListSpec, Page, PolicyRecord, ProtectionUnitRecord, RestorePointRecord, Store, StoreResult, UnitRow, Writer,
};

pub(super) const UNIT_COLUMNS: &str =
    "seq, id AS protection_unit_id, workload, policy_id, status, site_id, site_name, site_web_url, \
    directory_object_id, display_name, email, created_at, created_by, fault, last_modified_at, last_modified_by, \
    protected_since, offboard_requested_at, error_code, error_message, protection_sources";

pub(super) fn unit_row(row: &dyn Columns) -> StoreResult<UnitRow> {
    let status: String = row.col("status")?;
    let created_by: Option<String> = row.col("created_by")?;
    let last_modified_by: Option<String> = row.col("last_modified_by")?;
    let created_at = from_micros(row.col("created_at")?)?;
    Ok(UnitRow {
        seq: row.col("seq")?,
        unit: ProtectionUnitRecord {
            info: unit_from_row(row)?,
            policy_id: row.col("policy_id")?,
            status: ProtectionUnitStatus::parse(&status).map_or_else(|| corrupt("unit status", &status), Ok)?,
            created_at,
            created_by: created_by.as_deref().map(actor).transpose()?,
            last_modified_at: opt_from_micros(row.col("last_modified_at")?)?.unwrap_or(created_at),
            last_modified_by: last_modified_by.as_deref().map(actor).transpose()?,
            protected_since: opt_from_micros(row.col("protected_since")?)?,
            offboard_requested_at: opt_from_micros(row.col("offboard_requested_at")?)?,
            error: error_info(row.col("error_code")?, row.col("error_message")?),
            sources: row.col("protection_sources")?,
            fault: row.col("fault")?,
        },
    })
}

pub(super) fn unit_from_row(row: &dyn Columns) -> StoreResult<UnitInfo> {
    let resource = names_from_row(row, workload(&row.col::<String>("workload")?)?)?;
    Ok(UnitInfo { id: row.col("protection_unit_id")?, resource })
}

super::stored::stored!(UnitRow, "protection_units", UNIT_COLUMNS, unit_row);

pub(super) async fn load_unit(on: impl Into<On<'_>>, tenant: &str, id: &str) -> StoreResult<Option<UnitRow>> {
    by_id(on, tenant, id).await
}

/// Why one resource could not join a policy.
pub(super) enum AttachProblem {
    Unknown,
    InPolicy,
}

/// Puts the resource's unit (created on first use) into `policy`: `protectRequested` when the
/// policy is on, `unprotected` until it is activated otherwise.
pub(super) async fn attach(
    conn: &mut Tx,
    w: &Writer<'_>,
    policy: &PolicyRecord,
    resource_id: &str,
) -> StoreResult<Result<ProtectionUnitRecord, AttachProblem>> {
    let Some(resource) = find_resource(conn, w.tenant, policy.workload, resource_id).await? else {
        return Ok(Err(AttachProblem::Unknown));
    };
    let canonical = resource.resource.resource_id().unwrap_or(resource_id).to_owned();
    let unit_id = policy::unit_id(w.tenant, policy.workload, &canonical);
    let status =
        if policy.enabled { ProtectionUnitStatus::ProtectRequested } else { ProtectionUnitStatus::Unprotected };
    match load_unit(&mut *conn, w.tenant, &unit_id).await? {
        Some(existing) if existing.unit.policy_id.is_some() => return Ok(Err(AttachProblem::InPolicy)),
        Some(_) => {
            exec!(
                conn,
                "UPDATE protection_units SET policy_id = ?, status = ?, protection_sources = 'manual', rule_id = NULL, \
                 offboard_requested_at = NULL, error_code = NULL, error_message = NULL, last_modified_at = ?, \
                 last_modified_by = ? WHERE tenant_id = ? AND id = ?",
                &policy.id, status.as_str(), micros(w.now), actor_json(w.actor), w.tenant, &unit_id,
            )
            .await?;
        }
        None => {
            exec!(
                conn,
                "INSERT INTO protection_units (tenant_id, id, workload, policy_id, status, site_id, site_name, \
                 site_web_url, directory_object_id, display_name, email, created_at, created_by, fault, resource_id, \
                 last_modified_at, last_modified_by, protection_sources) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'manual')",
                w.tenant,
                &unit_id,
                policy.workload.unit_kind(),
                &policy.id,
                status.as_str(),
                &resource.resource.site_id,
                &resource.resource.site_name,
                &resource.resource.site_web_url,
                &resource.resource.directory_object_id,
                &resource.resource.display_name,
                &resource.resource.email,
                micros(w.now),
                actor_json(w.actor),
                &resource.fault,
                &canonical,
                micros(w.now),
                actor_json(w.actor)
            )
            .await?;
        }
    }
    let row = load_unit(&mut *conn, w.tenant, &unit_id).await?.expect("the unit was just written");
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
    conn: &mut Tx,
    w: &Writer<'_>,
    policy: &PolicyRecord,
    resource_id: &str,
) -> StoreResult<Joined> {
    Ok(match attach(conn, w, policy, resource_id).await? {
        Ok(unit) => Joined::Added { requested: is_requested(unit.status), unit_id: unit.info.id },
        Err(AttachProblem::Unknown) => Joined::Unknown,
        Err(AttachProblem::InPolicy) => {
            let here: Option<i64> = conn.scalar_opt("SELECT 1 FROM protection_units WHERE tenant_id = ? AND workload = ? AND lower(resource_id) = lower(?) \
                 AND policy_id = ?", args![w.tenant, policy.workload.unit_kind(), resource_id, &policy.id])
            .await?;
            if here.is_some() {
                Joined::AlreadyIn
            } else {
                Joined::InOtherPolicy
            }
        }
    })
}

pub(super) async fn set_unit_status(
    conn: &mut Tx,
    w: &Writer<'_>,
    unit_id: &str,
    status: ProtectionUnitStatus,
) -> StoreResult<()> {
    exec!(
        conn,
        "UPDATE protection_units SET status = ?, last_modified_at = ?, last_modified_by = ? WHERE tenant_id = ? AND id = ?",
        status.as_str(), micros(w.now), actor_json(w.actor), w.tenant, unit_id,
    )
    .await?;
    Ok(())
}

/// How long an offboarding request waits (server clock) before the unit is offboarded and its
/// backups go; `cancelOffboard` can stop it until then.
pub fn offboard_grace() -> chrono::Duration {
    chrono::Duration::days(30)
}

/// Offboarding as time passes: requests past the grace period are carried out (the unit's restore
/// points go, except those an artifact refers to); cancelled ones return the unit to `unprotected`.
pub(super) async fn offboarding_pass(conn: &mut Tx, now: Timestamp) -> StoreResult<u64> {
    let t = micros(now);
    let cancelled = exec!(
        conn,
        "UPDATE protection_units SET status = 'unprotected', offboard_requested_at = NULL, last_modified_at = ? \
         WHERE status = 'cancelOffboardRequested'",
        t
    )
    .await?;
    let due = conn
        .fetch_all(
            "UPDATE protection_units SET status = 'offboarded', last_modified_at = ?1 \
         WHERE status = 'offboardRequested' AND offboard_requested_at <= ?2 RETURNING tenant_id, id",
            args![t, micros(now - offboard_grace())],
        )
        .await?;
    for row in &due {
        let tenant: String = row.col("tenant_id")?;
        let id: String = row.col("id")?;
        exec!(
            conn,
            "DELETE FROM restore_points WHERE tenant_id = ? AND protection_unit_id = ? AND NOT EXISTS \
             (SELECT 1 FROM restore_artifacts a WHERE a.tenant_id = restore_points.tenant_id \
              AND a.restore_point_id = restore_points.id)",
            &tenant,
            &id
        )
        .await?;
    }
    Ok(cancelled + due.len() as u64)
}

/// Protection units as a collection to list and count, of one kind or all.
pub(super) const UNITS: listing::Kinded = (Collection::Units, UNIT_COLUMNS, "protection_units");

impl Store {
    /// The units of one policy, in the order they joined it.
    pub async fn list_policy_units(
        &self,
        tenant: &str,
        policy_id: &str,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<UnitRow>> {
        let select = format!("SELECT {UNIT_COLUMNS} FROM protection_units");
        let scope = and_eq(kind_scope(tenant, None), "policy_id", Some(policy_id));
        listing::after_seq(self, &select, scope, ("seq", after, limit), unit_row).await
    }

    /// How many units a policy has.
    pub async fn count_policy_units(&self, tenant: &str, policy_id: &str) -> StoreResult<i64> {
        listing::count_in(self, "protection_units", and_eq(kind_scope(tenant, None), "policy_id", Some(policy_id)))
            .await
    }

    /// Puts a unit and its points in place as they are (fixtures and imports; no policy rules).
    pub async fn insert_protection_unit(
        &self,
        tenant: &str,
        unit: &ProtectionUnitRecord,
        points: &[RestorePointRecord],
    ) -> StoreResult<()> {
        self.write(Lock::Tenant(tenant), async move |tx| {
            let info = &unit.info;
            exec!(
                tx,
                "INSERT INTO protection_units (tenant_id, id, workload, policy_id, status, site_id, site_name, site_web_url, \
                 directory_object_id, display_name, email, created_at, fault, created_by, resource_id, protected_since, \
                 protection_epoch, last_modified_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (tenant_id, id) DO NOTHING",
                tenant, &info.id, info.resource.workload.unit_kind(), &unit.policy_id, unit.status.as_str(),
                &info.resource.site_id, &info.resource.site_name, &info.resource.site_web_url,
                &info.resource.directory_object_id, &info.resource.display_name, &info.resource.email,
                micros(unit.created_at), &unit.fault, unit.created_by.as_ref().map(actor_json),
                if info.resource.workload == Workload::SharePoint { &info.resource.site_id } else { &info.resource.directory_object_id },
                unit.protected_since.map(micros), i64::from(unit.protected_since.is_some()),
                micros(unit.last_modified_at),
            )
            .await?;
            for p in points {
                exec!(
                    tx,
                    "INSERT INTO restore_points (tenant_id, id, protection_unit_id, protection_at, expiration_at, tags, \
                     unit_seq) VALUES (?, ?, ?, ?, ?, ?, (SELECT seq FROM protection_units WHERE tenant_id = ? AND id = ?)) \
                     ON CONFLICT (tenant_id, id) DO NOTHING",
                    tenant, &p.id, &p.protection_unit_id, micros(p.protection_at), micros(p.expiration_at),
                    p.tags.as_str(), tenant, &p.protection_unit_id,
                )
                .await?;
            }
            Ok(())
        })
        .await
    }

    /// A page of protection units (of one kind, or all) as `spec` asks.
    pub async fn list_units(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        spec: &ListSpec,
    ) -> StoreResult<Page<UnitRow>> {
        listing::page(self, &Source::of_kind(UNITS, tenant, workload), spec, unit_row).await
    }

    pub async fn count_units(&self, tenant: &str, w: Option<Workload>, filter: Option<&Filter>) -> StoreResult<i64> {
        listing::count(self, &Source::of_kind(UNITS, tenant, w), filter).await
    }

    pub async fn get_unit(&self, tenant: &str, id: &str) -> StoreResult<Option<UnitRow>> {
        load_unit(self, tenant, id).await
    }

    /// `offboard` (or, with `cancel`, `cancelOffboard`) a unit that is in no policy.
    pub async fn offboard_unit(&self, w: Writer<'_>, id: &str, cancel: bool) -> StoreResult<ProtectionUnitRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            let unit = load_unit(&mut *conn, w.tenant, id).await?.ok_or(RuleError::UnitNotFound)?.unit;
            if !cancel && unit.policy_id.is_some() {
                return Err(RuleError::OperationNotAllowed(
                    "The protection unit is still attached to a protection policy. Remove it from the policy first."
                        .into(),
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
            exec!(
        conn,
        "UPDATE protection_units SET status = ?, offboard_requested_at = ?, last_modified_at = ?, last_modified_by = ? \
         WHERE tenant_id = ? AND id = ?",
        status.as_str(), requested_at, micros(w.now), actor_json(w.actor), w.tenant, id,
    )
            .await?;
            let unit = load_unit(&mut *conn, w.tenant, id).await?.expect("just updated").unit;
            if !cancel {
                super::activity_logs::log_offboarding(conn, w.tenant, &unit, w.actor, w.now).await?;
            }
            Ok(unit)
        })
        .await
    }
}
