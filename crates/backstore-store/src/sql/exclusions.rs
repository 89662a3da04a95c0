//! beta's full-service protection: a `fullServiceBackup` policy protects every resource of its
//! workload in the tenant's directory (those no other policy holds) but the ones its exclusion
//! units name. Excluding a resource takes its unit out of the policy as a units delta's remove
//! does; dropping the exclusion puts it back. Resources the directory learns later join the
//! workload's full-service policy as they arrive (`Store::register_resources`, in `policies.rs`).

use backstore_domain::{ProtectionUnitStatus, Workload};

use super::directory::{find_resource, names_from_row};
use super::listing;
use super::read::{Col, Columns};
use super::rows::{actor_json, and_eq, kind_scope, micros, stamps, workload};
use super::stored::by_id;
use super::tx::Tx;
use super::units::{attach, set_unit_status, AttachProblem};
use crate::{ExclusionDeltaItem, ExclusionItemResult, ExclusionRecord, PolicyRecord, Store, StoreResult, Writer};

const EXCLUSION_COLUMNS: &str = "seq, id, policy_id, workload, site_id, site_name, site_web_url, \
    directory_object_id, display_name, email, created_at, created_by, last_modified_at, last_modified_by";

fn exclusion_from_row(row: &dyn Columns) -> StoreResult<ExclusionRecord> {
    let w = workload(&row.col::<String>("workload")?)?;
    Ok(ExclusionRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        policy_id: row.col("policy_id")?,
        workload: w,
        resource: names_from_row(row, w)?,
        stamps: stamps(row)?,
    })
}

super::stored::stored!(ExclusionRecord, "exclusion_units", EXCLUSION_COLUMNS, exclusion_from_row; under_policy);

/// Puts every resource of the policy's workload that no policy holds and the policy does not
/// exclude into `policy`; returns how many joined and whether any waits for the settle job.
pub(super) async fn attach_all(conn: &mut Tx, w: &Writer<'_>, policy: &PolicyRecord) -> StoreResult<(usize, bool)> {
    let free: Vec<String> = conn
        .scalars(
            "SELECT d.resource_id FROM directory_resources d WHERE d.tenant_id = ? AND d.workload = ? \
             AND NOT EXISTS (SELECT 1 FROM protection_units u WHERE u.tenant_id = d.tenant_id \
             AND u.workload = d.workload AND lower(u.resource_id) = lower(d.resource_id) AND u.policy_id IS NOT NULL) \
             AND NOT EXISTS (SELECT 1 FROM exclusion_units e WHERE e.tenant_id = d.tenant_id \
             AND e.policy_id = ? AND lower(e.resource_id) = lower(d.resource_id)) ORDER BY d.resource_id",
            args![w.tenant, policy.workload.unit_kind(), &policy.id],
        )
        .await?;
    let (mut joined, mut requested) = (0, false);
    for resource_id in &free {
        if let Ok(unit) = attach(conn, w, policy, resource_id).await? {
            joined += 1;
            requested |= backstore_domain::policy::is_requested(unit.status);
        }
    }
    Ok((joined, requested))
}

/// The tenant's full-service policy of `workload`, if it has one.
pub(super) async fn full_service_policy(
    conn: &mut Tx,
    tenant: &str,
    workload: Workload,
) -> StoreResult<Option<String>> {
    conn.scalar_opt(
        "SELECT id FROM protection_policies WHERE tenant_id = ? AND workload = ? AND protection_mode = 'fullServiceBackup'",
        args![tenant, workload.unit_kind()],
    )
    .await
}

/// Applies an exclusions delta to the full-service `policy`, in request order: an add excludes a
/// resource of the directory (its unit, if in this policy, goes `removeRequested`); a remove
/// drops one of the policy's exclusions (the resource joins again unless another policy holds
/// it). Returns each element's result and whether a unit now waits for the settle job.
pub(super) async fn apply_exclusions(
    conn: &mut Tx,
    w: &Writer<'_>,
    policy: &PolicyRecord,
    items: Vec<ExclusionDeltaItem>,
) -> StoreResult<(Vec<ExclusionItemResult>, bool)> {
    let mut results = Vec::with_capacity(items.len());
    let mut needs_job = false;
    for (index, item) in items.into_iter().enumerate() {
        let failed = |item: ExclusionDeltaItem, code: &str, message: String, response_code: u16| {
            ExclusionItemResult::Failed { index, item, code: code.into(), message, response_code }
        };
        match &item {
            ExclusionDeltaItem::Add { resource_id, content_id } => {
                let Some(found) = find_resource(conn, w.tenant, policy.workload, resource_id).await? else {
                    let message = format!("No {} '{resource_id}' exists in this tenant.", policy.workload.unit_kind());
                    results.push(failed(item, "ExclusionUnitNotFound", message, 404));
                    continue;
                };
                let r = &found.resource;
                let canonical = r.resource_id().unwrap_or(resource_id).to_owned();
                let excluded: Option<i64> = conn
                    .scalar_opt(
                        "SELECT 1 FROM exclusion_units WHERE tenant_id = ? AND policy_id = ? AND lower(resource_id) = lower(?)",
                        args![w.tenant, &policy.id, &canonical],
                    )
                    .await?;
                if excluded.is_some() {
                    let message = format!("'{resource_id}' is already excluded from this policy.");
                    results.push(failed(item, "ExclusionUnitAlreadyExists", message, 409));
                    continue;
                }
                let id = super::rows::new_id();
                exec!(
                    conn,
                    "INSERT INTO exclusion_units (tenant_id, id, policy_id, workload, resource_id, site_id, site_name, \
                     site_web_url, directory_object_id, display_name, email, created_at, created_by, last_modified_at, \
                     last_modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    w.tenant, &id, &policy.id, policy.workload.unit_kind(), &canonical, &r.site_id, &r.site_name,
                    &r.site_web_url, &r.directory_object_id, &r.display_name, &r.email, micros(w.now),
                    actor_json(w.actor), micros(w.now), actor_json(w.actor),
                )
                .await?;
                let unit = backstore_domain::policy::unit_id(w.tenant, policy.workload, &canonical);
                let in_policy: Option<String> = conn
                    .scalar_opt(
                        "SELECT status FROM protection_units WHERE tenant_id = ? AND id = ? AND policy_id = ?",
                        args![w.tenant, &unit, &policy.id],
                    )
                    .await?;
                if in_policy.is_some_and(|s| s != ProtectionUnitStatus::RemoveRequested.as_str()) {
                    set_unit_status(conn, w, &unit, ProtectionUnitStatus::RemoveRequested).await?;
                    needs_job = true;
                }
                let exclusion = by_id::<ExclusionRecord>(&mut *conn, w.tenant, &id).await?.expect("just written");
                results.push(ExclusionItemResult::Added {
                    exclusion: Box::new(exclusion),
                    content_id: content_id.clone(),
                });
            }
            ExclusionDeltaItem::Remove { id, content_id } => {
                let found =
                    by_id::<ExclusionRecord>(&mut *conn, w.tenant, id).await?.filter(|e| e.policy_id == policy.id);
                let Some(exclusion) = found else {
                    let message = "The identifier to be removed from the exclusion units does not exist".into();
                    results.push(failed(item, "ExclusionUnitNotFound", message, 409));
                    continue;
                };
                exec!(conn, "DELETE FROM exclusion_units WHERE tenant_id = ? AND id = ?", w.tenant, id).await?;
                let resource_id = exclusion.resource.resource_id().unwrap_or_default().to_owned();
                match attach(conn, w, policy, &resource_id).await? {
                    Ok(unit) => needs_job |= backstore_domain::policy::is_requested(unit.status),
                    Err(AttachProblem::InPolicy | AttachProblem::Unknown) => {}
                }
                results.push(ExclusionItemResult::Removed {
                    exclusion: Box::new(exclusion),
                    content_id: content_id.clone(),
                });
            }
        }
    }
    Ok((results, needs_job))
}

impl Store {
    /// Exclusion units of the tenant: of one workload (and one policy), or of all.
    pub async fn list_exclusions(
        &self,
        (tenant, workload, policy_id): (&str, Option<Workload>, Option<&str>),
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<ExclusionRecord>> {
        let select = format!("SELECT {EXCLUSION_COLUMNS} FROM exclusion_units");
        let scope = and_eq(kind_scope(tenant, workload), "policy_id", policy_id);
        listing::after_seq(self, &select, scope, ("seq", after, limit), exclusion_from_row).await
    }

    pub async fn count_exclusions(
        &self,
        (tenant, workload, policy_id): (&str, Option<Workload>, Option<&str>),
    ) -> StoreResult<i64> {
        let scope = and_eq(kind_scope(tenant, workload), "policy_id", policy_id);
        listing::count_in(self, "exclusion_units", scope).await
    }

    /// One exclusion unit, of `workload` when given.
    pub async fn get_exclusion(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        id: &str,
    ) -> StoreResult<Option<ExclusionRecord>> {
        let e = by_id::<ExclusionRecord>(self, tenant, id).await?;
        Ok(e.filter(|e| workload.is_none_or(|w| w == e.workload)))
    }
}
