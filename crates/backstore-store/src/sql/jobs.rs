//! The job queue: putting jobs in (`enqueue`, once or re-armed), their history, the lease check and the end
//! of a job's row, and the counts the metrics read.

use super::tx::Tx;
use backstore_domain::Timestamp;

use super::read::{Arg, Col, Columns, Cost};
use super::rows::{from_micros, micros};
use super::Lock;
use crate::{Bind, EngineStats, JobEvent, JobEventRecord, JobKind, JobRef, Store, StoreResult};

/// How a job goes into the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Queue {
    /// A new row (a restore of one artifact, a request or bulk job resolved once).
    Once,
    /// One row per target and kind, queued again once it is done (a job still queued or running
    /// will see the new work when it runs): policies settle, rules apply again.
    Rearm,
}

/// Puts the `kind` job of `target` (what the kind works on) in the queue, due now.
pub(super) async fn enqueue(
    conn: &mut Tx,
    (tenant, session, target): (&str, &str, &str),
    kind: JobKind,
    how: Queue,
    now: Timestamp,
) -> StoreResult<()> {
    let insert = "INSERT INTO jobs (tenant_id, id, kind, session_id, target_id, state, run_at, created_at) \
                  VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6)";
    let sql = match how {
        Queue::Once => insert.to_owned(),
        Queue::Rearm => format!(
            "{insert} ON CONFLICT (tenant_id, target_id, kind) DO UPDATE SET state = 'queued', \
             run_at = excluded.run_at, attempts = 0, lease_owner = NULL, lease_expires_at = NULL, last_error = NULL, \
             finished_at = NULL WHERE jobs.state = 'done'"
        ),
    };
    exec!(conn, &sql, tenant, super::rows::new_id(), kind.as_str(), session, target, micros(now)).await?;
    super::mark_jobs_queued();
    Ok(())
}

/// Queues one `kind` job for each of `targets` of a session, once each: one statement per 100.
pub(super) async fn enqueue_each(
    conn: &mut Tx,
    (tenant, session): (&str, &str),
    targets: &[String],
    kind: JobKind,
    now: Timestamp,
) -> StoreResult<()> {
    for chunk in targets.chunks(100) {
        let rows = vec!["(?, ?, ?, ?, ?, 'queued', ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO jobs (tenant_id, id, kind, session_id, target_id, state, run_at, created_at) VALUES {rows}"
        );
        let mut binds = Vec::with_capacity(chunk.len() * 7);
        for target in chunk {
            binds.extend([
                Bind::Text(tenant.to_owned()),
                Bind::Text(super::rows::new_id()),
                Bind::Text(kind.as_str().to_owned()),
                Bind::Text(session.to_owned()),
                Bind::Text(target.clone()),
                Bind::Int(micros(now)),
                Bind::Int(micros(now)),
            ]);
        }
        conn.exec(&sql, &super::read::args_of(&binds)).await?;
    }
    if !targets.is_empty() {
        super::mark_jobs_queued();
    }
    Ok(())
}

/// Drops the finished `kind` job row of `target` (its policy or rule is going away).
pub(super) async fn forget_done_job(conn: &mut Tx, tenant: &str, kind: JobKind, target: &str) -> StoreResult<()> {
    exec!(
        conn,
        "DELETE FROM jobs WHERE tenant_id = ? AND kind = ? AND target_id = ? AND state = 'done'",
        tenant,
        kind.as_str(),
        target
    )
    .await?;
    Ok(())
}

/// Whether `job` is running under its holder's lease at `now`. The check is an update that changes
/// nothing, so on PostgreSQL it also locks the job's row: every transaction that ends or moves a job
/// locks the job first, then its artifact, then the session, in the order a claim does, and a
/// claim skips a job whose holder is finishing it.
pub(super) async fn holds_lease(conn: &mut Tx, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
    let held: Option<i64> = conn
        .scalar_opt(
            "UPDATE jobs SET attempts = attempts WHERE tenant_id = ? AND id = ? AND state = 'running' \
         AND lease_owner = ? AND attempts = ? AND lease_expires_at > ? RETURNING 1",
            args![&job.tenant_id, &job.job_id, &job.worker, job.attempt, micros(now)],
        )
        .await?;
    Ok(held.is_some())
}

/// Marks a job whose work is done as done, and records how it ended.
pub(super) async fn finish_job_row(
    conn: &mut Tx,
    job: &JobRef,
    now: Timestamp,
    event: JobEvent,
    detail: Option<&str>,
) -> StoreResult<()> {
    exec!(
        conn,
        "UPDATE jobs SET state = 'done', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL \
         WHERE tenant_id = ? AND id = ?",
        micros(now),
        &job.tenant_id,
        &job.job_id
    )
    .await?;
    job_event(conn, job, now, event.as_str(), detail).await
}

pub(super) async fn job_event(
    conn: &mut Tx,
    job: &JobRef,
    now: Timestamp,
    event: &str,
    detail: Option<&str>,
) -> StoreResult<()> {
    job_events(conn, &[(job, event, detail)], now).await
}

/// Records one history event per job, in one statement per 100.
pub(super) async fn job_events(
    conn: &mut Tx,
    events: &[(&JobRef, &str, Option<&str>)],
    now: Timestamp,
) -> StoreResult<()> {
    for chunk in events.chunks(100) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql =
            format!("INSERT INTO job_events (tenant_id, job_id, at, worker, attempt, event, detail) VALUES {rows}");
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 7);
        for (job, event, detail) in chunk {
            args.extend([
                Arg::Text(&job.tenant_id),
                Arg::Text(&job.job_id),
                Arg::Int(micros(now)),
                Arg::Text(&job.worker),
                Arg::Int(job.attempt),
                Arg::Text(event),
                (*detail).into(),
            ]);
        }
        conn.exec(&sql, &args).await?;
    }
    Ok(())
}

impl Store {
    /// The history of the job that restores an artifact, oldest first.
    pub async fn job_history(&self, tenant: &str, target_id: &str) -> StoreResult<Vec<JobEventRecord>> {
        self.read_rows(
            Cost::Seek,
            "SELECT e.job_id, e.at, e.worker, e.attempt, e.event, e.detail FROM job_events e \
             JOIN jobs j ON j.tenant_id = e.tenant_id AND j.id = e.job_id \
             WHERE e.tenant_id = ? AND j.target_id = ? ORDER BY e.seq",
            args![tenant, target_id],
            |r| {
                Ok(JobEventRecord {
                    job_id: r.col("job_id")?,
                    at: from_micros(r.col("at")?)?,
                    worker: r.col("worker")?,
                    attempt: r.col("attempt")?,
                    event: r.col("event")?,
                    detail: r.col("detail")?,
                })
            },
        )
        .await
    }

    /// Counts for the metrics: jobs by state, sessions by status (all tenants).
    pub async fn engine_stats(&self) -> StoreResult<EngineStats> {
        let pairs = |r: &dyn Columns| Ok((r.col::<String>("k")?, r.col::<i64>("n")?));
        let jobs = "SELECT state AS k, COUNT(*) AS n FROM jobs WHERE state <> 'done' GROUP BY state";
        let mut stats = EngineStats::default();
        for (state, n) in self.read_rows(Cost::Scan, jobs, args![], pairs).await? {
            match state.as_str() {
                "queued" => stats.jobs_queued = n,
                "running" => stats.jobs_running = n,
                _ => {}
            }
        }
        let sessions = "SELECT status AS k, COUNT(*) AS n FROM restore_sessions GROUP BY status ORDER BY status";
        stats.sessions_by_status = self.read_rows(Cost::Scan, sessions, args![], pairs).await?;
        Ok(stats)
    }
}

impl Store {
    /// Runs `work` on a job whose lease `job` holds, in one write transaction of the job's tenant.
    /// False (and nothing written) when the lease was lost: another worker took the job over.
    pub(super) async fn with_lease(
        &self,
        job: &JobRef,
        now: Timestamp,
        work: impl AsyncFnOnce(&mut Tx) -> StoreResult<()>,
    ) -> StoreResult<bool> {
        self.write(Lock::Tenant(&job.tenant_id), async move |tx| {
            if !holds_lease(tx, job, now).await? {
                return Ok(false);
            }
            work(tx).await?;
            Ok(true)
        })
        .await
    }

    /// Runs the work of a held job that resolves or settles something, and ends the job `succeeded`
    /// in the same transaction. False when the lease was lost.
    pub(super) async fn complete_job(
        &self,
        job: &JobRef,
        now: Timestamp,
        work: impl AsyncFnOnce(&mut Tx) -> StoreResult<()>,
    ) -> StoreResult<bool> {
        self.with_lease(job, now, async move |tx| {
            work(tx).await?;
            finish_job_row(tx, job, now, JobEvent::Succeeded, None).await
        })
        .await
    }
}
