//! beta exclusion unit bulk addition jobs: resources named by address (site URLs, e-mail
//! addresses) queued on a full-service policy, resolved by the engine into exclusion units (each
//! resource excluded, or an error detail).

use backstore_domain::{RuleError, Timestamp, Workload};

use super::directory::find_by_address;
use super::exclusions::apply_exclusions;
use super::jobs::{enqueue, Queue};
use super::outcome::{record_outcome, stored_error, OutcomeTable};
use super::policies::{enqueue_settle, load_policy, refresh_policy, require_policy};
use super::read::{Col, Columns};
use super::rows::{actor_json, json_list, micros, stamps, workload};
use super::stored::by_id;
use super::tx::Tx;
use super::Lock;
use crate::{
    ErrorDetail, ExclusionDeltaItem, ExclusionItemResult, ExclusionJobRecord, JobKind, JobRef, Store, StoreResult,
    Writer,
};

const JOB_COLUMNS: &str = "seq, id, policy_id, workload, display_name, status, addresses, error, \
    created_at, created_by, last_modified_at, last_modified_by";

fn job_from_row(row: &dyn Columns) -> StoreResult<ExclusionJobRecord> {
    Ok(ExclusionJobRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        policy_id: row.col("policy_id")?,
        workload: workload(&row.col::<String>("workload")?)?,
        display_name: row.col("display_name")?,
        status: row.col("status")?,
        addresses: json_list(&row.col::<String>("addresses")?)?,
        error: stored_error(row.col("error")?)?,
        stamps: stamps(row)?,
    })
}

super::stored::stored!(ExclusionJobRecord, "exclusion_bulk_jobs", JOB_COLUMNS, job_from_row; under_policy);

fn not_found(workload: Workload, name: &str) -> ErrorDetail {
    ErrorDetail {
        code: "ExclusionUnitNotFound".into(),
        message: format!("No {} known as '{name}' exists in this tenant.", workload.unit_kind()),
        target: name.to_owned(),
    }
}

/// What a `resolveExclusionJob` job does: each address of an active job is excluded from its
/// policy (one excluded already is left as it is), or gets an error detail.
async fn resolve(conn: &mut Tx, job: &JobRef, now: Timestamp) -> StoreResult<()> {
    let tenant = job.tenant_id.as_str();
    let Some(bulk) =
        by_id::<ExclusionJobRecord>(&mut *conn, tenant, &job.target_id).await?.filter(|j| j.status == "active")
    else {
        return Ok(());
    };
    let creator = bulk.stamps.created_by.clone();
    let w = Writer { tenant, actor: &creator, now };
    let mut details = Vec::new();
    match load_policy(&mut *conn, tenant, &bulk.policy_id, Some(bulk.workload)).await?.filter(|p| p.full_service) {
        None => details.push(ErrorDetail {
            code: "PolicyNotFound".into(),
            message: "The full-service protection policy of this job no longer exists.".into(),
            target: bulk.policy_id.clone(),
        }),
        Some(policy) => {
            let mut items = Vec::new();
            let mut named = Vec::new();
            for address in &bulk.addresses {
                match find_by_address(conn, tenant, bulk.workload, address).await? {
                    Some(resource_id) => {
                        items.push(ExclusionDeltaItem::Add { resource_id, content_id: None });
                        named.push(address);
                    }
                    None => details.push(not_found(bulk.workload, address)),
                }
            }
            let (results, needs_settle) = apply_exclusions(conn, &w, &policy, items).await?;
            for r in results {
                if let ExclusionItemResult::Failed { index, code, message, .. } = r {
                    if code != "ExclusionUnitAlreadyExists" {
                        details.push(ErrorDetail { code, message, target: named[index].clone() });
                    }
                }
            }
            if needs_settle {
                enqueue_settle(conn, tenant, &policy.id, now).await?;
            }
            refresh_policy(conn, tenant, &policy.id, needs_settle, None).await?;
        }
    }
    let total = bulk.addresses.len();
    let message = format!("{} of {total} resources could not be excluded from the protection policy.", details.len());
    record_outcome(conn, OutcomeTable::ExclusionBulkJobs, tenant, &bulk.id, details, message, now).await
}

impl Store {
    /// Queues an exclusion bulk addition job on a full-service policy of `workload`; the engine
    /// resolves it.
    pub async fn create_exclusion_bulk_job(
        &self,
        w: Writer<'_>,
        policy_id: &str,
        workload: Workload,
        display_name: Option<String>,
        addresses: Vec<String>,
    ) -> StoreResult<ExclusionJobRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            let policy = require_policy(conn, w.tenant, policy_id, Some(workload)).await?;
            if !policy.full_service {
                return Err(RuleError::InvalidCreateRequest(
                    "Exclusion units belong to full-service backup policies (protectionMode 'fullServiceBackup')."
                        .into(),
                )
                .into());
            }
            let id = super::rows::new_id();
            exec!(
                conn,
                "INSERT INTO exclusion_bulk_jobs (tenant_id, id, policy_id, workload, display_name, status, addresses, \
                 created_at, created_by, last_modified_at, last_modified_by) \
                 VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)",
                w.tenant, &id, policy_id, workload.unit_kind(), &display_name,
                serde_json::to_string(&addresses).expect("strings serialize"), micros(w.now), actor_json(w.actor),
                micros(w.now), actor_json(w.actor),
            )
            .await?;
            enqueue(conn, (w.tenant, policy_id, &id), JobKind::ResolveExclusionJob, Queue::Once, w.now).await?;
            Ok(by_id::<ExclusionJobRecord>(&mut *conn, w.tenant, &id).await?.expect("just inserted"))
        })
        .await
    }

    /// Runs a claimed `ResolveExclusionJob` job. False when the lease was lost.
    pub async fn resolve_exclusion_bulk_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        self.complete_job(job, now, async move |tx| resolve(tx, job, now).await).await
    }
}
