//! The worker's side of the queue: claiming due jobs under a lease (row locks on PostgreSQL, no
//! advisory lock), renewing, finishing, retrying and releasing them, and artifact steps.

use std::collections::{HashMap, HashSet};

use super::tx::Tx;
use backstore_domain::restore::restored_site_url;
use backstore_domain::{ArtifactStatus, Timestamp};

use super::artifacts::{artifact_from_row, next_restore_suffix, ARTIFACT_WITH_UNIT_SELECT};
use super::jobs::{job_event, job_events};
use super::read::{Arg, Col};
use super::rows::micros;
use super::steps::{apply_step, move_artifact, CountMoves};
use super::units::unit_from_row;
use super::Lock;
use crate::{
    ArtifactStep, ClaimedJob, JobEnd, JobEvent, JobKind, JobRef, JobWork, RestoreWork, Store, StoreError, StoreResult,
};

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

/// A due job as the claim read it.
struct Due {
    tenant: String,
    id: String,
    kind: String,
    target: String,
    takeover: bool,
    attempt: i64,
    last_error: Option<String>,
}

/// The distinct values of `key` over `items` (tenants, workers), in their first-seen order.
fn distinct<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> &'a str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        if !seen.iter().any(|t| t == key(item)) {
            seen.push(key(item).to_owned());
        }
    }
    seen
}

/// `?, ?, …` for `n` values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Ends `ends`, held jobs of one tenant and one worker: those whose lease is still held are marked
/// done, their artifacts take their end steps, their sessions' counts move once per session.
/// Says for each whether its lease was held.
async fn end_jobs(tx: &mut Tx, ends: &[&JobEnd], now: Timestamp, counts: &mut CountMoves) -> StoreResult<Vec<bool>> {
    let Some(first) = ends.first() else { return Ok(Vec::new()) };
    let (tenant, worker) = (first.job.tenant_id.as_str(), first.job.worker.as_str());
    // The lease check and the end of the job in one statement: the attempt must be the holder's.
    let attempts = vec!["WHEN ? THEN ?"; ends.len()].join(" ");
    let sql = format!(
        "UPDATE jobs SET state = 'done', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL \
         WHERE tenant_id = ? AND state = 'running' AND lease_owner = ? AND lease_expires_at > ? \
         AND id IN ({}) AND attempts = CASE id {attempts} END RETURNING id",
        marks(ends.len())
    );
    let t = micros(now);
    let mut args: Vec<Arg<'_>> = vec![Arg::Int(t), Arg::Text(tenant), Arg::Text(worker), Arg::Int(t)];
    args.extend(ends.iter().map(|e| Arg::Text(&e.job.job_id)));
    for e in ends {
        args.extend([Arg::Text(&e.job.job_id), Arg::Int(e.job.attempt)]);
    }
    let done: HashSet<String> = tx.scalars::<String>(&sql, &args).await?.into_iter().collect();
    let held: Vec<bool> = ends.iter().map(|e| done.contains(&e.job.job_id)).collect();
    let mine: Vec<&JobEnd> = ends.iter().zip(&held).filter(|(_, h)| **h).map(|(e, _)| *e).collect();
    if mine.is_empty() {
        return Ok(held);
    }
    // Where each artifact stands before its end, for its session's counts.
    let sql = format!("SELECT id, status FROM restore_artifacts WHERE tenant_id = ? AND id IN ({})", marks(mine.len()));
    let args: Vec<Arg<'_>> =
        std::iter::once(Arg::Text(tenant)).chain(mine.iter().map(|e| Arg::Text(&e.job.target_id))).collect();
    let mut before: HashMap<String, Option<ArtifactStatus>> = HashMap::new();
    for row in tx.fetch_all(&sql, &args).await? {
        before.insert(row.col("id")?, ArtifactStatus::parse(&row.col::<String>("status")?));
    }
    let mut details = Vec::with_capacity(mine.len());
    for end in &mine {
        let mut step = end.step.clone();
        if let (Some(url), ArtifactStep::Succeeded(outcome)) = (&end.new_site_of, &mut step) {
            let n = next_restore_suffix(tx, tenant, url).await?;
            outcome.restored_site_web_url = Some(restored_site_url(url, n));
        }
        // From wherever it is on the way: its earlier steps stamp nothing its end does not.
        let artifact = (tenant, end.job.target_id.as_str());
        if let Some(session) = move_artifact(tx, artifact, None, &step, now).await? {
            let old = before.get(&end.job.target_id).copied().flatten();
            counts.add(tenant, &session, old, Some(step.target()));
        }
        details.push(match &step {
            ArtifactStep::Failed(e) => Some(format!("{}: {}", e.code, e.message)),
            _ => None,
        });
    }
    let events: Vec<(&JobRef, &str, Option<&str>)> =
        mine.iter().zip(&details).map(|(e, d)| (&e.job, e.event.as_str(), d.as_deref())).collect();
    job_events(tx, &events, now).await?;
    Ok(held)
}

impl Store {
    /// Claims up to `limit` jobs that are due, or whose lease expired (a takeover), for `worker`
    /// until `now + lease`. Each claim counts an attempt and is recorded in the job's history; an
    /// artifact still `scheduling` becomes `scheduled` in the same transaction. The claim is a few
    /// statements per tenant, whatever the number of jobs.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedJob>> {
        self.write(Lock::Claim, async move |tx| {
            let rows = tx
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
            let mut due = Vec::with_capacity(rows.len());
            for row in &rows {
                due.push(Due {
                    tenant: row.col("tenant_id")?,
                    id: row.col("id")?,
                    kind: row.col("kind")?,
                    target: row.col("target_id")?,
                    takeover: row.col::<String>("state")? == "running",
                    attempt: row.col::<i64>("attempts")? + 1,
                    last_error: row.col("last_error")?,
                });
            }
            let mut counts = CountMoves::default();
            let mut restores: HashMap<String, RestoreWork> = HashMap::new();
            let until = micros(now + lease);
            for tenant in distinct(&due, |d| d.tenant.as_str()) {
                let mine: Vec<&Due> = due.iter().filter(|d| d.tenant == tenant).collect();
                for chunk in mine.chunks(100) {
                    let sql = format!(
                        "UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?, \
                         attempts = attempts + 1 WHERE tenant_id = ? AND id IN ({})",
                        marks(chunk.len())
                    );
                    let mut args = vec![Arg::Text(worker), Arg::Int(until), Arg::Text(&tenant)];
                    args.extend(chunk.iter().map(|d| Arg::Text(&d.id)));
                    tx.exec(&sql, &args).await?;
                    let kind = JobKind::RestoreArtifact.as_str();
                    let targets: Vec<&str> = chunk.iter().filter(|d| d.kind == kind).map(|d| d.target.as_str()).collect();
                    if targets.is_empty() {
                        continue;
                    }
                    let mut args = vec![Arg::Text(&tenant)];
                    args.extend(targets.iter().map(|t| Arg::Text(t)));
                    // A worker took it: the restore is accepted (`scheduling → scheduled`, if not
                    // further yet).
                    let sql = format!(
                        "UPDATE restore_artifacts SET status = 'scheduled' WHERE tenant_id = ? AND status = 'scheduling' \
                         AND id IN ({}) RETURNING session_id",
                        marks(targets.len())
                    );
                    for session in tx.scalars::<String>(&sql, &args).await? {
                        counts.add(&tenant, &session, Some(ArtifactStatus::Scheduling), Some(ArtifactStatus::Scheduled));
                    }
                    let sql =
                        format!("{ARTIFACT_WITH_UNIT_SELECT} WHERE a.tenant_id = ? AND a.id IN ({})", marks(targets.len()));
                    for art in tx.fetch_all(&sql, &args).await? {
                        let work = RestoreWork {
                            artifact: artifact_from_row(&art)?,
                            unit: unit_from_row(&art)?,
                            unit_fault: art.col("fault")?,
                        };
                        restores.insert(work.artifact.id.clone(), work);
                    }
                }
            }
            let jobs: Vec<JobRef> = due
                .iter()
                .map(|d| JobRef {
                    tenant_id: d.tenant.clone(),
                    job_id: d.id.clone(),
                    target_id: d.target.clone(),
                    worker: worker.to_owned(),
                    attempt: d.attempt,
                })
                .collect();
            let events: Vec<(&JobRef, &str, Option<&str>)> = jobs
                .iter()
                .zip(&due)
                .map(|(j, d)| (j, if d.takeover { "takeover" } else { "claimed" }, None))
                .collect();
            job_events(tx, &events, now).await?;
            counts.apply(tx, now).await?;
            let mut claimed = Vec::with_capacity(due.len());
            for (d, job) in due.into_iter().zip(jobs) {
                let work = match JobKind::parse(&d.kind) {
                    Some(JobKind::ResolveBulk) => JobWork::ResolveBulk,
                    Some(JobKind::SettlePolicy) => JobWork::SettlePolicy,
                    Some(JobKind::ResolveUnitJob) => JobWork::ResolveUnitJob,
                    Some(JobKind::ApplyRule) => JobWork::ApplyRule,
                    Some(JobKind::ResolveExclusionJob) => JobWork::ResolveExclusionJob,
                    // `get`, not `remove`: two jobs of one artifact (one left over) both get it.
                    Some(JobKind::RestoreArtifact) => match restores.get(&d.target) {
                        Some(work) => JobWork::Restore(Box::new(work.clone())),
                        None => return Err(StoreError::Corrupt(format!("restore job {} has no artifact", d.id))),
                    },
                    None => {
                        park(tx, &job, &d.kind, now).await?;
                        continue;
                    }
                };
                claimed.push(ClaimedJob { work, takeover: d.takeover, last_error: d.last_error, job });
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
        let end = JobEnd { job: job.clone(), step, event, new_site_of: None };
        Ok(self.finish_jobs(std::slice::from_ref(&end), now).await?.first() == Some(&true))
    }

    /// Ends held restore jobs as [`Store::finish_job`] does, in one transaction per tenant of a few
    /// statements per hundred jobs, each session re-derived once: what a worker that ends many
    /// restores at once commits. Says for each whether its lease was still held; a job whose lease
    /// was lost is left to its new holder.
    pub async fn finish_jobs(&self, ends: &[JobEnd], now: Timestamp) -> StoreResult<Vec<bool>> {
        let mut held = vec![false; ends.len()];
        for tenant in distinct(ends, |e| e.job.tenant_id.as_str()) {
            let mine: Vec<usize> = (0..ends.len()).filter(|&i| ends[i].job.tenant_id == tenant).collect();
            let got = self
                .write(Lock::Tenant(&tenant), async |tx| {
                    let mut got = HashMap::new();
                    let mut counts = CountMoves::default();
                    for worker in distinct(&mine, |&i| ends[i].job.worker.as_str()) {
                        let same: Vec<usize> = mine.iter().copied().filter(|&i| ends[i].job.worker == worker).collect();
                        for chunk in same.chunks(100) {
                            let group: Vec<&JobEnd> = chunk.iter().map(|&i| &ends[i]).collect();
                            let h = end_jobs(tx, &group, now, &mut counts).await?;
                            got.extend(chunk.iter().copied().zip(h));
                        }
                    }
                    counts.apply(tx, now).await?;
                    Ok(got)
                })
                .await?;
            for (i, h) in got {
                held[i] = h;
            }
        }
        Ok(held)
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
            // Queued again: a worker that found the queue drained looks again.
            super::mark_jobs_queued();
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
            super::mark_jobs_queued();
            job_event(tx, job, now, "released", None).await
        })
        .await
    }
}
