//! Persistence for backstore: the records the API and the engine read and write, the [`Store`] trait
//! (one method per operation, each one transaction) and its backends, chosen by database URL.

mod clock;
mod list;
mod model;
pub mod sql;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use backstore_domain::{Actor, ArtifactAdd, DeltaItem, RuleError, Timestamp, Workload};

pub use clock::Clock;
pub use list::*;
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
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    UnsupportedUrl(String),
    /// The database was migrated by a newer backstore; this one must not write to it.
    #[error("the database schema is at version {database}, newer than this backstore knows ({known}); run a newer backstore")]
    SchemaTooNew { database: i64, known: i64 },
}

impl StoreError {
    /// The database cannot be reached (connection refused or lost, pool exhausted past its
    /// timeout): the operation did not happen and may be retried once it is back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed => true,
                // PostgreSQL's class 08 (connection exception), 53 (insufficient resources: too
                // many connections), 57 (operator intervention: shutdown, terminated backend), and
                // 55000 as the refused login to a database that does not allow connections now.
                sqlx::Error::Database(db) => db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57") || c == "55000"),
                _ => false,
            },
            _ => false,
        }
    }
}

/// How a store connects to its database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// How long an operation waits for a free connection before it fails as unavailable.
    pub acquire_timeout: Duration,
    /// The artifacts per request and active sessions per tenant restores are held to.
    pub limits: backstore_domain::Limits,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            limits: backstore_domain::Limits::SERVICE,
        }
    }
}

/// What `migrate` did: the schema version before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrateReport {
    pub from: i64,
    pub to: i64,
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

    /// The allow-list of what a collection can be filtered and sorted on, for planning queries.
    fn schema(&self, collection: Collection) -> &'static Schema;

    /// A page of sessions (of one kind, or all) as `spec` asks.
    async fn list_sessions(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        spec: &ListSpec,
    ) -> StoreResult<Vec<Keyed<SessionRecord>>>;

    async fn count_sessions(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        filter: Option<&SqlFilter>,
    ) -> StoreResult<i64>;

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

    // ---- restore artifact bulk addition requests ----

    /// Attaches a bulk addition request to a draft session without artifacts or another request; the
    /// session's job type becomes `bulk`.
    async fn create_bulk_request(
        &self,
        w: Writer<'_>,
        session_id: &str,
        workload: Workload,
        spec: BulkRequestSpec,
    ) -> StoreResult<BulkRequestRecord>;

    /// The requests of a session (none or one); `None` when the session does not exist.
    async fn list_bulk_requests(
        &self,
        tenant: &str,
        session_id: &str,
        workload: Workload,
    ) -> StoreResult<Option<Vec<BulkRequestRecord>>>;

    /// Deletes a finished (`completed` / `completedWithErrors`) request.
    async fn delete_bulk_request(
        &self,
        tenant: &str,
        session_id: &str,
        workload: Workload,
        id: &str,
    ) -> StoreResult<()>;

    /// Resolves a claimed `ResolveBulk` job: artifacts (already scheduled, each with its restore job)
    /// for the resources that resolve, an error detail for those that do not. False when the lease
    /// was lost.
    async fn resolve_bulk_request(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool>;

    // ---- artifacts ----

    /// A page of a session's artifacts as `spec` asks.
    async fn list_artifacts(
        &self,
        tenant: &str,
        session_id: &str,
        spec: &ListSpec,
    ) -> StoreResult<Vec<Keyed<ArtifactRecord>>>;

    async fn count_artifacts(&self, tenant: &str, session_id: &str, filter: Option<&SqlFilter>) -> StoreResult<i64>;

    /// All artifacts of several sessions (for `$expand`), in creation order.
    async fn artifacts_of_sessions(&self, tenant: &str, session_ids: &[String]) -> StoreResult<Vec<ArtifactRecord>>;

    async fn get_artifact(
        &self,
        tenant: &str,
        session_id: &str,
        artifact_id: &str,
    ) -> StoreResult<Option<ArtifactRecord>>;

    // ---- the tenant's service ----

    /// The tenant's service state; `None` until it was ever enabled (the service is disabled).
    async fn service_state(&self, tenant: &str) -> StoreResult<Option<ServiceState>>;

    /// Enables the service for the writer's tenant, controlled from `app_owner_tenant_id`.
    async fn enable_service(&self, w: Writer<'_>, app_owner_tenant_id: &str) -> StoreResult<ServiceState>;

    /// Sets the service status of a tenant that enabled the service (`enabled`, `disabled`,
    /// `protectionChangeLocked`, `restoreLocked`): what Microsoft does to a tenant, here for tests.
    /// `None` when the tenant never enabled the service.
    async fn set_service_status(&self, w: Writer<'_>, status: &str) -> StoreResult<Option<ServiceState>>;

    // ---- the tenant's directory ----

    /// Makes resources known in the tenant (what `seed` creates outside the backup service);
    /// resources known already are left as they are. Returns how many were new.
    async fn register_resources(&self, tenant: &str, resources: &[DirectoryResource]) -> StoreResult<u64>;

    // ---- protection policies ----

    /// Creates an inactive policy with units for `resource_ids` (site ids or directory object ids):
    /// every resource must exist and be in no other policy, and no policy of the workload may be
    /// active, or nothing is created.
    async fn create_policy(
        &self,
        w: Writer<'_>,
        workload: Workload,
        display_name: Option<String>,
        resource_ids: Vec<String>,
    ) -> StoreResult<PolicyRecord>;

    async fn get_policy(&self, tenant: &str, id: &str, workload: Option<Workload>)
        -> StoreResult<Option<PolicyRecord>>;

    async fn list_policies(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<PolicyRecord>>;

    /// Renames a policy and applies a units delta: adds of unknown resources or of resources in
    /// another policy, and removes of units not in the policy, fail one item; the rest apply.
    async fn update_policy(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        display_name: Option<String>,
        items: Vec<PolicyDeltaItem>,
    ) -> StoreResult<PolicyDeltaOutcome>;

    /// Activates (`enable`) an inactive policy or deactivates an active one: its units go to
    /// `protectRequested` / `unprotectRequested` and a job settles them. With `settle_from`, the
    /// units are settled in the same transaction instead, protected from that time on (how `seed`
    /// makes a tenant that has been protected for a while).
    async fn set_policy_enabled(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        enable: bool,
        settle_from: Option<Timestamp>,
    ) -> StoreResult<PolicyRecord>;

    /// Deletes an inactive policy; its units stay, detached and unprotected.
    async fn delete_policy(&self, tenant: &str, id: &str, workload: Option<Workload>) -> StoreResult<()>;

    /// The units of one policy, in the order they joined it.
    async fn list_policy_units(
        &self,
        tenant: &str,
        policy_id: &str,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<UnitRow>>;

    /// Settles the waiting units of a policy now: `protectRequested → protected` (restore points
    /// are taken from `protected_since`), `unprotectRequested → unprotected`, `removeRequested` →
    /// detached. What a `SettlePolicy` job does, for callers that run it in place (`seed`).
    async fn settle_policy(
        &self,
        tenant: &str,
        policy_id: &str,
        now: Timestamp,
        protected_since: Timestamp,
    ) -> StoreResult<PolicyRecord>;

    /// Runs a claimed `SettlePolicy` job. False when the lease was lost.
    async fn settle_policy_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool>;

    /// Queues a bulk addition job on a policy of `workload`; the engine resolves it.
    async fn create_unit_bulk_job(
        &self,
        w: Writer<'_>,
        policy_id: &str,
        workload: Workload,
        display_name: Option<String>,
        addresses: Vec<String>,
        object_ids: Vec<String>,
    ) -> StoreResult<UnitBulkJobRecord>;

    /// Bulk addition jobs of a workload, of one policy or all, in creation order.
    async fn list_unit_bulk_jobs(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<UnitBulkJobRecord>>;

    /// One bulk addition job of a workload (and of `policy_id`, when given).
    async fn get_unit_bulk_job(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<UnitBulkJobRecord>>;

    /// Runs a claimed `ResolveUnitJob` job: each resource joins the policy or gets an error
    /// detail. False when the lease was lost.
    async fn resolve_unit_bulk_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool>;

    /// `offboard` (or, with `cancel`, `cancelOffboard`) a unit that is in no policy.
    async fn offboard_unit(&self, w: Writer<'_>, id: &str, cancel: bool) -> StoreResult<ProtectionUnitRecord>;

    // ---- inclusion rules ----

    /// Adds an `active` rule to a policy of `workload` and queues its `applyRule` job.
    async fn create_rule(
        &self,
        w: Writer<'_>,
        policy_id: &str,
        workload: Workload,
        expression: String,
    ) -> StoreResult<RuleRecord>;

    /// Rules of a workload, of one policy or all, in creation order.
    async fn list_rules(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<RuleRecord>>;

    async fn get_rule(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<RuleRecord>>;

    /// Deletes a rule that is not being applied; the units it added stay.
    async fn delete_rule(&self, tenant: &str, workload: Workload, policy_id: Option<&str>, id: &str)
        -> StoreResult<()>;

    /// `run` or `deleteAndUnprotect` on a rule that is not being applied; its job carries it out.
    async fn rule_action(
        &self,
        w: Writer<'_>,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
        action: RuleAction,
    ) -> StoreResult<RuleRecord>;

    /// Runs a claimed `applyRule` job. False when the lease was lost.
    async fn apply_rule_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool>;

    // ---- service apps and notification settings ----

    /// Registers an application as a service app of the writer's tenant (`inactive`).
    async fn create_service_app(
        &self,
        w: Writer<'_>,
        application_id: &str,
        application_name: Option<&str>,
    ) -> StoreResult<ServiceAppRecord>;

    async fn list_service_apps(
        &self,
        tenant: &str,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<ServiceAppRecord>>;

    async fn get_service_app(&self, tenant: &str, id: &str) -> StoreResult<Option<ServiceAppRecord>>;

    async fn delete_service_app(&self, tenant: &str, id: &str) -> StoreResult<()>;

    /// Schedules the app to take control at `effective` (up to five minutes before `now` means now).
    async fn activate_service_app(
        &self,
        w: Writer<'_>,
        id: &str,
        effective: Timestamp,
    ) -> StoreResult<ServiceAppRecord>;

    /// Ends the app's control, or cancels its scheduled activation.
    async fn deactivate_service_app(&self, w: Writer<'_>, id: &str) -> StoreResult<ServiceAppRecord>;

    /// The tenant's `emailNotificationsSetting` members as last written; `None` until then.
    async fn notification_settings(&self, tenant: &str) -> StoreResult<Option<serde_json::Value>>;

    async fn put_notification_settings(&self, tenant: &str, settings: &serde_json::Value) -> StoreResult<()>;

    // ---- protection units and restore points ----

    /// Puts a unit and its points in place as they are (fixtures and imports; no policy rules).
    async fn insert_protection_unit(
        &self,
        tenant: &str,
        unit: &ProtectionUnitRecord,
        points: &[RestorePointRecord],
    ) -> StoreResult<()>;

    /// A restore point of the tenant, expired ones included (artifacts keep showing theirs).
    async fn get_restore_point(&self, tenant: &str, id: &str) -> StoreResult<Option<RestorePointRecord>>;

    /// A page of protection units (of one kind, or all) as `spec` asks.
    async fn list_units(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        spec: &ListSpec,
    ) -> StoreResult<Vec<Keyed<UnitRow>>>;

    async fn count_units(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        filter: Option<&SqlFilter>,
    ) -> StoreResult<i64>;

    async fn get_unit(&self, tenant: &str, id: &str) -> StoreResult<Option<UnitRow>>;

    /// Unexpired restore points of one unit at `now`, as `query` asks.
    async fn find_restore_points(
        &self,
        tenant: &str,
        query: &RestorePointQuery,
        now: Timestamp,
    ) -> StoreResult<Vec<RestorePointRecord>>;

    // ---- the server clock and restore point retention ----

    /// The offset of the server clock stored in the database, in microseconds.
    async fn clock_offset(&self) -> StoreResult<i64>;

    /// Moves the stored server clock forward by `by_micros` (never back); returns the new offset.
    async fn advance_clock(&self, by_micros: i64) -> StoreResult<i64>;

    /// Brings every protected unit's restore points up to `now`: takes the points whose slots came
    /// due, drops fast-restore tags past 14 days, removes expired points no artifact refers to.
    async fn retention_pass(&self, now: Timestamp) -> StoreResult<RetentionReport>;

    // ---- engine: the job queue ----

    /// Claims up to `limit` jobs that are due, or whose lease expired (a takeover), for `worker`
    /// until `now + lease`. Each claim counts an attempt and is recorded in the job's history; an
    /// artifact still `scheduling` becomes `scheduled` in the same transaction.
    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedJob>>;

    /// Extends a held lease. False when the lease was lost (expired and taken over).
    async fn renew_lease(&self, job: &JobRef, now: Timestamp, lease: chrono::Duration) -> StoreResult<bool>;

    /// Moves a non-terminal artifact one step on the way (`Scheduled`, `Started`), if it is still in
    /// `from`. Returns whether it moved; a step that ran before is not an error.
    async fn record_step(
        &self,
        tenant: &str,
        artifact_id: &str,
        from: backstore_domain::ArtifactStatus,
        step: ArtifactStep,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Ends a job whose lease is held: the artifact takes its terminal `step` (unless it is terminal
    /// already), the job is done, the session is re-derived. False when the lease was lost.
    async fn finish_job(&self, job: &JobRef, step: ArtifactStep, event: JobEvent, now: Timestamp) -> StoreResult<bool>;

    /// Puts a job whose lease is held back in the queue until `run_at` after a failed attempt.
    async fn retry_job(&self, job: &JobRef, run_at: Timestamp, error: &str, now: Timestamp) -> StoreResult<bool>;

    /// Gives a held job back without counting the attempt (graceful shutdown).
    async fn release_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool>;

    /// The history of the job that restores an artifact, oldest first.
    async fn job_history(&self, tenant: &str, artifact_id: &str) -> StoreResult<Vec<JobEventRecord>>;

    /// Counts for the metrics: jobs by state, sessions by status (all tenants).
    async fn engine_stats(&self) -> StoreResult<EngineStats>;

    /// Hands out the next `n` of `R<n>` for a `new` restore of `original_url`.
    async fn allocate_restore_suffix(&self, tenant: &str, original_url: &str) -> StoreResult<u32>;
}

/// Brings the database a URL names to this backstore's schema; refuses a newer one.
pub async fn migrate(url: &str) -> StoreResult<MigrateReport> {
    sql::SqlStore::migrate(url).await
}

/// Opens the store a database URL names (`sqlite://…` or `postgres://…`), creating and migrating
/// it as needed.
pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<Arc<dyn Store>> {
    Ok(Arc::new(sql::SqlStore::open(url, options).await?))
}
