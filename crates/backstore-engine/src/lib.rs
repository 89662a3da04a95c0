//! The restore engine. Activation puts one job per artifact in the store's `jobs` table; workers
//! claim due jobs under a lease, move the artifact `scheduled → inProgress → succeeded | failed`,
//! renew the lease while a restore takes time, retry failed attempts with exponential backoff, and
//! fail the artifact once the attempts are spent. A worker that dies loses its leases when they
//! expire and any worker takes the jobs over; every step is a compare-and-set, so a job that runs
//! twice ends the same way.

pub mod config;
mod content_restore;
mod ending;
mod granular_restore;
pub mod metrics;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backstore_domain::restore::UnitInfo;
use backstore_domain::restore::{artifact_error, restore_outcome};
use backstore_domain::{ArtifactStatus, DestinationType, ErrorInfo, Workload};
use backstore_store::{
    ArtifactRecord, ArtifactStep, ClaimedJob, Clock, JobEnd, JobEvent, JobRef, JobWork, Store, StoreResult,
};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

/// The content store the engine snapshots and collects.
pub type Content = backstore_content::Repository<Arc<Store>>;

pub use config::{EngineConfig, Fault, FaultRules, RestoreSpeed, Work};
pub use metrics::Metrics;

pub struct Engine {
    store: Arc<Store>,
    clock: Clock,
    config: EngineConfig,
    metrics: Arc<Metrics>,
    /// The content store: drives are snapshotted before each retention pass (so new restore points
    /// hold their trees) and garbage is collected every `gc_every`.
    content: Option<Arc<Content>>,
    gc_due: std::sync::Mutex<Instant>,
    /// Jobs whose restore stopped for shutdown: `run` gives them back once it has stopped claiming,
    /// so a job given back is never claimed again by the worker that is stopping.
    stopped: std::sync::Mutex<Vec<JobRef>>,
    /// Jobs' ends, committed in groups.
    ender: ending::Ender,
}

/// How waiting out a restore's duration ended.
enum Waited {
    Done,
    LeaseLost,
    ShuttingDown,
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Engine {
    pub fn new(store: Arc<Store>, clock: Clock, config: EngineConfig, metrics: Arc<Metrics>) -> Engine {
        let gc_due = std::sync::Mutex::new(Instant::now() + config.gc_every);
        Engine {
            store,
            clock,
            config,
            metrics,
            content: None,
            gc_due,
            stopped: std::sync::Mutex::new(Vec::new()),
            ender: Default::default(),
        }
    }

    /// The engine with a content store to snapshot and collect.
    pub fn with_content(mut self, content: Arc<Content>) -> Engine {
        self.content = Some(content);
        self
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    async fn claim(&self, limit: usize) -> StoreResult<Vec<ClaimedJob>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.store.claim_jobs(&self.config.worker_id, self.clock.now(), chrono_duration(self.config.lease), limit).await
    }

    /// Claims what is due now and runs it to the end, one job after another. Returns how many jobs
    /// it ran. For tests and tools that drain the queue without a background worker.
    pub async fn run_pending(&self) -> StoreResult<usize> {
        let jobs = self.claim(self.config.concurrency.max(1) * 8).await?;
        let n = jobs.len();
        let (_keep, rx) = watch::channel(false);
        for job in jobs {
            self.run_job(job, rx.clone()).await;
        }
        Ok(n)
    }

    /// Runs passes until nothing is due (or `max_passes`). Jobs waiting for a backoff or a lease to
    /// expire are not due: move the clock to reach them.
    pub async fn run_until_idle(&self, max_passes: usize) -> StoreResult<usize> {
        let mut total = 0;
        for _ in 0..max_passes {
            let n = self.run_pending().await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        Ok(total)
    }

    /// The worker: keeps up to `concurrency` jobs in hand until `shutdown` turns true, then stops
    /// claiming, lets the jobs in hand finish or give themselves back, and waits at most
    /// `shutdown_grace` before giving back what is left.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut held: HashMap<tokio::task::Id, JobRef> = HashMap::new();
        let mut retention_due = Instant::now();
        let mut clock_seen = self.clock.offset_micros();
        // The last claim found fewer due jobs than it asked for, and nothing has been queued, no
        // poll has come and the clock has not moved since: a job of ours ending is then no reason
        // to claim again (three claims in four found nothing on an activation of one artifact).
        let mut drained = false;
        // Polls come every `poll` however often jobs end.
        let mut poll_at = tokio::time::Instant::now() + self.config.poll;
        tracing::info!(worker = %self.config.worker_id, concurrency = self.config.concurrency, "engine started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            while let Some(done) = tasks.try_join_next_with_id() {
                held.remove(&done.map_or_else(|e| e.id(), |(id, ())| id));
            }
            if Instant::now() >= retention_due || self.clock.offset_micros() != clock_seen {
                clock_seen = self.clock.offset_micros();
                retention_due = Instant::now() + self.config.retention_every;
                self.retention().await;
                drained = false;
            }
            let free = self.config.concurrency.saturating_sub(tasks.len());
            if free > 0 && !drained {
                poll_at = tokio::time::Instant::now() + self.config.poll;
                match self.claim(free).await {
                    Ok(jobs) => {
                        drained = jobs.len() < free;
                        for job in jobs {
                            let job_ref = job.job.clone();
                            let me = self.clone();
                            let rx = shutdown.clone();
                            let handle = tasks.spawn(async move { me.run_job(job, rx).await });
                            held.insert(handle.id(), job_ref);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming jobs failed; trying again"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(poll_at) => {
                    drained = false;
                    poll_at = tokio::time::Instant::now() + self.config.poll;
                }
                _ = self.store.jobs_queued() => drained = false,
                _ = shutdown.changed() => {}
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    held.remove(&done.map_or_else(|e| e.id(), |(id, ())| id));
                    // Under load slots free one at a time: a moment's wait (1 ms at most) for the
                    // rest turns claims of one job into claims of as many as the worker may hold.
                    let settle = tokio::time::sleep(Duration::from_millis(1));
                    tokio::pin!(settle);
                    while !tasks.is_empty() {
                        tokio::select! {
                            _ = &mut settle => break,
                            Some(done) = tasks.join_next_with_id() => {
                                held.remove(&done.map_or_else(|e| e.id(), |(id, ())| id));
                            }
                        }
                    }
                }
            }
        }
        let deadline = tokio::time::Instant::now() + self.config.shutdown_grace;
        while !tasks.is_empty() {
            match tokio::time::timeout_at(deadline, tasks.join_next_with_id()).await {
                Ok(Some(done)) => {
                    held.remove(&done.map_or_else(|e| e.id(), |(id, ())| id));
                }
                Ok(None) => break,
                Err(_) => {
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
        let stopped = std::mem::take(&mut *self.stopped.lock().expect("not poisoned"));
        for job in held.values().chain(stopped.iter()) {
            match self.store.release_job(job, self.clock.now()).await {
                Ok(true) => tracing::info!(job_id = %job.job_id, "job given back at shutdown"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(job_id = %job.job_id, error = %e, "could not give a job back; its lease will expire")
                }
            }
        }
        tracing::info!(worker = %self.config.worker_id, "engine stopped");
    }

    /// Brings restore points up to the clock; a failure is logged and retried at the next pass.
    pub async fn retention(&self) {
        if let Some(content) = &self.content {
            if let Err(e) = self.store.snapshot_changed_drives(content.as_ref(), None).await {
                tracing::warn!(error = %e, "snapshotting the drives failed; restore points keep the previous snapshots");
            }
        }
        match self.store.purge_upload_sessions(self.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "upload sessions expired"),
            Err(e) => tracing::warn!(error = %e, "expired upload sessions could not be removed; trying again later"),
        }
        match self.store.retention_pass(self.clock.now()).await {
            Ok(r) if r == backstore_store::RetentionReport::default() => {}
            Ok(r) => tracing::info!(
                added = r.added,
                retagged = r.retagged,
                purged = r.purged,
                "restore points brought up to date"
            ),
            Err(e) => tracing::warn!(error = %e, "restore point retention failed; trying again later"),
        }
        let due = {
            let mut at = self.gc_due.lock().expect("not poisoned");
            let due = Instant::now() >= *at;
            if due {
                *at = Instant::now() + self.config.gc_every;
            }
            due
        };
        if let (true, Some(content)) = (due, &self.content) {
            self.collect_garbage(content).await;
        }
    }

    /// Collects every tenant's content garbage against its restore points and drives.
    async fn collect_garbage(&self, content: &Content) {
        let tenants = match backstore_content::GcIndex::tenants(self.store.as_ref()).await {
            Ok(t) => t,
            Err(e) => return tracing::warn!(error = %e, "content garbage collection could not list tenants"),
        };
        // What saved states hold is kept; if they cannot be read, nothing is collected this time.
        let mut pinned = match self.store.pinned_packs().await {
            Ok(p) => p,
            Err(e) => return tracing::warn!(error = %e, "content garbage collection could not read the saved states"),
        };
        for tenant in tenants {
            let roots = match self.store.content_roots(&tenant).await {
                Ok(roots) => roots.into_iter().map(|(r, _)| r).collect::<Vec<_>>(),
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "content garbage collection skipped a tenant");
                    continue;
                }
            };
            let options = backstore_content::GcOptions {
                grace: self.config.gc_grace,
                keep_packs: pinned.remove(&tenant).unwrap_or_default(),
                ..Default::default()
            };
            match content.collect_garbage(&tenant, &roots, &options).await {
                Ok(r) => tracing::info!(
                    tenant = %tenant,
                    removed_blobs = r.removed_blobs,
                    freed_bytes = r.freed_bytes,
                    repacked_packs = r.repacked_packs,
                    "content garbage collected"
                ),
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "content garbage collection failed; trying again later")
                }
            }
        }
    }

    /// Runs one claimed job to its end (or until it hangs, loses its lease, or shutdown gives it back).
    async fn run_job(&self, claimed: ClaimedJob, shutdown: watch::Receiver<bool>) {
        let (kind, session_id) = match &claimed.work {
            JobWork::Restore(r) => ("restore", r.artifact.session_id.as_str()),
            JobWork::ResolveBulk => ("resolveBulk", ""),
            JobWork::SettlePolicy => ("settlePolicy", ""),
            JobWork::ResolveUnitJob => ("resolveUnitJob", ""),
            JobWork::ApplyRule => ("applyRule", ""),
            JobWork::ResolveExclusionJob => ("resolveExclusionJob", ""),
        };
        let span = tracing::info_span!(
            "job",
            kind,
            tenant = %claimed.job.tenant_id,
            session_id = %session_id,
            target_id = %claimed.job.target_id,
            job_id = %claimed.job.job_id,
            attempt = claimed.job.attempt,
        );
        async {
            let started = Instant::now();
            if claimed.takeover {
                self.metrics.lease_takeovers.inc();
                tracing::info!(last_error = ?claimed.last_error, "took over a job whose lease expired");
            }
            let ran = match &claimed.work {
                JobWork::Restore(r) => {
                    self.execute(&claimed, &r.artifact, &r.unit, r.unit_fault.as_deref(), shutdown).await
                }
                other => self.run_in_store(&claimed.job, other).await,
            };
            if let Err(e) = ran {
                tracing::warn!(error = %e, "job interrupted by a store error; its lease will expire and it will run again");
            }
            self.metrics.job_seconds.observe(started.elapsed().as_secs_f64());
        }
        .instrument(span)
        .await
    }

    /// Runs a job that is one store transaction: a bulk addition request becomes artifacts with
    /// restore jobs of their own, a unit bulk job units of its policy, a rule its policy's units, a
    /// policy's activation, deactivation or delta settled units.
    async fn run_in_store(&self, job: &JobRef, work: &JobWork) -> StoreResult<()> {
        let now = self.clock.now();
        let (finished, done) = match work {
            JobWork::ResolveBulk => {
                (self.store.resolve_bulk_request(job, now).await?, "bulk addition request resolved")
            }
            JobWork::ResolveUnitJob => (self.store.resolve_unit_bulk_job(job, now).await?, "unit bulk job resolved"),
            JobWork::ApplyRule => (self.store.apply_rule_job(job, now).await?, "inclusion rule applied"),
            JobWork::ResolveExclusionJob => {
                (self.store.resolve_exclusion_bulk_job(job, now).await?, "exclusion bulk job resolved")
            }
            JobWork::SettlePolicy => (self.store.settle_policy_job(job, now).await?, "protection policy settled"),
            JobWork::Restore(_) => unreachable!("a restore runs through execute"),
        };
        if finished {
            tracing::info!("{done}");
        } else {
            tracing::warn!("lease lost before the job finished; another worker has it");
        }
        Ok(())
    }

    async fn execute(
        &self,
        claimed: &ClaimedJob,
        a: &ArtifactRecord,
        unit: &UnitInfo,
        unit_fault: Option<&str>,
        mut shutdown: watch::Receiver<bool>,
    ) -> StoreResult<()> {
        let job = &claimed.job;
        let store = self.store.as_ref();
        if a.status.is_terminal() {
            // Finished before a crash lost the job's own end: close the job the same way.
            let step = match a.status {
                ArtifactStatus::Succeeded => ArtifactStep::Succeeded(a.outcome.clone()),
                _ => ArtifactStep::Failed(a.error.clone().unwrap_or_else(|| artifact_error("UnknownError"))),
            };
            let event = if a.status == ArtifactStatus::Succeeded { JobEvent::Succeeded } else { JobEvent::Failed };
            store.finish_job(job, step, event, self.clock.now()).await?;
            return Ok(());
        }
        if job.attempt > self.config.max_attempts {
            let last = claimed.last_error.as_deref().unwrap_or("an attempt did not finish before its lease expired");
            return self.exhaust(job, last).await;
        }
        let fault = self.config.faults.decide(&unit.id, &a.restore_point.id, unit_fault, job.attempt);
        // A restore of content: the point's tree read first, so its pace and progress follow its size.
        let planned = match (&self.content, &fault) {
            (Some(content), None) => match content_restore::plan(store, content, a, unit, &job.tenant_id).await {
                Ok(p) => p,
                Err(e) if e.is_unavailable() => return Err(e),
                Err(e) => return self.retry_or_exhaust(job, &format!("reading the restore point: {e}")).await,
            },
            _ => None,
        };
        let duration = self.config.speed.duration(unit, planned.as_ref().map(|p| p.work), size_hint(&a.id));
        if let Some(p) = &planned {
            let (tenant, now) = (&job.tenant_id, self.clock.now());
            let Work { items, bytes } = p.work;
            store.begin_restore(tenant, &a.id, &a.session_id, &p.tree.root, items, bytes, now, duration).await?;
        }
        // A restore that takes no time and meets no fault goes from where it is to its end in the
        // transaction that ends it; any other shows `scheduled` and `inProgress` while it runs.
        let instant = fault.is_none() && duration.is_zero();
        if !instant {
            if a.status == ArtifactStatus::Scheduling {
                self.step(job, ArtifactStatus::Scheduling, ArtifactStep::Scheduled).await?;
            }
            if matches!(a.status, ArtifactStatus::Scheduling | ArtifactStatus::Scheduled) {
                self.step(job, ArtifactStatus::Scheduled, ArtifactStep::Started).await?;
            }
        }
        if fault == Some(Fault::Hang) {
            tracing::info!("fault rule: hanging until the lease expires");
            return Ok(());
        }
        match self.wait_restoring(job, duration, &mut shutdown).await? {
            Waited::Done => {}
            Waited::LeaseLost => {
                tracing::warn!("lease lost while restoring; another worker has the job");
                return Ok(());
            }
            Waited::ShuttingDown => {
                // Given back by `run` after it stops claiming: released here, the job could be
                // claimed again by this very worker in the moment before it sees the shutdown.
                self.stopped.lock().expect("not poisoned").push(job.clone());
                return Ok(());
            }
        }
        match fault {
            Some(Fault::Fail(error)) => self.finish(job, ArtifactStep::Failed(error), JobEvent::Failed).await,
            Some(Fault::Transient(message)) => self.retry_or_exhaust(job, &message).await,
            Some(Fault::Hang) | None => {
                let now = self.clock.now();
                if a.restore_point.expiration_at <= now {
                    let step = ArtifactStep::Failed(artifact_error("InvalidRestoreTime"));
                    return self
                        .end(JobEnd { job: job.clone(), step, event: JobEvent::Failed, new_site_of: None })
                        .await;
                }
                if let (Some(content), Some(planned)) = (&self.content, &planned) {
                    let restored =
                        content_restore::restore_content(store, content, a, unit, &job.tenant_id, planned, now).await;
                    match restored {
                        Ok((outcome, done)) => {
                            self.metrics.restored_items.inc_by(done.items_written);
                            self.metrics.restored_bytes.inc_by(done.bytes_written);
                            let step = ArtifactStep::Succeeded(outcome);
                            let end = JobEnd { job: job.clone(), step, event: JobEvent::Succeeded, new_site_of: None };
                            return self.end(end).await;
                        }
                        Err(e) if e.is_unavailable() => return Err(e),
                        Err(e) => return self.retry_or_exhaust(job, &format!("restoring the content: {e}")).await,
                    }
                }
                // A new site's `R<n>` is counted in the transaction that ends the job.
                let new_site_of = match (a.destination, unit.resource.workload, &unit.resource.site_web_url) {
                    (DestinationType::New, Workload::SharePoint | Workload::OneDrive, Some(url)) => Some(url.clone()),
                    _ => None,
                };
                let new_id = uuid::Uuid::new_v4().to_string();
                let outcome =
                    restore_outcome(&unit.resource, a.destination, None, new_id, size_hint(&a.id) as i64 * 5 + 50, now);
                let step = ArtifactStep::Succeeded(outcome);
                self.end(JobEnd { job: job.clone(), step, event: JobEvent::Succeeded, new_site_of }).await
            }
        }
    }

    async fn step(&self, job: &JobRef, from: ArtifactStatus, step: ArtifactStep) -> StoreResult<()> {
        let to = step.target();
        if self.store.record_step(&job.tenant_id, &job.target_id, from, step, self.clock.now()).await? {
            tracing::info!(from = from.as_str(), to = to.as_str(), "artifact moved");
        }
        Ok(())
    }

    async fn finish(&self, job: &JobRef, step: ArtifactStep, event: JobEvent) -> StoreResult<()> {
        self.end(JobEnd { job: job.clone(), step, event, new_site_of: None }).await
    }

    /// Ends the job from wherever its artifact is, in one transaction with whatever other
    /// jobs end at the same time.
    async fn end(&self, end: JobEnd) -> StoreResult<()> {
        let ok = matches!(end.step, ArtifactStep::Succeeded(_));
        let (to, event) = (end.step.target(), end.event);
        if self.ender.end(&self.store, end, || self.clock.now()).await? {
            if ok {
                self.metrics.jobs_succeeded.inc();
            } else {
                self.metrics.jobs_failed.inc();
            }
            tracing::info!(to = to.as_str(), event = event.as_str(), "job finished");
        } else {
            tracing::warn!("lease lost before the job could finish; another worker has it");
        }
        Ok(())
    }

    async fn retry_or_exhaust(&self, job: &JobRef, error: &str) -> StoreResult<()> {
        if job.attempt >= self.config.max_attempts {
            return self.exhaust(job, error).await;
        }
        let wait = self.config.backoff(job.attempt);
        let now = self.clock.now();
        if self.store.retry_job(job, now + chrono_duration(wait), error, now).await? {
            self.metrics.jobs_retried.inc();
            tracing::info!(error, retry_in_ms = wait.as_millis() as u64, "attempt failed; retrying later");
        }
        Ok(())
    }

    async fn exhaust(&self, job: &JobRef, last_error: &str) -> StoreResult<()> {
        let error = ErrorInfo {
            code: "UnknownError".into(),
            message: format!(
                "The restore failed after {} attempts. Last error: {last_error}",
                job.attempt.min(self.config.max_attempts)
            ),
        };
        self.finish(job, ArtifactStep::Failed(error), JobEvent::Exhausted).await
    }

    /// Waits out the restore's duration, renewing the lease a few times per lease period.
    async fn wait_restoring(
        &self,
        job: &JobRef,
        total: Duration,
        shutdown: &mut watch::Receiver<bool>,
    ) -> StoreResult<Waited> {
        if total.is_zero() {
            return Ok(Waited::Done);
        }
        let deadline = tokio::time::Instant::now() + total;
        let renew_every = (self.config.lease / 3).max(Duration::from_millis(10));
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Waited::Done);
            }
            let until = deadline.min(now + renew_every);
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {}
                _ = shutdown.wait_for(|stop| *stop) => return Ok(Waited::ShuttingDown),
            }
            if until < deadline
                && !self.store.renew_lease(job, self.clock.now(), chrono_duration(self.config.lease)).await?
            {
                return Ok(Waited::LeaseLost);
            }
        }
    }
}

/// A stable number in 0..1000 per artifact: spreads durations and item counts like unit sizes would.
fn size_hint(artifact_id: &str) -> u64 {
    backstore_domain::stable_hash(artifact_id) % 1000
}
