//! The engine's Prometheus metrics: counters the workers bump, gauges read from the store at scrape.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use backstore_store::{Store, StoreResult};

/// One set per server (no global registry); shared by the workers and the `/metrics` handler.
pub struct Metrics {
    registry: Registry,
    pub jobs_succeeded: Counter,
    pub jobs_failed: Counter,
    pub jobs_retried: Counter,
    pub lease_takeovers: Counter,
    pub job_seconds: Histogram,
    /// What restores of content wrote: items made or changed, bytes of the files among them.
    pub restored_items: Counter,
    pub restored_bytes: Counter,
    jobs_queued: Gauge,
    jobs_in_progress: Gauge,
    sessions: Family<Vec<(String, String)>, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("backstore"),
            jobs_succeeded: Counter::default(),
            jobs_failed: Counter::default(),
            jobs_retried: Counter::default(),
            lease_takeovers: Counter::default(),
            job_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 24)),
            restored_items: Counter::default(),
            restored_bytes: Counter::default(),
            jobs_queued: Gauge::default(),
            jobs_in_progress: Gauge::default(),
            sessions: Family::default(),
        };
        let r = &mut m.registry;
        r.register("jobs_succeeded", "Restore jobs whose artifact succeeded", m.jobs_succeeded.clone());
        r.register("jobs_failed", "Restore jobs whose artifact failed", m.jobs_failed.clone());
        r.register("jobs_retried", "Failed attempts put back in the queue", m.jobs_retried.clone());
        r.register("lease_takeovers", "Jobs claimed after another worker's lease expired", m.lease_takeovers.clone());
        r.register("job_duration_seconds", "From claim to the end of a restore job", m.job_seconds.clone());
        r.register("restored_items", "Files, folders and messages restores wrote", m.restored_items.clone());
        r.register("restored_bytes", "Bytes of the files and messages restores wrote", m.restored_bytes.clone());
        r.register("jobs_queued", "Restore jobs waiting to run", m.jobs_queued.clone());
        r.register("jobs_in_progress", "Restore jobs held by a worker", m.jobs_in_progress.clone());
        r.register("restore_sessions", "Restore sessions by status", m.sessions.clone());
        m
    }
}

impl Metrics {
    /// The Prometheus text exposition, with the gauges read from `store` now.
    pub async fn render(&self, store: &Store) -> StoreResult<String> {
        let stats = store.engine_stats().await?;
        self.jobs_queued.set(stats.jobs_queued);
        self.jobs_in_progress.set(stats.jobs_running);
        self.sessions.clear();
        for (status, n) in stats.sessions_by_status {
            self.sessions.get_or_create(&vec![("status".to_owned(), status)]).set(n);
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        Ok(out)
    }
}
