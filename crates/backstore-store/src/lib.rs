//! Persistence for backstore: the records the API and the engine read and write, the [`Store`] trait
//! (one method per operation, each one transaction) and its backends, chosen by database URL.

mod model;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use backstore_domain::{Actor, ArtifactAdd, DeltaItem, RuleError, Timestamp, Workload};

pub use model::*;

/// Everything a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A rule of the domain refused the operation; nothing was written.
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row that does not decode into a record (a value outside its enum, bad JSON).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unsupported database URL '{0}': use sqlite://PATH")]
    UnsupportedUrl(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A check the API runs on the session inside the delta transaction (read-only properties).
pub type SessionCheck<'a> = &'a (dyn Fn(&SessionRecord) -> Result<(), RuleError> + Send + Sync);

/// Who writes, in which tenant, and when: the first argument of every write made for a caller.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub tenant: &'a str,
    pub actor: &'a Actor,
    pub now: Timestamp,
}

/// The operations of backstore on its database. Every method is one transaction, filters on `tenant`,
/// and leaves nothing written when it returns an error.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- restore sessions ----

    /// Creates a draft session of `workload` with `adds` (already planned); every restore point must
    /// exist in the tenant, be unexpired and be of the workload, or nothing is created.
    async fn create_session(
        &self,
        w: Writer<'_>,
        workload: Workload,
        adds: Vec<ArtifactAdd>,
    ) -> StoreResult<SessionRecord>;

    /// One session; `workload` narrows to one kind (typed paths). `None` when absent.
    async fn get_session(
        &self,
        tenant: &str,
        id: &str,
        workload: Option<Workload>,
    ) -> StoreResult<Option<SessionRecord>>;

    /// Sessions in creation order, after the keyset position `after`, at most `limit`.
    async fn list_sessions(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<SessionRecord>>;

    /// Deletes a draft session and its artifacts.
    async fn delete_session(&self, tenant: &str, id: &str, workload: Option<Workload>) -> StoreResult<()>;

    /// Activates a non-empty draft: its artifacts go to `scheduling`, at most 25 running per tenant.
    async fn activate_session(&self, w: Writer<'_>, id: &str, workload: Option<Workload>)
        -> StoreResult<SessionRecord>;

    /// Applies a delta to a draft session: request-level rules refuse it whole, item-level problems
    /// fail one item. `check` runs on the loaded session before anything is written.
    async fn apply_delta(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        items: Vec<DeltaItem>,
        check: SessionCheck<'_>,
    ) -> StoreResult<DeltaOutcome>;

    /// Adds one artifact to a draft session (POST on the artifact collection).
    async fn add_artifact(
        &self,
        w: Writer<'_>,
        session_id: &str,
        workload: Workload,
        add: ArtifactAdd,
    ) -> StoreResult<ArtifactRecord>;

    // ---- artifacts ----

    async fn list_artifacts(
        &self,
        tenant: &str,
        session_id: &str,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<ArtifactRecord>>;

    /// All artifacts of several sessions (for `$expand`), in creation order.
    async fn artifacts_of_sessions(&self, tenant: &str, session_ids: &[String]) -> StoreResult<Vec<ArtifactRecord>>;

    async fn get_artifact(
        &self,
        tenant: &str,
        session_id: &str,
        artifact_id: &str,
    ) -> StoreResult<Option<ArtifactRecord>>;

    // ---- protection side (seeded for now) ----

    async fn insert_protection_unit(
        &self,
        tenant: &str,
        unit: &ProtectionUnitRecord,
        points: &[RestorePointRecord],
    ) -> StoreResult<()>;

    async fn get_restore_point(&self, tenant: &str, id: &str) -> StoreResult<Option<RestorePointRecord>>;

    // ---- engine ----

    /// Activated artifacts that are not terminal yet, oldest first, across tenants.
    async fn in_flight_artifacts(&self, limit: i64) -> StoreResult<Vec<InFlightArtifact>>;

    /// Hands out the next `n` of `R<n>` for a `new` restore of `original_url`.
    async fn allocate_restore_suffix(&self, tenant: &str, original_url: &str) -> StoreResult<u32>;

    /// Moves an artifact from `from` by `step`, refreshing its session, if it is still in `from`.
    /// Returns whether it moved (false: someone else moved it first, which is not an error).
    async fn record_step(
        &self,
        tenant: &str,
        artifact_id: &str,
        from: backstore_domain::ArtifactStatus,
        step: ArtifactStep,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

/// The current time, to the microsecond: the resolution of the store and of the wire.
pub fn now() -> Timestamp {
    let t = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Opens the store a database URL names, creating and migrating it as needed.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
