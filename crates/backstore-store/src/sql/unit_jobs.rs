//! Protection unit bulk addition jobs: queued on a policy, resolved by the engine (each resource joins
//! the policy or gets an error detail).

use super::stored::by_id;

use super::tx::Tx;
use backstore_domain::{Timestamp, Workload};

use super::directory::{find_by_address, find_resource};
use super::jobs::{enqueue, Queue};
use super::outcome::{record_outcome, stored_error, OutcomeTable};
use super::policies::{enqueue_settle, load_policy, refresh_policy, require_policy};
use super::read::{Col, Columns};
use super::rows::{actor_json, json_list, micros, stamps, workload};
use super::units::{join, Joined};
use super::Lock;
use crate::{ErrorDetail, JobKind, JobRef, Store, StoreResult, UnitBulkJobRecord, Writer};

pub(super) const JOB_COLUMNS: &str =
    "seq, id, policy_id, workload, display_name, status, addresses, object_ids, error, \
    created_at, created_by, last_modified_at, last_modified_by";

pub(super) fn job_from_row(row: &dyn Columns) -> StoreResult<UnitBulkJobRecord> {
    let error = stored_error(row.col("error")?)?;
    Ok(UnitBulkJobRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        policy_id: row.col("policy_id")?,
        workload: workload(&row.col::<String>("workload")?)?,
        display_name: row.col("display_name")?,
        status: row.col("status")?,
        addresses: json_list(&row.col::<String>("addresses")?)?,
        object_ids: json_list(&row.col::<String>("object_ids")?)?,
        error,
        stamps: stamps(row)?,
    })
}

super::stored::stored!(UnitBulkJobRecord, "unit_bulk_jobs", JOB_COLUMNS, job_from_row; under_policy);

/// What a `resolveUnitJob` job does: each resource of an active bulk job joins its policy or gets
/// an error detail.
async fn resolve(conn: &mut Tx, job: &JobRef, now: Timestamp) -> StoreResult<()> {
    let tenant = job.tenant_id.as_str();
    if let Some(bulk) =
        by_id::<UnitBulkJobRecord>(&mut *conn, tenant, &job.target_id).await?.filter(|j| j.status == "active")
    {
        let creator = bulk.stamps.created_by.clone();
        let w = Writer { tenant, actor: &creator, now };
        let mut details = Vec::new();
        let mut needs_settle = false;
        let total = bulk.addresses.len() + bulk.object_ids.len();
        match load_policy(&mut *conn, tenant, &bulk.policy_id, Some(bulk.workload)).await? {
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
                            .and_then(|r| r.resource.resource_id().map(str::to_owned))
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
    Ok(())
}

impl Store {
    /// Queues a bulk addition job on a policy of `workload`; the engine resolves it.
    pub async fn create_unit_bulk_job(
        &self,
        w: Writer<'_>,
        policy_id: &str,
        workload: Workload,
        display_name: Option<String>,
        addresses: Vec<String>,
        object_ids: Vec<String>,
    ) -> StoreResult<UnitBulkJobRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
    require_policy(conn, w.tenant, policy_id, Some(workload)).await?;
    let id = uuid::Uuid::new_v4().to_string();
    exec!(
        conn,
        "INSERT INTO unit_bulk_jobs (tenant_id, id, policy_id, workload, display_name, status, addresses, object_ids, \
         created_at, created_by, last_modified_at, last_modified_by) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)",
        w.tenant, &id, policy_id, workload.unit_kind(), &display_name,
        serde_json::to_string(&addresses).expect("strings serialize"),
        serde_json::to_string(&object_ids).expect("strings serialize"), micros(w.now), actor_json(w.actor),
        micros(w.now), actor_json(w.actor),
    )
    .await?;
    enqueue(conn, (w.tenant, policy_id, &id), JobKind::ResolveUnitJob, Queue::Once, w.now).await?;
    Ok(by_id::<UnitBulkJobRecord>(&mut *conn, w.tenant, &id).await?.expect("just inserted"))
})
        .await
    }

    /// Runs a claimed `ResolveUnitJob` job: each resource joins the policy or gets an error
    /// detail. False when the lease was lost.
    pub async fn resolve_unit_bulk_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        self.complete_job(job, now, async move |tx| resolve(tx, job, now).await).await
    }
}
