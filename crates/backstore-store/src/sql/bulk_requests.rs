//! Restore artifact bulk addition requests: attached to an empty draft, resolved by the engine into
//! artifacts after activation.

use super::tx::Tx;
use backstore_domain::error::SessionAction;
use backstore_domain::{
    ArtifactAdd, ArtifactStatus, DestinationType, RestorePointTags, RuleError, Timestamp, Workload,
};

use super::artifacts::insert_artifact;
use super::jobs::{enqueue, Queue};
use super::outcome::{record_outcome, stored_error, OutcomeTable};
use super::read::{Col, Columns, Cost};
use super::restore_points::{restore_point_problems, restore_points_where};
use super::rows::{actor_json, corrupt, json_list, micros, opt_from_micros, stamps};
use super::sessions::{load_session, refresh_session, reload_session, require_draft, touch_session};
use super::steps::apply_step;
use super::stored::by_id;
use super::Lock;
use crate::{
    ArtifactStep, BulkRequestRecord, BulkRequestSpec, ErrorDetail, JobKind, JobRef, RestorePointQuery,
    RestorePointRecord, Store, StoreError, StoreResult, Writer,
};

pub(super) const BULK_COLUMNS: &str =
    "seq, id, session_id, display_name, destination_type, status, period_start, period_end, \
    preference, tags, addresses, object_ids, error, created_at, created_by, last_modified_at, last_modified_by";

pub(super) fn bulk_from_row(row: &dyn Columns) -> StoreResult<BulkRequestRecord> {
    let destination: String = row.col("destination_type")?;
    let tags: Option<String> = row.col("tags")?;
    let error = stored_error(row.col("error")?)?;
    Ok(BulkRequestRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        session_id: row.col("session_id")?,
        spec: BulkRequestSpec {
            display_name: row.col("display_name")?,
            destination: DestinationType::parse(&destination)
                .map_or_else(|| corrupt("destination", &destination), Ok)?,
            period_start: opt_from_micros(row.col("period_start")?)?,
            period_end: opt_from_micros(row.col("period_end")?)?,
            latest: row.col::<String>("preference")? == "latest",
            tags: tags.as_deref().and_then(RestorePointTags::parse),
            addresses: json_list(&row.col::<String>("addresses")?)?,
            object_ids: json_list(&row.col::<String>("object_ids")?)?,
        },
        status: row.col("status")?,
        error,
        stamps: stamps(row)?,
    })
}

super::stored::stored!(BulkRequestRecord, "bulk_requests", BULK_COLUMNS, bulk_from_row);

/// The protection unit of `workload` a bulk request names by address (e-mail or site URL) or by id.
pub(super) async fn unit_for(
    conn: &mut Tx,
    tenant: &str,
    workload: Workload,
    name: &str,
    by_address: bool,
) -> StoreResult<Option<String>> {
    let sql = match (workload, by_address) {
        (Workload::SharePoint, true) => {
            "SELECT id FROM protection_units WHERE tenant_id = ? AND workload = ? AND lower(rtrim(site_web_url, '/')) = lower(rtrim(?, '/'))"
        }
        (Workload::SharePoint, false) => {
            "SELECT id FROM protection_units WHERE tenant_id = ? AND workload = ? AND (site_id = ?3 OR site_id LIKE '%,' || ?3 || ',%')"
        }
        (_, true) => "SELECT id FROM protection_units WHERE tenant_id = ? AND workload = ? AND lower(email) = lower(?)",
        (_, false) => "SELECT id FROM protection_units WHERE tenant_id = ? AND workload = ? AND directory_object_id = ?",
    };
    conn.scalar_opt(sql, args![tenant, workload.unit_kind(), name]).await
}

impl Store {
    /// Attaches a bulk addition request to a draft session without artifacts or another request; the
    /// session's job type becomes `bulk`.
    pub async fn create_bulk_request(
        &self,
        w: Writer<'_>,
        session_id: &str,
        workload: Workload,
        spec: BulkRequestSpec,
    ) -> StoreResult<BulkRequestRecord> {
        let Writer { tenant, actor, now } = w;
        self.write(Lock::Tenant(w.tenant), async move |tx| {
            let session = require_draft(tx, tenant, session_id, Some(workload), SessionAction::Patch).await?;
            if session.derived.total > 0 {
                return Err(RuleError::InvalidBulkRequest(
                    "The restore session already has artifacts; manual artifacts and a bulk addition request cannot be mixed.".into(),
                )
                .into());
            }
            let existing: Option<i64> =
                tx.scalar_opt("SELECT 1 FROM bulk_requests WHERE tenant_id = ? AND session_id = ?", args![tenant, session_id])
                    .await?;
            if existing.is_some() {
                return Err(
                    RuleError::InvalidBulkRequest("A restore session takes one bulk addition request.".into()).into()
                );
            }
            let id = uuid::Uuid::new_v4().to_string();
            exec!(
                tx,
                "INSERT INTO bulk_requests (tenant_id, id, session_id, display_name, destination_type, status, period_start, \
                 period_end, preference, tags, addresses, object_ids, created_at, created_by, last_modified_at, last_modified_by) \
                 VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tenant, &id, session_id, &spec.display_name, spec.destination.as_str(), spec.period_start.map(micros),
                spec.period_end.map(micros), if spec.latest { "latest" } else { "oldest" },
                spec.tags.map(RestorePointTags::as_str),
                serde_json::to_string(&spec.addresses).expect("strings serialize"),
                serde_json::to_string(&spec.object_ids).expect("strings serialize"), micros(now), actor_json(actor),
                micros(now), actor_json(actor),
            )
            .await?;
            exec!(
                tx,
                "UPDATE restore_sessions SET restore_job_type = 'bulk' WHERE tenant_id = ? AND id = ?",
                tenant, session_id,
            )
                .await?;
            touch_session(tx, tenant, session_id, actor, now).await?;
            let record = by_id::<BulkRequestRecord>(&mut *tx, tenant, &id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("bulk request vanished".into()))?;
            Ok(record)
        })
        .await
    }

    /// The requests of a session (none or one); `None` when the session does not exist.
    pub async fn list_bulk_requests(
        &self,
        tenant: &str,
        session_id: &str,
        workload: Workload,
    ) -> StoreResult<Option<Vec<BulkRequestRecord>>> {
        if load_session(self, tenant, session_id, Some(workload)).await?.is_none() {
            return Ok(None);
        }
        let sql =
            format!("SELECT {BULK_COLUMNS} FROM bulk_requests WHERE tenant_id = ? AND session_id = ? ORDER BY seq");
        Ok(Some(self.read_rows(Cost::Seek, &sql, args![tenant, session_id], bulk_from_row).await?))
    }

    /// Deletes a finished (`completed` / `completedWithErrors`) request.
    pub async fn delete_bulk_request(
        &self,
        tenant: &str,
        session_id: &str,
        workload: Workload,
        id: &str,
    ) -> StoreResult<()> {
        self.write(Lock::Tenant(tenant), async move |tx| {
            load_session(&mut *tx, tenant, session_id, Some(workload)).await?.ok_or(RuleError::SessionNotFound)?;
            let request = by_id::<BulkRequestRecord>(&mut *tx, tenant, id)
                .await?
                .filter(|r| r.session_id == session_id)
                .ok_or(RuleError::BulkRequestNotFound)?;
            if request.status == "active" {
                return Err(RuleError::BulkRequestNotFinished.into());
            }
            exec!(tx, "DELETE FROM bulk_requests WHERE tenant_id = ? AND id = ?", tenant, id).await?;
            Ok(())
        })
        .await
    }

    /// Resolves a claimed `ResolveBulk` job: artifacts (already scheduled, each with its restore job)
    /// for the resources that resolve, an error detail for those that do not. False when the lease
    /// was lost.
    pub async fn resolve_bulk_request(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        self.complete_job(job, now, async move |tx| {
            let tenant = job.tenant_id.as_str();
            let request = by_id::<BulkRequestRecord>(&mut *tx, tenant, &job.target_id).await?;
            if let Some(request) = request.filter(|r| r.status == "active") {
                let session = reload_session(tx, tenant, &request.session_id).await?;
                let spec = &request.spec;
                let mut details = Vec::new();
                let mut units: Vec<(String, RestorePointRecord)> = Vec::new();
                let names = spec.addresses.iter().map(|a| (a, true)).chain(spec.object_ids.iter().map(|i| (i, false)));
                for (name, by_address) in names {
                    let Some(unit_id) = unit_for(tx, tenant, session.workload, name, by_address).await? else {
                        details.push(ErrorDetail {
                            code: "ProtectionUnitNotFound".into(),
                            message: format!("No protection unit of this workload is known as '{name}'."),
                            target: name.clone(),
                        });
                        continue;
                    };
                    if units.iter().any(|(u, _)| *u == unit_id) {
                        continue;
                    }
                    let q =
                        RestorePointQuery::pick(&unit_id, (spec.period_start, spec.period_end), spec.tags, spec.latest);
                    match restore_points_where(&mut *tx, tenant, &q, now).await?.into_iter().next() {
                        Some(point) => units.push((unit_id, point)),
                        None => details.push(ErrorDetail {
                            code: "InvalidRestoreTime".into(),
                            message: format!("'{name}' has no restore point in the requested time period."),
                            target: name.clone(),
                        }),
                    }
                }
                // Each point was just found unexpired and of the session's workload; the check reads their keys.
                let ids: Vec<&str> = units.iter().map(|(_, p)| p.id.as_str()).collect();
                let (_, keys) = restore_point_problems(&mut *tx, tenant, &ids, session.workload, now).await?;
                for (_, point) in &units {
                    let add = ArtifactAdd {
                        restore_point: backstore_domain::RestorePointRef::parse(&point.id)?,
                        destination: spec.destination,
                        content_id: None,
                        granular: None,
                    };
                    let artifact_id = insert_artifact(tx, tenant, &request.session_id, &add, &keys, now).await?;
                    apply_step(tx, tenant, &artifact_id, Some(ArtifactStatus::Added), &ArtifactStep::Scheduling, now)
                        .await?;
                    enqueue(
                        tx,
                        (tenant, &request.session_id, &artifact_id),
                        JobKind::RestoreArtifact,
                        Queue::Once,
                        now,
                    )
                    .await?;
                }
                let total = units.len() + details.len();
                let message =
                    format!("{} of {total} resources could not be resolved into restore artifacts.", details.len());
                record_outcome(tx, OutcomeTable::BulkRequests, tenant, &request.id, details, message, now).await?;
                refresh_session(tx, tenant, &request.session_id, now).await?;
            }
            Ok(())
        })
        .await
    }
}
