//! The worker's side of the queue: claiming due jobs under a lease (row locks on PostgreSQL, no
//! advisory lock), renewing, finishing, retrying and releasing them, and artifact steps.

use super::tx::Tx;
use backstore_domain::{ArtifactStatus, Timestamp};

use super::artifacts::{artifact_from_row, ARTIFACT_SELECT};
use super::jobs::{finish_job_row, job_event};
use super::read::Col;
use super::rows::micros;
use super::sessions::{apply_step, step_artifact};
use super::units::unit_from_row;
use super::Lock;
use crate::{ArtifactStep, ClaimedJob, JobEvent, JobKind, JobRef, JobWork, RestoreWork, Store, StoreResult};

/// Takes a job of a kind this build does not know out of the queue for good (`parked`, with the
/// reason as its last error), so that it is never run as something it is not.
async fn park(conn: &mut Tx, job: &JobRef, kind: &str, now: Timestamp) -> StoreResult<()> {
    let reason = format!("unknown job kind '{kind}'");
    tracing::error!(tenant = %job.tenant_id, job = %job.job_id, kind, "parked a job of an unknown kind");
    exec!(
        conn,
        "UPDATE jobs SET state = 'parked', last_error = ?, lease_owner = NULL, lease_expires_at = NULL \
         WHERE tenant_id = ? AND id = ?",
        &reason,
        &job.tenant_id,
        &job.job_id
    )
    .await?;
    job_event(conn, job, now, "parked", Some(&reason)).await
}

impl Store {
    /// Claims up to `limit` jobs that are due, or whose lease expired (a takeover), for `worker`
    /// until `now + lease`. Each claim counts an attempt and is recorded in the job's history; an
    /// artifact still `scheduling` becomes `scheduled` in the same transaction.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedJob>> {
        self.write(Lock::Claim, async move |tx| {
            let due = tx
                .fetch_all(
                    &format!(
                        "SELECT tenant_id, id, kind, target_id, state, attempts, last_error FROM jobs \
                 WHERE (state = 'queued' AND run_at <= ?1) OR (state = 'running' AND lease_expires_at <= ?1) \
                 ORDER BY run_at, seq LIMIT ?2{}",
                        self.dialect.skip_locked()
                    ),
                    args![micros(now), limit],
                )
                .await?;
            let mut claimed = Vec::with_capacity(due.len());
            for row in &due {
                let tenant: String = row.col("tenant_id")?;
                let job_id: String = row.col("id")?;
                let target_id: String = row.col("target_id")?;
                let takeover = row.col::<String>("state")? == "running";
                let attempt = row.col::<i64>("attempts")? + 1;
                exec!(
                    tx,
                    "UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?, attempts = ? \
                     WHERE tenant_id = ? AND id = ?",
                    worker,
                    micros(now + lease),
                    attempt,
                    &tenant,
                    &job_id
                )
                .await?;
                let job = JobRef { tenant_id: tenant, job_id, target_id, worker: worker.to_owned(), attempt };
                job_event(tx, &job, now, if takeover { "takeover" } else { "claimed" }, None).await?;
                let kind: String = row.col("kind")?;
                let work = match JobKind::parse(&kind) {
                    Some(JobKind::ResolveBulk) => JobWork::ResolveBulk,
                    Some(JobKind::SettlePolicy) => JobWork::SettlePolicy,
                    Some(JobKind::ResolveUnitJob) => JobWork::ResolveUnitJob,
                    Some(JobKind::ApplyRule) => JobWork::ApplyRule,
                    Some(JobKind::RestoreArtifact) => {
                        // A worker took it: the restore is accepted (`scheduling → scheduled`, if not
                        // further yet).
                        apply_step(
                            tx,
                            &job.tenant_id,
                            &job.target_id,
                            Some(ArtifactStatus::Scheduling),
                            &ArtifactStep::Scheduled,
                            now,
                        )
                        .await?;
                        let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.id = ?");
                        let art = tx.fetch_one(&sql, args![&job.tenant_id, &job.target_id]).await?;
                        JobWork::Restore(Box::new(RestoreWork {
                            artifact: artifact_from_row(&art)?,
                            unit: unit_from_row(&art)?,
                            unit_fault: art.col("fault")?,
                        }))
                    }
                    None => {
                        park(tx, &job, &kind, now).await?;
                        continue;
                    }
                };
                claimed.push(ClaimedJob { work, takeover, last_error: row.col("last_error")?, job });
            }
            Ok(claimed)
        })
        .await
    }

    /// Extends a held lease. False when the lease was lost (expired and taken over).
    pub async fn renew_lease(&self, job: &JobRef, now: Timestamp, lease: chrono::Duration) -> StoreResult<bool> {
        self.with_lease(job, now, async move |tx| {
            exec!(
                tx,
                "UPDATE jobs SET lease_expires_at = ? WHERE tenant_id = ? AND id = ?",
                micros(now + lease),
                &job.tenant_id,
                &job.job_id
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Moves a non-terminal artifact one step on the way (`Scheduled`, `Started`), if it is still in
    /// `from`. Returns whether it moved; a step that ran before is not an error.
    pub async fn record_step(
        &self,
        tenant: &str,
        artifact_id: &str,
        from: ArtifactStatus,
        step: ArtifactStep,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.write(Lock::Tenant(tenant), async move |tx| {
            apply_step(tx, tenant, artifact_id, Some(from), &step, now).await
        })
        .await
    }

    /// Ends a job whose lease is held: the artifact takes its terminal `step` (unless it is terminal
    /// already), the job is done, the session is re-derived. False when the lease was lost.
    pub async fn finish_job(
        &self,
        job: &JobRef,
        step: ArtifactStep,
        event: JobEvent,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.finish_job_after(job, &[], step, event, now).await
    }

    /// [`Store::finish_job`] after the artifact's `earlier` steps (each taken when the artifact is
    /// at its status), all in the one transaction: a restore that takes no time moves from
    /// `scheduling` to its end in one write instead of one per step.
    pub async fn finish_job_after(
        &self,
        job: &JobRef,
        earlier: &[(ArtifactStatus, ArtifactStep)],
        step: ArtifactStep,
        event: JobEvent,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.with_lease(job, now, async move |tx| {
            // The session is re-derived once, by the last step.
            for (from, earlier) in earlier {
                step_artifact(tx, (&job.tenant_id, &job.target_id), Some(*from), earlier, now, false).await?;
            }
            apply_step(tx, &job.tenant_id, &job.target_id, None, &step, now).await?;
            let detail = match &step {
                ArtifactStep::Failed(e) => Some(format!("{}: {}", e.code, e.message)),
                _ => None,
            };
            finish_job_row(tx, job, now, event, detail.as_deref()).await
        })
        .await
    }

    /// Puts a job whose lease is held back in the queue until `run_at` after a failed attempt.
    pub async fn retry_job(&self, job: &JobRef, run_at: Timestamp, error: &str, now: Timestamp) -> StoreResult<bool> {
        self.with_lease(job, now, async move |tx| {
            exec!(
                tx,
                "UPDATE jobs SET state = 'queued', run_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE tenant_id = ? AND id = ?",
                micros(run_at), error, &job.tenant_id, &job.job_id,
            )
            .await?;
            job_event(tx, job, now, "retry", Some(error)).await
        })
        .await
    }

    /// Gives a held job back without counting the attempt (graceful shutdown).
    pub async fn release_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        self.with_lease(job, now, async move |tx| {
            exec!(
                tx,
                "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL \
                 WHERE tenant_id = ? AND id = ?",
                &job.tenant_id, &job.job_id,
            )
            .await?;
            job_event(tx, job, now, "released", None).await
        })
        .await
    }
}
