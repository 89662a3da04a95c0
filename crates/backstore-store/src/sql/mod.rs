//! The SQL backends: one SQLite file in WAL mode (the embedded default) or one PostgreSQL database
//! shared by any number of processes. Both run the same code through sqlx's `Any` driver; the few
//! differences are in [`dialect`] and in each backend's migrations. Writers serialize up front —
//! SQLite's `BEGIN IMMEDIATE`, PostgreSQL's transaction-scoped advisory lock — so a transaction
//! that reads and then writes never acts on a stale read, whichever process it runs in.

use async_trait::async_trait;
use backstore_domain::delta::{plan_adds_within, plan_delta_within, ExistingArtifact, PlannedItem};
use backstore_domain::error::{RestorePointProblem, SessionAction};
use backstore_domain::restore::{RestoreOutcome, UnitInfo};
use backstore_domain::retention;
use backstore_domain::status::session_error;
use backstore_domain::{
    derive_session, Actor, ArtifactAdd, ArtifactCounts, ArtifactStatus, DeltaItem, DestinationType, ErrorInfo,
    ProtectionUnitStatus, RestoreJobType, RestorePointTags, RuleError, SessionDerived, SessionStatus, Timestamp,
    Workload,
};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Executor, Row};

use crate::{
    AppliedItem, ArtifactRecord, ArtifactStep, Bind, BulkRequestRecord, BulkRequestSpec, ClaimedJob, Collection,
    DeltaOutcome, DirectoryResource, EngineStats, ErrorDetail, JobEvent, JobEventRecord, JobRef, JobWork, Keyed,
    ListSpec, PolicyDeltaItem, PolicyDeltaOutcome, PolicyRecord, ProtectionUnitRecord, RestorePointQuery,
    RestorePointRecord, RestoreWork, RetentionReport, RuleAction, RuleRecord, Schema, ServiceAppRecord, ServiceState,
    SessionCheck, SessionRecord, SqlFilter, Store, StoreError, StoreOptions, StoreResult, UnitBulkJobRecord, UnitRow,
    Writer,
};

pub mod dialect;
mod listing;
mod protection;
mod rules;
mod service_apps;

pub use dialect::{numbered, Dialect};
pub use protection::offboard_grace;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The key of the advisory lock every PostgreSQL write transaction takes first.
const WRITE_LOCK: i64 = 0x6261_636b_7374;

pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    limits: backstore_domain::Limits,
}

impl SqlStore {
    /// Opens (creating if missing) the database a URL names and runs the migrations.
    pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<SqlStore> {
        let (pool, dialect) = Self::connect(url, options).await?;
        Self::bring_up_to_date(&pool, dialect).await?;
        Ok(SqlStore { pool, dialect, limits: options.limits })
    }

    /// `backstore migrate`: the schema version before and after bringing it up to date.
    pub async fn migrate(url: &str) -> StoreResult<crate::MigrateReport> {
        let (pool, dialect) =
            Self::connect(url, &StoreOptions { max_connections: 1, ..StoreOptions::default() }).await?;
        let report = Self::bring_up_to_date(&pool, dialect).await?;
        pool.close().await;
        Ok(report)
    }

    fn migrator(dialect: Dialect) -> &'static sqlx::migrate::Migrator {
        match dialect {
            Dialect::Sqlite => &SQLITE_MIGRATOR,
            Dialect::Postgres => &POSTGRES_MIGRATOR,
        }
    }

    /// The highest migration applied to the database (0 for a new one).
    async fn schema_version(pool: &AnyPool, dialect: Dialect) -> StoreResult<i64> {
        let exists = match dialect {
            Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        let exists: i64 = sqlx::query_scalar(exists).fetch_one(pool).await?;
        if exists == 0 {
            return Ok(0);
        }
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?;
        Ok(v.unwrap_or(0))
    }

    /// Runs the migrations this build knows, after refusing a schema a newer build wrote.
    async fn bring_up_to_date(pool: &AnyPool, dialect: Dialect) -> StoreResult<crate::MigrateReport> {
        let migrator = Self::migrator(dialect);
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let from = Self::schema_version(pool, dialect).await?;
        if from > known {
            return Err(StoreError::SchemaTooNew { database: from, known });
        }
        migrator.run(pool).await?;
        Ok(crate::MigrateReport { from, to: Self::schema_version(pool, dialect).await? })
    }

    async fn connect(url: &str, options: &StoreOptions) -> StoreResult<(AnyPool, Dialect)> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
        let pool =
            AnyPoolOptions::new().max_connections(options.max_connections).acquire_timeout(options.acquire_timeout);
        let pool = match dialect {
            Dialect::Sqlite => {
                // The file is created, and switched to WAL (which it keeps), before the pool opens it.
                let url = with_create_mode(url);
                let mut first = <AnyConnection as sqlx::Connection>::connect(&url).await?;
                first.execute("PRAGMA journal_mode = WAL").await?;
                sqlx::Connection::close(first).await?;
                pool.after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?
            }
            Dialect::Postgres => pool.connect(url).await?,
        };
        Ok((pool, dialect))
    }

    /// A transaction that holds the database's write lock from its first statement.
    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        match self.dialect {
            Dialect::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Dialect::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }
}

/// A `sqlite:` URL that creates its file when missing (unless it says otherwise).
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

// ---------- value conversions ----------

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

fn from_micros(v: i64) -> StoreResult<Timestamp> {
    chrono::DateTime::from_timestamp_micros(v).ok_or_else(|| StoreError::Corrupt(format!("timestamp {v}")))
}

fn opt_from_micros(v: Option<i64>) -> StoreResult<Option<Timestamp>> {
    v.map(from_micros).transpose()
}

fn corrupt<T>(what: &str, value: &str) -> StoreResult<T> {
    Err(StoreError::Corrupt(format!("{what} '{value}'")))
}

fn workload(s: &str) -> StoreResult<Workload> {
    Workload::from_unit_kind(s).map_or_else(|| corrupt("workload", s), Ok)
}

fn actor_json(a: &Actor) -> String {
    serde_json::to_string(a).expect("an Actor always serializes")
}

fn actor(s: &str) -> StoreResult<Actor> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("actor: {e}")))
}

fn error_info(code: Option<String>, message: Option<String>) -> Option<ErrorInfo> {
    code.map(|code| ErrorInfo { code, message: message.unwrap_or_default() })
}

/// `tenant_id = ?` and, for one kind, `workload = ?`, with their values.
fn kind_scope(tenant: &str, workload: Option<Workload>) -> (String, Vec<Bind>) {
    let mut binds = vec![Bind::Text(tenant.to_owned())];
    let mut scope = String::from("tenant_id = ?");
    if let Some(w) = workload {
        scope.push_str(" AND workload = ?");
        binds.push(Bind::Text(w.unit_kind().to_owned()));
    }
    (scope, binds)
}

const SESSION_COLUMNS: &str = "seq, id, workload, restore_job_type, activated_at, created_at, created_by, \
    last_modified_at, last_modified_by, status, total, completed, failed, in_progress, completed_at, \
    error_code, error_message";

fn session_from_row(row: &AnyRow) -> StoreResult<SessionRecord> {
    let status: String = row.try_get("status")?;
    let job_type: String = row.try_get("restore_job_type")?;
    Ok(SessionRecord {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        workload: workload(row.try_get("workload")?)?,
        job_type: RestoreJobType::parse(&job_type).map_or_else(|| corrupt("job type", &job_type), Ok)?,
        activated_at: opt_from_micros(row.try_get("activated_at")?)?,
        created_at: from_micros(row.try_get("created_at")?)?,
        created_by: actor(row.try_get("created_by")?)?,
        last_modified_at: from_micros(row.try_get("last_modified_at")?)?,
        last_modified_by: actor(row.try_get("last_modified_by")?)?,
        derived: SessionDerived {
            status: SessionStatus::parse(&status).map_or_else(|| corrupt("session status", &status), Ok)?,
            total: row.try_get("total")?,
            completed: row.try_get("completed")?,
            failed: row.try_get("failed")?,
            in_progress: row.try_get("in_progress")?,
        },
        completed_at: opt_from_micros(row.try_get("completed_at")?)?,
        error: error_info(row.try_get("error_code")?, row.try_get("error_message")?),
    })
}

const ARTIFACT_SELECT: &str = "SELECT a.seq, a.tenant_id, a.id, a.session_id, a.restore_point_id, a.destination_type, \
    a.status, a.created_at, a.start_at, a.completion_at, a.error_code, a.error_message, a.restored_site_id, \
    a.restored_site_name, a.restored_site_web_url, a.restored_folder_id, a.restored_folder_name, \
    a.restored_item_count, rp.protection_unit_id, rp.protection_at, rp.expiration_at, rp.tags, \
    pu.workload, pu.site_id, pu.site_name, pu.site_web_url, pu.directory_object_id, pu.display_name, pu.email, \
    pu.fault \
    FROM restore_artifacts a \
    JOIN restore_points rp ON rp.tenant_id = a.tenant_id AND rp.id = a.restore_point_id \
    JOIN protection_units pu ON pu.tenant_id = rp.tenant_id AND pu.id = rp.protection_unit_id";

fn restore_point_from_row(row: &AnyRow, id_column: &str) -> StoreResult<RestorePointRecord> {
    let tags: String = row.try_get("tags")?;
    Ok(RestorePointRecord {
        id: row.try_get(id_column)?,
        protection_unit_id: row.try_get("protection_unit_id")?,
        workload: workload(row.try_get("workload")?)?,
        protection_at: from_micros(row.try_get("protection_at")?)?,
        expiration_at: from_micros(row.try_get("expiration_at")?)?,
        tags: RestorePointTags::parse(&tags).map_or_else(|| corrupt("tags", &tags), Ok)?,
    })
}

fn artifact_from_row(row: &AnyRow) -> StoreResult<ArtifactRecord> {
    let status: String = row.try_get("status")?;
    let destination: String = row.try_get("destination_type")?;
    Ok(ArtifactRecord {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        session_id: row.try_get("session_id")?,
        restore_point: restore_point_from_row(row, "restore_point_id")?,
        destination: DestinationType::parse(&destination).map_or_else(|| corrupt("destination", &destination), Ok)?,
        status: ArtifactStatus::parse(&status).map_or_else(|| corrupt("artifact status", &status), Ok)?,
        created_at: from_micros(row.try_get("created_at")?)?,
        start_at: opt_from_micros(row.try_get("start_at")?)?,
        completion_at: opt_from_micros(row.try_get("completion_at")?)?,
        error: error_info(row.try_get("error_code")?, row.try_get("error_message")?),
        outcome: RestoreOutcome {
            restored_site_id: row.try_get("restored_site_id")?,
            restored_site_name: row.try_get("restored_site_name")?,
            restored_site_web_url: row.try_get("restored_site_web_url")?,
            restored_folder_id: row.try_get("restored_folder_id")?,
            restored_folder_name: row.try_get("restored_folder_name")?,
            restored_item_count: row.try_get("restored_item_count")?,
        },
    })
}

const UNIT_COLUMNS: &str =
    "seq, id AS protection_unit_id, workload, policy_id, status, site_id, site_name, site_web_url, \
    directory_object_id, display_name, email, created_at, created_by, fault, last_modified_at, last_modified_by, \
    protected_since, offboard_requested_at, error_code, error_message, protection_sources";

fn unit_row(row: &AnyRow) -> StoreResult<UnitRow> {
    let status: String = row.try_get("status")?;
    let created_by: Option<String> = row.try_get("created_by")?;
    let last_modified_by: Option<String> = row.try_get("last_modified_by")?;
    let created_at = from_micros(row.try_get("created_at")?)?;
    Ok(UnitRow {
        seq: row.try_get("seq")?,
        unit: ProtectionUnitRecord {
            info: unit_from_row(row)?,
            policy_id: row.try_get("policy_id")?,
            status: ProtectionUnitStatus::parse(&status).map_or_else(|| corrupt("unit status", &status), Ok)?,
            created_at,
            created_by: created_by.as_deref().map(actor).transpose()?,
            last_modified_at: opt_from_micros(row.try_get("last_modified_at")?)?.unwrap_or(created_at),
            last_modified_by: last_modified_by.as_deref().map(actor).transpose()?,
            protected_since: opt_from_micros(row.try_get("protected_since")?)?,
            offboard_requested_at: opt_from_micros(row.try_get("offboard_requested_at")?)?,
            error: error_info(row.try_get("error_code")?, row.try_get("error_message")?),
            sources: row.try_get("protection_sources")?,
            fault: row.try_get("fault")?,
        },
    })
}

fn unit_from_row(row: &AnyRow) -> StoreResult<UnitInfo> {
    Ok(UnitInfo {
        id: row.try_get("protection_unit_id")?,
        workload: workload(row.try_get("workload")?)?,
        site_id: row.try_get("site_id")?,
        site_name: row.try_get("site_name")?,
        site_web_url: row.try_get("site_web_url")?,
        directory_object_id: row.try_get("directory_object_id")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
    })
}

// ---------- statements shared by the operations (all inside a caller's transaction) ----------

async fn load_session(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
) -> StoreResult<Option<SessionRecord>> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM restore_sessions \
         WHERE tenant_id = ? AND id = ? AND (? IS NULL OR workload = ?)"
    );
    let kind = workload.map(Workload::unit_kind);
    let row = sqlx::query(&numbered(&sql)).bind(tenant).bind(id).bind(kind).bind(kind).fetch_optional(conn).await?;
    row.as_ref().map(session_from_row).transpose()
}

async fn require_draft(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
    action: SessionAction,
) -> StoreResult<SessionRecord> {
    let session = load_session(conn, tenant, id, workload).await?.ok_or(RuleError::SessionNotFound)?;
    if session.activated_at.is_some() {
        return Err(RuleError::NotDraft(action).into());
    }
    Ok(session)
}

/// The artifacts of a session that a delta's plan can depend on: those it removes, those holding a
/// restore point it adds, and for each destination type one artifact it leaves in place. What
/// `plan_delta` decides over these is what it would decide over the whole session, and a PATCH
/// of a session with 100 000 artifacts reads a handful of rows, not all of them.
async fn existing_artifacts(
    conn: &mut AnyConnection,
    tenant: &str,
    session_id: &str,
    items: &[DeltaItem],
) -> StoreResult<Vec<ExistingArtifact>> {
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for item in items {
        match item {
            DeltaItem::Remove { id, .. } => removed.push(id.as_str()),
            DeltaItem::Add(a) => added.push(a.restore_point.as_str()),
        }
    }
    let marks = |n: usize| vec!["?"; n].join(", ");
    let columns = "SELECT id, restore_point_id, destination_type FROM restore_artifacts \
                   WHERE tenant_id = ? AND session_id = ?";
    let mut queries: Vec<(String, Vec<&str>)> = Vec::new();
    if !removed.is_empty() {
        queries.push((format!("{columns} AND id IN ({})", marks(removed.len())), removed.clone()));
    }
    if !added.is_empty() {
        queries.push((format!("{columns} AND restore_point_id IN ({})", marks(added.len())), added));
    }
    let staying = if removed.is_empty() { String::new() } else { format!(" AND id NOT IN ({})", marks(removed.len())) };
    for d in [DestinationType::New, DestinationType::InPlace] {
        // The destination names come from the enum, not from the request.
        queries.push((format!("{columns} AND destination_type = '{}'{staying} LIMIT 1", d.as_str()), removed.clone()));
    }
    let mut out: Vec<ExistingArtifact> = Vec::new();
    for (sql, values) in &queries {
        let sql = numbered(sql);
        let mut q = sqlx::query(&sql).bind(tenant).bind(session_id);
        for v in values {
            q = q.bind(*v);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let id: String = r.try_get("id")?;
            if out.iter().any(|a| a.id == id) {
                continue;
            }
            let d: String = r.try_get("destination_type")?;
            out.push(ExistingArtifact {
                id,
                restore_point_id: r.try_get("restore_point_id")?,
                destination: DestinationType::parse(&d).map_or_else(|| corrupt("destination", &d), Ok)?,
            });
        }
    }
    Ok(out)
}

/// Checks that a restore point can be restored in a session of `session_workload` at `now`.
async fn resolve_restore_point(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    session_workload: Workload,
    now: Timestamp,
) -> StoreResult<Result<(), RestorePointProblem>> {
    resolve_restore_points(conn, tenant, &[id], session_workload, now).await
}

async fn insert_artifact(
    conn: &mut AnyConnection,
    tenant: &str,
    session_id: &str,
    add: &ArtifactAdd,
    now: Timestamp,
) -> StoreResult<String> {
    let mut ids = insert_artifacts(conn, tenant, session_id, std::slice::from_ref(add), now).await?;
    Ok(ids.remove(0))
}

/// Inserts `adds` as `added` artifacts of a session, in order, with one statement per 50 and one
/// counter update; their new ids.
async fn insert_artifacts(
    conn: &mut AnyConnection,
    tenant: &str,
    session_id: &str,
    adds: &[ArtifactAdd],
    now: Timestamp,
) -> StoreResult<Vec<String>> {
    let ids: Vec<String> = adds.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect();
    for (chunk, chunk_ids) in adds.chunks(50).zip(ids.chunks(50)) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO restore_artifacts (tenant_id, id, session_id, restore_point_id, destination_type, status, \
             created_at) VALUES {rows}"
        );
        let mut binds = Vec::with_capacity(chunk.len() * 7);
        for (add, id) in chunk.iter().zip(chunk_ids) {
            binds.extend([
                Bind::Text(tenant.to_owned()),
                Bind::Text(id.clone()),
                Bind::Text(session_id.to_owned()),
                Bind::Text(add.restore_point.as_str().to_owned()),
                Bind::Text(add.destination.as_str().to_owned()),
                Bind::Text(ArtifactStatus::Added.as_str().to_owned()),
                Bind::Int(micros(now)),
            ]);
        }
        let sql = numbered(&sql);
        listing::with_binds(&sql, &binds).execute(&mut *conn).await?;
    }
    if !adds.is_empty() {
        let column = count_column(ArtifactStatus::Added);
        let sql = format!("UPDATE restore_sessions SET {column} = {column} + ? WHERE tenant_id = ? AND id = ?");
        let n = i64::try_from(adds.len()).expect("a request's artifacts fit an i64");
        sqlx::query(&numbered(&sql)).bind(n).bind(tenant).bind(session_id).execute(&mut *conn).await?;
    }
    Ok(ids)
}

/// Checks that restore points can be restored in a session of `session_workload` at `now`: they
/// exist in the tenant, belong to the session's workload and have not expired. One query; the first
/// problem in `ids` order.
async fn resolve_restore_points(
    conn: &mut AnyConnection,
    tenant: &str,
    ids: &[&str],
    session_workload: Workload,
    now: Timestamp,
) -> StoreResult<Result<(), RestorePointProblem>> {
    if ids.is_empty() {
        return Ok(Ok(()));
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!(
        "SELECT rp.id, rp.expiration_at, pu.workload FROM restore_points rp \
         JOIN protection_units pu ON pu.tenant_id = rp.tenant_id AND pu.id = rp.protection_unit_id \
         WHERE rp.tenant_id = ? AND rp.id IN ({marks})"
    );
    let binds: Vec<Bind> =
        std::iter::once(tenant).chain(ids.iter().copied()).map(|v| Bind::Text(v.to_owned())).collect();
    let sql = numbered(&sql);
    let rows = listing::with_binds(&sql, &binds).fetch_all(&mut *conn).await?;
    let mut found = std::collections::HashMap::new();
    for row in &rows {
        let id: String = row.try_get("id")?;
        found.insert(id, (workload(row.try_get("workload")?)?, from_micros(row.try_get("expiration_at")?)?));
    }
    for id in ids {
        let problem = match found.get(*id) {
            None => RestorePointProblem::NotFound((*id).to_owned()),
            Some((point, _)) if *point != session_workload => {
                RestorePointProblem::WrongWorkload { id: (*id).to_owned(), point: *point, session: session_workload }
            }
            Some((_, expires)) if *expires <= now => RestorePointProblem::Expired((*id).to_owned()),
            Some(_) => continue,
        };
        return Ok(Err(problem));
    }
    Ok(Ok(()))
}

async fn load_artifact(conn: &mut AnyConnection, tenant: &str, artifact_id: &str) -> StoreResult<ArtifactRecord> {
    let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.id = ?");
    let row = sqlx::query(&numbered(&sql)).bind(tenant).bind(artifact_id).fetch_one(conn).await?;
    artifact_from_row(&row)
}

async fn touch_session(
    conn: &mut AnyConnection,
    tenant: &str,
    id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(&numbered(
        "UPDATE restore_sessions SET last_modified_at = ?, last_modified_by = ? WHERE tenant_id = ? AND id = ?",
    ))
    .bind(micros(now))
    .bind(actor_json(actor))
    .bind(tenant)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

const RESTORE_JOB: &str = "restoreArtifact";
const RESOLVE_BULK_JOB: &str = "resolveBulk";

const INSERT_JOB: &str = "INSERT INTO jobs (tenant_id, id, kind, session_id, artifact_id, state, run_at, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6)";

/// Puts a job in the queue, due now. `target` is the artifact (or, for bulk resolution, the request).
async fn enqueue(
    conn: &mut AnyConnection,
    tenant: &str,
    session: &str,
    target: &str,
    kind: &str,
    now: Timestamp,
) -> StoreResult<()> {
    insert_job(conn, INSERT_JOB, tenant, session, target, kind, now).await
}

/// Queues the `kind` job of `target`: one row per target and kind, re-armed once it is done (a job
/// still queued or running will see the new work when it runs).
async fn rearm(
    conn: &mut AnyConnection,
    tenant: &str,
    session: &str,
    target: &str,
    kind: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let sql = format!(
        "{INSERT_JOB} ON CONFLICT (tenant_id, artifact_id, kind) DO UPDATE SET state = 'queued', \
         run_at = excluded.run_at, attempts = 0, lease_owner = NULL, lease_expires_at = NULL, last_error = NULL, \
         finished_at = NULL WHERE jobs.state = 'done'"
    );
    insert_job(conn, &sql, tenant, session, target, kind, now).await
}

async fn insert_job(
    conn: &mut AnyConnection,
    sql: &str,
    tenant: &str,
    session: &str,
    target: &str,
    kind: &str,
    now: Timestamp,
) -> StoreResult<()> {
    sqlx::query(&numbered(sql))
        .bind(tenant)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(kind)
        .bind(session)
        .bind(target)
        .bind(micros(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Drops the finished `kind` job row of `target` (its policy or rule is going away).
async fn forget_done_job(conn: &mut AnyConnection, tenant: &str, kind: &str, target: &str) -> StoreResult<()> {
    sqlx::query(&numbered("DELETE FROM jobs WHERE tenant_id = ? AND kind = ? AND artifact_id = ? AND state = 'done'"))
        .bind(tenant)
        .bind(kind)
        .bind(target)
        .execute(conn)
        .await?;
    Ok(())
}

/// Artifacts of a session populated by a bulk addition request come from the request only.
fn refuse_if_bulk(session: &SessionRecord) -> Result<(), RuleError> {
    if session.job_type == RestoreJobType::Bulk {
        return Err(RuleError::InvalidPatch(
            "This restore session is populated by a bulk addition request; its artifacts cannot be changed directly."
                .into(),
        ));
    }
    Ok(())
}

/// The session column that counts artifacts in `status`.
fn count_column(status: ArtifactStatus) -> &'static str {
    match status {
        ArtifactStatus::Added => "n_added",
        ArtifactStatus::Scheduling => "n_scheduling",
        ArtifactStatus::Scheduled => "n_scheduled",
        ArtifactStatus::InProgress => "n_in_progress",
        ArtifactStatus::Succeeded => "n_succeeded",
        ArtifactStatus::Failed => "n_failed",
    }
}

/// Moves one artifact of a session from `from` (none: a new artifact) to `to` (none: removed) in the
/// session's per-status counts.
async fn count_move(
    conn: &mut AnyConnection,
    tenant: &str,
    session: &str,
    from: Option<ArtifactStatus>,
    to: Option<ArtifactStatus>,
) -> StoreResult<()> {
    let mut sets = Vec::new();
    if let Some(f) = from {
        sets.push(format!("{0} = {0} - 1", count_column(f)));
    }
    if let Some(t) = to {
        sets.push(format!("{0} = {0} + 1", count_column(t)));
    }
    if sets.is_empty() {
        return Ok(());
    }
    let sql = format!("UPDATE restore_sessions SET {} WHERE tenant_id = ? AND id = ?", sets.join(", "));
    sqlx::query(&numbered(&sql)).bind(tenant).bind(session).execute(conn).await?;
    Ok(())
}

/// Re-derives a session's status, counters, `completedDateTime` and `error` from its artifacts.
async fn refresh_session(conn: &mut AnyConnection, tenant: &str, id: &str, now: Timestamp) -> StoreResult<()> {
    let session = sqlx::query(&numbered(
        "SELECT activated_at, completed_at, error_code, n_added, n_scheduling, n_scheduled, n_in_progress, \
         n_succeeded, n_failed FROM restore_sessions WHERE tenant_id = ? AND id = ?",
    ))
    .bind(tenant)
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let mut counts = ArtifactCounts::default();
    for status in [
        ArtifactStatus::Added,
        ArtifactStatus::Scheduling,
        ArtifactStatus::Scheduled,
        ArtifactStatus::InProgress,
        ArtifactStatus::Succeeded,
        ArtifactStatus::Failed,
    ] {
        counts.add(status, session.try_get(count_column(status))?);
    }
    let activated = session.try_get::<Option<i64>, _>("activated_at")?.is_some();
    let resolving = activated && {
        let pending: Option<i64> = sqlx::query_scalar(&numbered(
            "SELECT 1 FROM bulk_requests WHERE tenant_id = ? AND session_id = ? AND status = 'active'",
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        pending.is_some()
    };
    let derived = derive_session(&counts, activated, resolving);
    let error_known: Option<String> = session.try_get("error_code")?;
    let first_failure: Option<String> = if error_known.is_some() {
        error_known
    } else if counts.failed > 0 && derived.status.is_terminal() {
        sqlx::query_scalar(&numbered(
            "SELECT error_code FROM restore_artifacts WHERE tenant_id = ? AND session_id = ? AND status = 'failed' \
             ORDER BY completion_at, seq LIMIT 1",
        ))
        .bind(tenant)
        .bind(id)
        .fetch_one(&mut *conn)
        .await?
    } else {
        None
    };
    let error = session_error(&derived, first_failure.as_deref());
    let completed_at = if derived.status.is_terminal() {
        Some(session.try_get::<Option<i64>, _>("completed_at")?.unwrap_or(micros(now)))
    } else {
        None
    };
    sqlx::query(&numbered(
        "UPDATE restore_sessions SET status = ?, total = ?, completed = ?, failed = ?, in_progress = ?, \
         completed_at = ?, error_code = ?, error_message = ? WHERE tenant_id = ? AND id = ?",
    ))
    .bind(derived.status.as_str())
    .bind(derived.total)
    .bind(derived.completed)
    .bind(derived.failed)
    .bind(derived.in_progress)
    .bind(completed_at)
    .bind(error.as_ref().map(|e| e.code.clone()))
    .bind(error.as_ref().map(|e| e.message.clone()))
    .bind(tenant)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

async fn reload_session(conn: &mut AnyConnection, tenant: &str, id: &str) -> StoreResult<SessionRecord> {
    load_session(conn, tenant, id, None)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("session {id} vanished inside its transaction")))
}

#[async_trait]
impl Store for SqlStore {
    async fn create_session(
        &self,
        w: Writer<'_>,
        workload: Workload,
        adds: Vec<ArtifactAdd>,
    ) -> StoreResult<SessionRecord> {
        let Writer { tenant, actor, now } = w;
        let adds = plan_adds_within(adds, &[], &self.limits)?;
        let mut tx = self.begin_write().await?;
        let points: Vec<&str> = adds.iter().map(|a| a.restore_point.as_str()).collect();
        resolve_restore_points(&mut tx, tenant, &points, workload, now)
            .await?
            .map_err(RuleError::RestorePointUnusable)?;
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(&numbered(
            "INSERT INTO restore_sessions (tenant_id, id, workload, restore_job_type, created_at, created_by, \
             last_modified_at, last_modified_by, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(tenant)
        .bind(&id)
        .bind(workload.unit_kind())
        .bind(RestoreJobType::Standard.as_str())
        .bind(micros(now))
        .bind(actor_json(actor))
        .bind(micros(now))
        .bind(actor_json(actor))
        .bind(SessionStatus::Draft.as_str())
        .execute(&mut *tx)
        .await?;
        insert_artifacts(&mut tx, tenant, &id, &adds, now).await?;
        refresh_session(&mut tx, tenant, &id, now).await?;
        let session = reload_session(&mut tx, tenant, &id).await?;
        tx.commit().await?;
        Ok(session)
    }

    async fn get_session(
        &self,
        tenant: &str,
        id: &str,
        workload: Option<Workload>,
    ) -> StoreResult<Option<SessionRecord>> {
        let mut conn = self.pool.acquire().await?;
        load_session(&mut conn, tenant, id, workload).await
    }

    fn schema(&self, collection: Collection) -> &'static Schema {
        listing::schema(collection)
    }

    async fn list_sessions(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        spec: &ListSpec,
    ) -> StoreResult<Vec<Keyed<SessionRecord>>> {
        let select = format!("SELECT {SESSION_COLUMNS} FROM restore_sessions");
        let (scope, binds) = kind_scope(tenant, workload);
        listing::page(&self.pool, &select, &scope, &binds, "seq", spec, session_from_row).await
    }

    async fn count_sessions(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        filter: Option<&SqlFilter>,
    ) -> StoreResult<i64> {
        let (scope, binds) = kind_scope(tenant, workload);
        listing::count(&self.pool, "FROM restore_sessions", &scope, &binds, filter).await
    }

    async fn delete_session(&self, tenant: &str, id: &str, workload: Option<Workload>) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        require_draft(&mut tx, tenant, id, workload, SessionAction::Delete).await?;
        sqlx::query(&numbered("DELETE FROM restore_artifacts WHERE tenant_id = ? AND session_id = ?"))
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&numbered("DELETE FROM restore_sessions WHERE tenant_id = ? AND id = ?"))
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn activate_session(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
    ) -> StoreResult<SessionRecord> {
        let Writer { tenant, actor, now } = w;
        let mut tx = self.begin_write().await?;
        let session = require_draft(&mut tx, tenant, id, workload, SessionAction::Activate).await?;
        let bulk = session.job_type == RestoreJobType::Bulk;
        if session.derived.total == 0 && !bulk {
            return Err(RuleError::EmptyArtifactList.into());
        }
        let running: i64 = sqlx::query_scalar(&numbered(
            "SELECT COUNT(*) FROM restore_sessions WHERE tenant_id = ? AND status IN ('activating', 'active')",
        ))
        .bind(tenant)
        .fetch_one(&mut *tx)
        .await?;
        if running >= self.limits.active_sessions {
            return Err(RuleError::TooManyActiveSessions.into());
        }
        sqlx::query(&numbered("UPDATE restore_artifacts SET status = ? WHERE tenant_id = ? AND session_id = ?"))
            .bind(ArtifactStatus::Scheduling.as_str())
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // One restore job per artifact, in the same transaction: activation and its work commit together.
        let artifact_ids: Vec<String> = sqlx::query_scalar(&numbered(
            "SELECT id FROM restore_artifacts WHERE tenant_id = ? AND session_id = ? ORDER BY seq",
        ))
        .bind(tenant)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        for artifact_id in artifact_ids {
            enqueue(&mut tx, tenant, id, &artifact_id, RESTORE_JOB, now).await?;
        }
        if bulk {
            let request: Option<String> =
                sqlx::query_scalar(&numbered("SELECT id FROM bulk_requests WHERE tenant_id = ? AND session_id = ?"))
                    .bind(tenant)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(request) = request {
                enqueue(&mut tx, tenant, id, &request, RESOLVE_BULK_JOB, now).await?;
            }
        }
        sqlx::query(&numbered(
            "UPDATE restore_sessions SET activated_at = ?, n_scheduling = n_scheduling + n_added, n_added = 0 \
             WHERE tenant_id = ? AND id = ?",
        ))
        .bind(micros(now))
        .bind(tenant)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        touch_session(&mut tx, tenant, id, actor, now).await?;
        refresh_session(&mut tx, tenant, id, now).await?;
        let session = reload_session(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(session)
    }

    async fn apply_delta(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        items: Vec<DeltaItem>,
        check: SessionCheck<'_>,
    ) -> StoreResult<DeltaOutcome> {
        let Writer { tenant, actor, now } = w;
        let mut tx = self.begin_write().await?;
        let session = require_draft(&mut tx, tenant, id, workload, SessionAction::Patch).await?;
        check(&session)?;
        refuse_if_bulk(&session)?;
        let existing = existing_artifacts(&mut tx, tenant, id, &items).await?;
        let plan = plan_delta_within(items, &existing, &self.limits)?;
        let mut applied = Vec::with_capacity(plan.items.len());
        let mut changed = false;
        for (index, item) in plan.items.into_iter().enumerate() {
            match item {
                PlannedItem::Add(add) => {
                    match resolve_restore_point(&mut tx, tenant, add.restore_point.as_str(), session.workload, now)
                        .await?
                    {
                        Ok(()) => {
                            let artifact_id = insert_artifact(&mut tx, tenant, id, &add, now).await?;
                            let artifact = load_artifact(&mut tx, tenant, &artifact_id).await?;
                            applied
                                .push(AppliedItem::Added { artifact: Box::new(artifact), content_id: add.content_id });
                            changed = true;
                        }
                        Err(problem) => applied.push(AppliedItem::AddFailed { add, index, problem }),
                    }
                }
                PlannedItem::Remove { id: artifact_id, content_id } => {
                    sqlx::query(&numbered(
                        "DELETE FROM restore_artifacts WHERE tenant_id = ? AND session_id = ? AND id = ?",
                    ))
                    .bind(tenant)
                    .bind(id)
                    .bind(&artifact_id)
                    .execute(&mut *tx)
                    .await?;
                    // Drafts only: a removed artifact was `added`.
                    count_move(&mut tx, tenant, id, Some(ArtifactStatus::Added), None).await?;
                    applied.push(AppliedItem::Removed { id: artifact_id, content_id });
                    changed = true;
                }
                PlannedItem::RemoveMissing { id: artifact_id, content_id } => {
                    applied.push(AppliedItem::RemoveFailed { id: artifact_id, index, content_id })
                }
            }
        }
        if changed {
            touch_session(&mut tx, tenant, id, actor, now).await?;
            refresh_session(&mut tx, tenant, id, now).await?;
        }
        let session = reload_session(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(DeltaOutcome { session, items: applied })
    }

    async fn add_artifact(
        &self,
        w: Writer<'_>,
        session_id: &str,
        workload: Workload,
        add: ArtifactAdd,
    ) -> StoreResult<ArtifactRecord> {
        let Writer { tenant, actor, now } = w;
        let mut tx = self.begin_write().await?;
        let session = require_draft(&mut tx, tenant, session_id, Some(workload), SessionAction::AddArtifact).await?;
        refuse_if_bulk(&session)?;
        let existing = existing_artifacts(&mut tx, tenant, session_id, &[DeltaItem::Add(add.clone())]).await?;
        let add = plan_adds_within(vec![add], &existing, &self.limits)?.remove(0);
        resolve_restore_point(&mut tx, tenant, add.restore_point.as_str(), workload, now)
            .await?
            .map_err(RuleError::RestorePointUnusable)?;
        let artifact_id = insert_artifact(&mut tx, tenant, session_id, &add, now).await?;
        touch_session(&mut tx, tenant, session_id, actor, now).await?;
        refresh_session(&mut tx, tenant, session_id, now).await?;
        let artifact = load_artifact(&mut tx, tenant, &artifact_id).await?;
        tx.commit().await?;
        Ok(artifact)
    }

    async fn create_bulk_request(
        &self,
        w: Writer<'_>,
        session_id: &str,
        workload: Workload,
        spec: BulkRequestSpec,
    ) -> StoreResult<BulkRequestRecord> {
        let Writer { tenant, actor, now } = w;
        let mut tx = self.begin_write().await?;
        let session = require_draft(&mut tx, tenant, session_id, Some(workload), SessionAction::Patch).await?;
        if session.derived.total > 0 {
            return Err(RuleError::InvalidBulkRequest(
                "The restore session already has artifacts; manual artifacts and a bulk addition request cannot be mixed.".into(),
            )
            .into());
        }
        let existing: Option<i64> =
            sqlx::query_scalar(&numbered("SELECT 1 FROM bulk_requests WHERE tenant_id = ? AND session_id = ?"))
                .bind(tenant)
                .bind(session_id)
                .fetch_optional(&mut *tx)
                .await?;
        if existing.is_some() {
            return Err(
                RuleError::InvalidBulkRequest("A restore session takes one bulk addition request.".into()).into()
            );
        }
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            &numbered("INSERT INTO bulk_requests (tenant_id, id, session_id, display_name, destination_type, status, period_start, \
             period_end, preference, tags, addresses, object_ids, created_at, created_by, last_modified_at, last_modified_by) \
             VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        )
        .bind(tenant)
        .bind(&id)
        .bind(session_id)
        .bind(&spec.display_name)
        .bind(spec.destination.as_str())
        .bind(spec.period_start.map(micros))
        .bind(spec.period_end.map(micros))
        .bind(if spec.latest { "latest" } else { "oldest" })
        .bind(spec.tags.map(RestorePointTags::as_str))
        .bind(serde_json::to_string(&spec.addresses).expect("strings serialize"))
        .bind(serde_json::to_string(&spec.object_ids).expect("strings serialize"))
        .bind(micros(now))
        .bind(actor_json(actor))
        .bind(micros(now))
        .bind(actor_json(actor))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&numbered("UPDATE restore_sessions SET restore_job_type = 'bulk' WHERE tenant_id = ? AND id = ?"))
            .bind(tenant)
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        touch_session(&mut tx, tenant, session_id, actor, now).await?;
        let record = load_bulk(&mut tx, tenant, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("bulk request vanished".into()))?;
        tx.commit().await?;
        Ok(record)
    }

    async fn list_bulk_requests(
        &self,
        tenant: &str,
        session_id: &str,
        workload: Workload,
    ) -> StoreResult<Option<Vec<BulkRequestRecord>>> {
        let mut conn = self.pool.acquire().await?;
        if load_session(&mut conn, tenant, session_id, Some(workload)).await?.is_none() {
            return Ok(None);
        }
        let sql =
            format!("SELECT {BULK_COLUMNS} FROM bulk_requests WHERE tenant_id = ? AND session_id = ? ORDER BY seq");
        let rows = sqlx::query(&numbered(&sql)).bind(tenant).bind(session_id).fetch_all(&mut *conn).await?;
        Ok(Some(rows.iter().map(bulk_from_row).collect::<StoreResult<_>>()?))
    }

    async fn delete_bulk_request(
        &self,
        tenant: &str,
        session_id: &str,
        workload: Workload,
        id: &str,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        load_session(&mut tx, tenant, session_id, Some(workload)).await?.ok_or(RuleError::SessionNotFound)?;
        let request = load_bulk(&mut tx, tenant, id)
            .await?
            .filter(|r| r.session_id == session_id)
            .ok_or(RuleError::BulkRequestNotFound)?;
        if request.status == "active" {
            return Err(RuleError::BulkRequestNotFinished.into());
        }
        sqlx::query(&numbered("DELETE FROM bulk_requests WHERE tenant_id = ? AND id = ?"))
            .bind(tenant)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn resolve_bulk_request(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if !holds_lease(&mut tx, job, now).await? {
            return Ok(false);
        }
        let tenant = job.tenant_id.as_str();
        let request = load_bulk(&mut tx, tenant, &job.artifact_id).await?;
        if let Some(request) = request.filter(|r| r.status == "active") {
            let session = reload_session(&mut tx, tenant, &request.session_id).await?;
            let spec = &request.spec;
            let mut details = Vec::new();
            let mut units: Vec<(String, RestorePointRecord)> = Vec::new();
            let names = spec.addresses.iter().map(|a| (a, true)).chain(spec.object_ids.iter().map(|i| (i, false)));
            for (name, by_address) in names {
                let Some(unit_id) = unit_for(&mut tx, tenant, session.workload, name, by_address).await? else {
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
                let q = RestorePointQuery {
                    unit_id: unit_id.clone(),
                    from: spec.period_start.map(|t| (t, true)),
                    to: spec.period_end.map(|t| (t, true)),
                    tags: spec.tags,
                    newest_first: spec.latest,
                    limit: 1,
                };
                match restore_points_where(&mut tx, tenant, &q, now).await?.into_iter().next() {
                    Some(point) => units.push((unit_id, point)),
                    None => details.push(ErrorDetail {
                        code: "InvalidRestoreTime".into(),
                        message: format!("'{name}' has no restore point in the requested time period."),
                        target: name.clone(),
                    }),
                }
            }
            for (_, point) in &units {
                let add = ArtifactAdd {
                    restore_point: backstore_domain::RestorePointRef::parse(&point.id)?,
                    destination: spec.destination,
                    content_id: None,
                };
                let artifact_id = insert_artifact(&mut tx, tenant, &request.session_id, &add, now).await?;
                apply_step(&mut tx, tenant, &artifact_id, Some(ArtifactStatus::Added), &ArtifactStep::Scheduling, now)
                    .await?;
                enqueue(&mut tx, tenant, &request.session_id, &artifact_id, RESTORE_JOB, now).await?;
            }
            let total = units.len() + details.len();
            let message =
                format!("{} of {total} resources could not be resolved into restore artifacts.", details.len());
            record_outcome(&mut tx, OutcomeTable::BulkRequests, tenant, &request.id, details, message, now).await?;
            refresh_session(&mut tx, tenant, &request.session_id, now).await?;
        }
        finish_job_row(&mut tx, job, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_artifacts(
        &self,
        tenant: &str,
        session_id: &str,
        spec: &ListSpec,
    ) -> StoreResult<Vec<Keyed<ArtifactRecord>>> {
        let binds = [Bind::Text(tenant.to_owned()), Bind::Text(session_id.to_owned())];
        let scope = "a.tenant_id = ? AND a.session_id = ?";
        listing::page(&self.pool, ARTIFACT_SELECT, scope, &binds, "a.seq", spec, artifact_from_row).await
    }

    async fn count_artifacts(&self, tenant: &str, session_id: &str, filter: Option<&SqlFilter>) -> StoreResult<i64> {
        let binds = [Bind::Text(tenant.to_owned()), Bind::Text(session_id.to_owned())];
        let from = &ARTIFACT_SELECT[ARTIFACT_SELECT.find("FROM ").expect("FROM")..];
        listing::count(&self.pool, from, "a.tenant_id = ? AND a.session_id = ?", &binds, filter).await
    }

    async fn artifacts_of_sessions(&self, tenant: &str, session_ids: &[String]) -> StoreResult<Vec<ArtifactRecord>> {
        if session_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; session_ids.len()].join(", ");
        let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.session_id IN ({marks}) ORDER BY a.seq");
        let sql = numbered(&sql);
        let binds: Vec<Bind> = std::iter::once(tenant)
            .chain(session_ids.iter().map(String::as_str))
            .map(|s| Bind::Text(s.to_owned()))
            .collect();
        let rows = listing::with_binds(&sql, &binds).fetch_all(&self.pool).await?;
        rows.iter().map(artifact_from_row).collect()
    }

    async fn get_artifact(
        &self,
        tenant: &str,
        session_id: &str,
        artifact_id: &str,
    ) -> StoreResult<Option<ArtifactRecord>> {
        let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.session_id = ? AND a.id = ?");
        let row = sqlx::query(&numbered(&sql))
            .bind(tenant)
            .bind(session_id)
            .bind(artifact_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(artifact_from_row).transpose()
    }

    async fn register_resources(&self, tenant: &str, resources: &[DirectoryResource]) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let added = protection::register_resources(&mut tx, tenant, resources).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn create_policy(
        &self,
        w: Writer<'_>,
        workload: Workload,
        display_name: Option<String>,
        resource_ids: Vec<String>,
    ) -> StoreResult<PolicyRecord> {
        let mut tx = self.begin_write().await?;
        let policy = protection::create_policy(&mut tx, w, workload, display_name, resource_ids).await?;
        tx.commit().await?;
        Ok(policy)
    }

    async fn get_policy(
        &self,
        tenant: &str,
        id: &str,
        workload: Option<Workload>,
    ) -> StoreResult<Option<PolicyRecord>> {
        let mut conn = self.pool.acquire().await?;
        protection::load_policy(&mut conn, tenant, id, workload).await
    }

    async fn list_policies(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<PolicyRecord>> {
        let mut conn = self.pool.acquire().await?;
        protection::list_policies(&mut conn, tenant, workload, after, limit).await
    }

    async fn update_policy(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        display_name: Option<String>,
        items: Vec<PolicyDeltaItem>,
    ) -> StoreResult<PolicyDeltaOutcome> {
        let mut tx = self.begin_write().await?;
        let (policy, items) = protection::update_policy(&mut tx, w, id, workload, display_name, items).await?;
        tx.commit().await?;
        Ok(PolicyDeltaOutcome { policy, items })
    }

    async fn set_policy_enabled(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        enable: bool,
        settle_from: Option<Timestamp>,
    ) -> StoreResult<PolicyRecord> {
        let mut tx = self.begin_write().await?;
        let policy = protection::set_policy_enabled(&mut tx, w, id, workload, enable, settle_from).await?;
        tx.commit().await?;
        Ok(policy)
    }

    async fn delete_policy(&self, tenant: &str, id: &str, workload: Option<Workload>) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        protection::delete_policy(&mut tx, tenant, id, workload).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_policy_units(
        &self,
        tenant: &str,
        policy_id: &str,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<UnitRow>> {
        let mut conn = self.pool.acquire().await?;
        protection::list_policy_units(&mut conn, tenant, policy_id, after, limit).await
    }

    async fn settle_policy(
        &self,
        tenant: &str,
        policy_id: &str,
        now: Timestamp,
        protected_since: Timestamp,
    ) -> StoreResult<PolicyRecord> {
        let mut tx = self.begin_write().await?;
        protection::settle(&mut tx, tenant, policy_id, now, protected_since).await?;
        let policy =
            protection::load_policy(&mut tx, tenant, policy_id, None).await?.ok_or(RuleError::PolicyNotFound)?;
        tx.commit().await?;
        Ok(policy)
    }

    async fn settle_policy_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if !holds_lease(&mut tx, job, now).await? {
            return Ok(false);
        }
        protection::settle(&mut tx, &job.tenant_id, &job.artifact_id, now, now).await?;
        finish_job_row(&mut tx, job, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_unit_bulk_job(
        &self,
        w: Writer<'_>,
        policy_id: &str,
        workload: Workload,
        display_name: Option<String>,
        addresses: Vec<String>,
        object_ids: Vec<String>,
    ) -> StoreResult<UnitBulkJobRecord> {
        let mut tx = self.begin_write().await?;
        let job =
            protection::create_unit_bulk_job(&mut tx, w, policy_id, workload, display_name, addresses, object_ids)
                .await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn list_unit_bulk_jobs(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<UnitBulkJobRecord>> {
        let mut conn = self.pool.acquire().await?;
        protection::list_unit_bulk_jobs(&mut conn, tenant, workload, policy_id, after, limit).await
    }

    async fn get_unit_bulk_job(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<UnitBulkJobRecord>> {
        let mut conn = self.pool.acquire().await?;
        let job = protection::load_job(&mut conn, tenant, id).await?;
        Ok(job.filter(|j| j.workload == workload && policy_id.is_none_or(|p| p == j.policy_id)))
    }

    async fn resolve_unit_bulk_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = protection::resolve_unit_bulk_job(&mut tx, job, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn offboard_unit(&self, w: Writer<'_>, id: &str, cancel: bool) -> StoreResult<ProtectionUnitRecord> {
        let mut tx = self.begin_write().await?;
        let unit = protection::offboard(&mut tx, w, id, cancel).await?;
        tx.commit().await?;
        Ok(unit)
    }

    async fn create_rule(
        &self,
        w: Writer<'_>,
        policy_id: &str,
        workload: Workload,
        expression: String,
    ) -> StoreResult<RuleRecord> {
        let mut tx = self.begin_write().await?;
        let rule = rules::create_rule(&mut tx, w, policy_id, workload, expression).await?;
        tx.commit().await?;
        Ok(rule)
    }

    async fn list_rules(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<RuleRecord>> {
        let mut conn = self.pool.acquire().await?;
        rules::list_rules(&mut conn, tenant, workload, policy_id, after, limit).await
    }

    async fn get_rule(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<RuleRecord>> {
        let mut conn = self.pool.acquire().await?;
        rules::load_rule(&mut conn, tenant, workload, policy_id, id).await
    }

    async fn delete_rule(
        &self,
        tenant: &str,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        rules::delete_rule(&mut tx, tenant, workload, policy_id, id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rule_action(
        &self,
        w: Writer<'_>,
        workload: Workload,
        policy_id: Option<&str>,
        id: &str,
        action: RuleAction,
    ) -> StoreResult<RuleRecord> {
        let mut tx = self.begin_write().await?;
        let rule = rules::rule_action(&mut tx, w, workload, policy_id, id, action).await?;
        tx.commit().await?;
        Ok(rule)
    }

    async fn apply_rule_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = rules::apply_rule_job(&mut tx, job, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn create_service_app(
        &self,
        w: Writer<'_>,
        application_id: &str,
        application_name: Option<&str>,
    ) -> StoreResult<ServiceAppRecord> {
        let mut tx = self.begin_write().await?;
        let app = service_apps::create_app(&mut tx, w, application_id, application_name).await?;
        tx.commit().await?;
        Ok(app)
    }

    async fn list_service_apps(
        &self,
        tenant: &str,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<ServiceAppRecord>> {
        let mut conn = self.pool.acquire().await?;
        service_apps::list_apps(&mut conn, tenant, after, limit).await
    }

    async fn get_service_app(&self, tenant: &str, id: &str) -> StoreResult<Option<ServiceAppRecord>> {
        let mut conn = self.pool.acquire().await?;
        service_apps::load_app(&mut conn, tenant, id).await
    }

    async fn delete_service_app(&self, tenant: &str, id: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        service_apps::delete_app(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn activate_service_app(
        &self,
        w: Writer<'_>,
        id: &str,
        effective: Timestamp,
    ) -> StoreResult<ServiceAppRecord> {
        let mut tx = self.begin_write().await?;
        let app = service_apps::activate_app(&mut tx, w, id, effective).await?;
        tx.commit().await?;
        Ok(app)
    }

    async fn deactivate_service_app(&self, w: Writer<'_>, id: &str) -> StoreResult<ServiceAppRecord> {
        let mut tx = self.begin_write().await?;
        let app = service_apps::deactivate_app(&mut tx, w, id).await?;
        tx.commit().await?;
        Ok(app)
    }

    async fn notification_settings(&self, tenant: &str) -> StoreResult<Option<serde_json::Value>> {
        let mut conn = self.pool.acquire().await?;
        service_apps::notification_settings(&mut conn, tenant).await
    }

    async fn put_notification_settings(&self, tenant: &str, settings: &serde_json::Value) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        service_apps::put_notification_settings(&mut tx, tenant, settings).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_protection_unit(
        &self,
        tenant: &str,
        unit: &ProtectionUnitRecord,
        points: &[RestorePointRecord],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let info = &unit.info;
        sqlx::query(
            &numbered("INSERT INTO protection_units (tenant_id, id, workload, policy_id, status, site_id, site_name, site_web_url, \
             directory_object_id, display_name, email, created_at, fault, created_by, resource_id, protected_since, \
             protection_epoch, last_modified_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant_id, id) DO NOTHING"),
        )
        .bind(tenant)
        .bind(&info.id)
        .bind(info.workload.unit_kind())
        .bind(&unit.policy_id)
        .bind(unit.status.as_str())
        .bind(&info.site_id)
        .bind(&info.site_name)
        .bind(&info.site_web_url)
        .bind(&info.directory_object_id)
        .bind(&info.display_name)
        .bind(&info.email)
        .bind(micros(unit.created_at))
        .bind(&unit.fault)
        .bind(unit.created_by.as_ref().map(actor_json))
        .bind(if info.workload == Workload::SharePoint { &info.site_id } else { &info.directory_object_id })
        .bind(unit.protected_since.map(micros))
        .bind(i64::from(unit.protected_since.is_some()))
        .bind(micros(unit.last_modified_at))
        .execute(&mut *tx)
        .await?;
        for p in points {
            sqlx::query(&numbered(
                "INSERT INTO restore_points (tenant_id, id, protection_unit_id, protection_at, expiration_at, tags) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING",
            ))
            .bind(tenant)
            .bind(&p.id)
            .bind(&p.protection_unit_id)
            .bind(micros(p.protection_at))
            .bind(micros(p.expiration_at))
            .bind(p.tags.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get_restore_point(&self, tenant: &str, id: &str) -> StoreResult<Option<RestorePointRecord>> {
        let row = sqlx::query(
            &numbered("SELECT rp.id, rp.protection_unit_id, rp.protection_at, rp.expiration_at, rp.tags, pu.workload \
             FROM restore_points rp JOIN protection_units pu ON pu.tenant_id = rp.tenant_id AND pu.id = rp.protection_unit_id \
             WHERE rp.tenant_id = ? AND rp.id = ?"),
        )
        .bind(tenant)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| restore_point_from_row(r, "id")).transpose()
    }

    async fn service_state(&self, tenant: &str) -> StoreResult<Option<ServiceState>> {
        let row = sqlx::query(
            &numbered("SELECT status, consumer, app_owner_tenant_id, last_modified_at, last_modified_by FROM tenants WHERE tenant_id = ?"),
        )
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ServiceState {
                status: r.try_get("status")?,
                consumer: r.try_get("consumer")?,
                app_owner_tenant_id: r.try_get("app_owner_tenant_id")?,
                last_modified_at: from_micros(r.try_get("last_modified_at")?)?,
                last_modified_by: actor(r.try_get("last_modified_by")?)?,
            })
        })
        .transpose()
    }

    async fn enable_service(&self, w: Writer<'_>, app_owner_tenant_id: &str) -> StoreResult<ServiceState> {
        let consumer = if app_owner_tenant_id == w.tenant { "firstparty" } else { "thirdparty" };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            &numbered("INSERT INTO tenants (tenant_id, status, consumer, app_owner_tenant_id, last_modified_at, last_modified_by) \
             VALUES (?, 'enabled', ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET status = 'enabled', \
             consumer = excluded.consumer, app_owner_tenant_id = excluded.app_owner_tenant_id, \
             last_modified_at = excluded.last_modified_at, last_modified_by = excluded.last_modified_by"),
        )
        .bind(w.tenant)
        .bind(consumer)
        .bind(app_owner_tenant_id)
        .bind(micros(w.now))
        .bind(actor_json(w.actor))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ServiceState {
            status: "enabled".into(),
            consumer: consumer.into(),
            app_owner_tenant_id: app_owner_tenant_id.into(),
            last_modified_at: w.now,
            last_modified_by: w.actor.clone(),
        })
    }

    async fn set_service_status(&self, w: Writer<'_>, status: &str) -> StoreResult<Option<ServiceState>> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(&numbered(
            "UPDATE tenants SET status = ?, last_modified_at = ?, last_modified_by = ? WHERE tenant_id = ?",
        ))
        .bind(status)
        .bind(micros(w.now))
        .bind(actor_json(w.actor))
        .bind(w.tenant)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if changed == 0 {
            return Ok(None);
        }
        self.service_state(w.tenant).await
    }

    async fn clock_offset(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(&numbered("SELECT offset_micros FROM server_clock WHERE id = 1"))
            .fetch_one(&self.pool)
            .await?)
    }

    async fn advance_clock(&self, by_micros: i64) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let offset: i64 = sqlx::query_scalar(&numbered(
            "UPDATE server_clock SET offset_micros = offset_micros + ? WHERE id = 1 RETURNING offset_micros",
        ))
        .bind(by_micros.max(0))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(offset)
    }

    async fn retention_pass(&self, now: Timestamp) -> StoreResult<RetentionReport> {
        let mut tx = self.begin_write().await?;
        let units = sqlx::query(&numbered(
            "SELECT u.tenant_id, u.id, u.workload, u.protected_since, u.protection_epoch, \
             (SELECT MAX(rp.protection_at) FROM restore_points rp \
              WHERE rp.tenant_id = u.tenant_id AND rp.protection_unit_id = u.id) AS newest \
             FROM protection_units u WHERE u.status = 'protected' AND u.protected_since IS NOT NULL",
        ))
        .fetch_all(&mut *tx)
        .await?;
        let mut report = RetentionReport::default();
        for u in &units {
            let tenant: String = u.try_get("tenant_id")?;
            let unit_id: String = u.try_get("id")?;
            let w = workload(u.try_get("workload")?)?;
            let since = from_micros(u.try_get("protected_since")?)?;
            let epoch: i64 = u.try_get("protection_epoch")?;
            // Points are taken for the slots that start at or after the protection start.
            let start = since - chrono::Duration::microseconds(1);
            let after = opt_from_micros(u.try_get("newest")?)?.map_or(start, |n| n.max(start));
            for at in retention::slots_between(w, Some(after), now) {
                report.added += sqlx::query(
                    &numbered("INSERT INTO restore_points (tenant_id, id, protection_unit_id, protection_at, expiration_at, tags) \
                     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING"),
                )
                .bind(&tenant)
                .bind(backstore_domain::policy::restore_point_id(&tenant, &unit_id, epoch, since, at))
                .bind(&unit_id)
                .bind(micros(at))
                .bind(micros(retention::expiration(w, at)))
                .bind(retention::tags(w, at, now).as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
        }
        report.offboarding = protection::offboarding_pass(&mut tx, now).await?;
        report.retagged = sqlx::query(&numbered(
            "UPDATE restore_points SET tags = 'none' WHERE tags = 'fastRestore' AND protection_at <= ?",
        ))
        .bind(micros(now - retention::fast_window()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        report.purged = sqlx::query(&numbered(
            "DELETE FROM restore_points WHERE expiration_at <= ? AND NOT EXISTS (SELECT 1 FROM restore_artifacts a \
             WHERE a.tenant_id = restore_points.tenant_id AND a.restore_point_id = restore_points.id)",
        ))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(report)
    }

    async fn list_units(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        spec: &ListSpec,
    ) -> StoreResult<Vec<Keyed<UnitRow>>> {
        let select = format!("SELECT {UNIT_COLUMNS} FROM protection_units");
        let (scope, binds) = kind_scope(tenant, workload);
        listing::page(&self.pool, &select, &scope, &binds, "seq", spec, unit_row).await
    }

    async fn count_units(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        filter: Option<&SqlFilter>,
    ) -> StoreResult<i64> {
        let (scope, binds) = kind_scope(tenant, workload);
        listing::count(&self.pool, "FROM protection_units", &scope, &binds, filter).await
    }

    async fn get_unit(&self, tenant: &str, id: &str) -> StoreResult<Option<UnitRow>> {
        let sql = format!("SELECT {UNIT_COLUMNS} FROM protection_units WHERE tenant_id = ? AND id = ?");
        let row = sqlx::query(&numbered(&sql)).bind(tenant).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(unit_row).transpose()
    }

    async fn find_restore_points(
        &self,
        tenant: &str,
        q: &RestorePointQuery,
        now: Timestamp,
    ) -> StoreResult<Vec<RestorePointRecord>> {
        let mut conn = self.pool.acquire().await?;
        restore_points_where(&mut conn, tenant, q, now).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: chrono::Duration,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedJob>> {
        let mut tx = self.begin_write().await?;
        let due = sqlx::query(&numbered(&format!(
            "SELECT tenant_id, id, kind, artifact_id, state, attempts, last_error FROM jobs \
             WHERE (state = 'queued' AND run_at <= ?1) OR (state = 'running' AND lease_expires_at <= ?1) \
             ORDER BY run_at, seq LIMIT ?2{}",
            self.dialect.skip_locked()
        )))
        .bind(micros(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in &due {
            let tenant: String = row.try_get("tenant_id")?;
            let job_id: String = row.try_get("id")?;
            let artifact_id: String = row.try_get("artifact_id")?;
            let takeover = row.try_get::<String, _>("state")? == "running";
            let attempt = row.try_get::<i64, _>("attempts")? + 1;
            sqlx::query(&numbered(
                "UPDATE jobs SET state = 'running', lease_owner = ?, lease_expires_at = ?, attempts = ? \
                 WHERE tenant_id = ? AND id = ?",
            ))
            .bind(worker)
            .bind(micros(now + lease))
            .bind(attempt)
            .bind(&tenant)
            .bind(&job_id)
            .execute(&mut *tx)
            .await?;
            let job = JobRef { tenant_id: tenant, job_id, artifact_id, worker: worker.to_owned(), attempt };
            job_event(&mut tx, &job, now, if takeover { "takeover" } else { "claimed" }, None).await?;
            let kind: String = row.try_get("kind")?;
            let work = if kind == RESOLVE_BULK_JOB {
                JobWork::ResolveBulk
            } else if kind == protection::SETTLE_POLICY_JOB {
                JobWork::SettlePolicy
            } else if kind == protection::RESOLVE_UNIT_JOB {
                JobWork::ResolveUnitJob
            } else if kind == rules::APPLY_RULE_JOB {
                JobWork::ApplyRule
            } else {
                // A worker took it: the restore is accepted (`scheduling → scheduled`, if not further yet).
                apply_step(
                    &mut tx,
                    &job.tenant_id,
                    &job.artifact_id,
                    Some(ArtifactStatus::Scheduling),
                    &ArtifactStep::Scheduled,
                    now,
                )
                .await?;
                let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.id = ?");
                let art = sqlx::query(&numbered(&sql))
                    .bind(&job.tenant_id)
                    .bind(&job.artifact_id)
                    .fetch_one(&mut *tx)
                    .await?;
                JobWork::Restore(Box::new(RestoreWork {
                    artifact: artifact_from_row(&art)?,
                    unit: unit_from_row(&art)?,
                    unit_fault: art.try_get("fault")?,
                }))
            };
            claimed.push(ClaimedJob { work, takeover, last_error: row.try_get("last_error")?, job });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn renew_lease(&self, job: &JobRef, now: Timestamp, lease: chrono::Duration) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let held = holds_lease(&mut tx, job, now).await?;
        if held {
            sqlx::query(&numbered("UPDATE jobs SET lease_expires_at = ? WHERE tenant_id = ? AND id = ?"))
                .bind(micros(now + lease))
                .bind(&job.tenant_id)
                .bind(&job.job_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(held)
    }

    async fn record_step(
        &self,
        tenant: &str,
        artifact_id: &str,
        from: ArtifactStatus,
        step: ArtifactStep,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let moved = apply_step(&mut tx, tenant, artifact_id, Some(from), &step, now).await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn finish_job(&self, job: &JobRef, step: ArtifactStep, event: JobEvent, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if !holds_lease(&mut tx, job, now).await? {
            return Ok(false);
        }
        apply_step(&mut tx, &job.tenant_id, &job.artifact_id, None, &step, now).await?;
        let detail = match &step {
            ArtifactStep::Failed(e) => Some(format!("{}: {}", e.code, e.message)),
            _ => None,
        };
        sqlx::query(&numbered(
            "UPDATE jobs SET state = 'done', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL \
             WHERE tenant_id = ? AND id = ?",
        ))
        .bind(micros(now))
        .bind(&job.tenant_id)
        .bind(&job.job_id)
        .execute(&mut *tx)
        .await?;
        job_event(&mut tx, job, now, event.as_str(), detail.as_deref()).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn retry_job(&self, job: &JobRef, run_at: Timestamp, error: &str, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if !holds_lease(&mut tx, job, now).await? {
            return Ok(false);
        }
        sqlx::query(
            &numbered("UPDATE jobs SET state = 'queued', run_at = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL \
             WHERE tenant_id = ? AND id = ?"),
        )
        .bind(micros(run_at))
        .bind(error)
        .bind(&job.tenant_id)
        .bind(&job.job_id)
        .execute(&mut *tx)
        .await?;
        job_event(&mut tx, job, now, "retry", Some(error)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release_job(&self, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if !holds_lease(&mut tx, job, now).await? {
            return Ok(false);
        }
        sqlx::query(&numbered(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL \
             WHERE tenant_id = ? AND id = ?",
        ))
        .bind(&job.tenant_id)
        .bind(&job.job_id)
        .execute(&mut *tx)
        .await?;
        job_event(&mut tx, job, now, "released", None).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn job_history(&self, tenant: &str, artifact_id: &str) -> StoreResult<Vec<JobEventRecord>> {
        let rows = sqlx::query(&numbered(
            "SELECT e.job_id, e.at, e.worker, e.attempt, e.event, e.detail FROM job_events e \
             JOIN jobs j ON j.tenant_id = e.tenant_id AND j.id = e.job_id \
             WHERE e.tenant_id = ? AND j.artifact_id = ? ORDER BY e.seq",
        ))
        .bind(tenant)
        .bind(artifact_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobEventRecord {
                    job_id: r.try_get("job_id")?,
                    at: from_micros(r.try_get("at")?)?,
                    worker: r.try_get("worker")?,
                    attempt: r.try_get("attempt")?,
                    event: r.try_get("event")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    async fn engine_stats(&self) -> StoreResult<EngineStats> {
        let jobs = sqlx::query(&numbered("SELECT state, COUNT(*) AS n FROM jobs WHERE state <> 'done' GROUP BY state"))
            .fetch_all(&self.pool)
            .await?;
        let mut stats = EngineStats::default();
        for row in &jobs {
            let n: i64 = row.try_get("n")?;
            match row.try_get::<String, _>("state")?.as_str() {
                "queued" => stats.jobs_queued = n,
                "running" => stats.jobs_running = n,
                _ => {}
            }
        }
        let sessions = sqlx::query(&numbered(
            "SELECT status, COUNT(*) AS n FROM restore_sessions GROUP BY status ORDER BY status",
        ))
        .fetch_all(&self.pool)
        .await?;
        for row in &sessions {
            stats.sessions_by_status.push((row.try_get("status")?, row.try_get("n")?));
        }
        Ok(stats)
    }

    async fn allocate_restore_suffix(&self, tenant: &str, original_url: &str) -> StoreResult<u32> {
        let mut tx = self.begin_write().await?;
        let next: i64 = sqlx::query_scalar(&numbered(
            "INSERT INTO restore_url_counters (tenant_id, original_url, next_suffix) VALUES (?, ?, 1) \
             ON CONFLICT (tenant_id, original_url) DO UPDATE SET next_suffix = restore_url_counters.next_suffix + 1 \
             RETURNING next_suffix",
        ))
        .bind(tenant)
        .bind(original_url)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        u32::try_from(next - 1).map_err(|_| StoreError::Corrupt(format!("restore suffix {next}")))
    }
}

/// Unexpired restore points of one unit, as `q` asks.
async fn restore_points_where(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &RestorePointQuery,
    now: Timestamp,
) -> StoreResult<Vec<RestorePointRecord>> {
    let mut sql = String::from(
        "SELECT rp.id, rp.protection_unit_id, rp.protection_at, rp.expiration_at, rp.tags, pu.workload \
         FROM restore_points rp JOIN protection_units pu ON pu.tenant_id = rp.tenant_id AND pu.id = rp.protection_unit_id \
         WHERE rp.tenant_id = ? AND rp.protection_unit_id = ? AND rp.expiration_at > ?",
    );
    let mut binds = vec![Bind::Text(tenant.to_owned()), Bind::Text(q.unit_id.clone()), Bind::Int(micros(now))];
    if let Some((t, inclusive)) = q.from {
        sql.push_str(if inclusive { " AND rp.protection_at >= ?" } else { " AND rp.protection_at > ?" });
        binds.push(Bind::Int(micros(t)));
    }
    if let Some((t, inclusive)) = q.to {
        sql.push_str(if inclusive { " AND rp.protection_at <= ?" } else { " AND rp.protection_at < ?" });
        binds.push(Bind::Int(micros(t)));
    }
    if let Some(tags) = q.tags {
        sql.push_str(" AND rp.tags = ?");
        binds.push(Bind::Text(tags.as_str().to_owned()));
    }
    sql.push_str(if q.newest_first {
        " ORDER BY rp.protection_at DESC, rp.seq DESC LIMIT ?"
    } else {
        " ORDER BY rp.protection_at, rp.seq LIMIT ?"
    });
    binds.push(Bind::Int(q.limit));
    let sql = numbered(&sql);
    let rows = listing::with_binds(&sql, &binds).fetch_all(conn).await?;
    rows.iter().map(|r| restore_point_from_row(r, "id")).collect()
}

const BULK_COLUMNS: &str = "seq, id, session_id, display_name, destination_type, status, period_start, period_end, \
    preference, tags, addresses, object_ids, error, created_at, created_by, last_modified_at, last_modified_by";

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredBulkError {
    code: String,
    message: String,
    details: Vec<ErrorDetail>,
}

/// A stored bulk error (`StoredBulkError` JSON) as the record shows it.
pub(super) fn stored_error(e: Option<String>) -> StoreResult<Option<(ErrorInfo, Vec<ErrorDetail>)>> {
    let e = e
        .map(|e| {
            serde_json::from_str::<StoredBulkError>(&e).map_err(|e| StoreError::Corrupt(format!("bulk error: {e}")))
        })
        .transpose()?;
    Ok(e.map(|e| (ErrorInfo { code: e.code, message: e.message }, e.details)))
}

/// Where a piece of resolving work keeps its outcome (table names are code, never input).
#[derive(Debug, Clone, Copy)]
pub(super) enum OutcomeTable {
    BulkRequests,
    UnitBulkJobs,
    ProtectionRules,
}

/// Ends a bulk request, bulk job or rule run: `completed`, or `completedWithErrors` with the
/// table's error code, `message` and the `details`, written to its row.
pub(super) async fn record_outcome(
    conn: &mut AnyConnection,
    table: OutcomeTable,
    tenant: &str,
    id: &str,
    details: Vec<ErrorDetail>,
    message: String,
    now: Timestamp,
) -> StoreResult<()> {
    let (table, code) = match table {
        OutcomeTable::BulkRequests => ("bulk_requests", "BulkRestoreResourcesNotResolved"),
        OutcomeTable::UnitBulkJobs => ("unit_bulk_jobs", "ProtectionUnitsNotResolved"),
        OutcomeTable::ProtectionRules => ("protection_rules", "ProtectionRuleCompletedWithErrors"),
    };
    let (status, error) = if details.is_empty() {
        ("completed", None)
    } else {
        let stored = StoredBulkError { code: code.into(), message, details };
        ("completedWithErrors", Some(serde_json::to_string(&stored).expect("errors serialize")))
    };
    sqlx::query(&numbered(&format!(
        "UPDATE {table} SET status = ?, error = ?, last_modified_at = ? WHERE tenant_id = ? AND id = ?"
    )))
    .bind(status)
    .bind(error)
    .bind(micros(now))
    .bind(tenant)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

fn json_list(s: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("list: {e}")))
}

fn bulk_from_row(row: &AnyRow) -> StoreResult<BulkRequestRecord> {
    let destination: String = row.try_get("destination_type")?;
    let tags: Option<String> = row.try_get("tags")?;
    let error = stored_error(row.try_get("error")?)?;
    Ok(BulkRequestRecord {
        seq: row.try_get("seq")?,
        id: row.try_get("id")?,
        session_id: row.try_get("session_id")?,
        spec: BulkRequestSpec {
            display_name: row.try_get("display_name")?,
            destination: DestinationType::parse(&destination)
                .map_or_else(|| corrupt("destination", &destination), Ok)?,
            period_start: opt_from_micros(row.try_get("period_start")?)?,
            period_end: opt_from_micros(row.try_get("period_end")?)?,
            latest: row.try_get::<String, _>("preference")? == "latest",
            tags: tags.as_deref().and_then(RestorePointTags::parse),
            addresses: json_list(row.try_get("addresses")?)?,
            object_ids: json_list(row.try_get("object_ids")?)?,
        },
        status: row.try_get("status")?,
        error,
        created_at: from_micros(row.try_get("created_at")?)?,
        created_by: actor(row.try_get("created_by")?)?,
        last_modified_at: from_micros(row.try_get("last_modified_at")?)?,
        last_modified_by: actor(row.try_get("last_modified_by")?)?,
    })
}

async fn load_bulk(conn: &mut AnyConnection, tenant: &str, id: &str) -> StoreResult<Option<BulkRequestRecord>> {
    let sql = format!("SELECT {BULK_COLUMNS} FROM bulk_requests WHERE tenant_id = ? AND id = ?");
    let row = sqlx::query(&numbered(&sql)).bind(tenant).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(bulk_from_row).transpose()
}

/// The protection unit of `workload` a bulk request names by address (e-mail or site URL) or by id.
async fn unit_for(
    conn: &mut AnyConnection,
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
    Ok(sqlx::query_scalar(&numbered(sql))
        .bind(tenant)
        .bind(workload.unit_kind())
        .bind(name)
        .fetch_optional(conn)
        .await?)
}

/// Whether `job` is running under its holder's lease at `now`.
async fn holds_lease(conn: &mut AnyConnection, job: &JobRef, now: Timestamp) -> StoreResult<bool> {
    let held: Option<i64> = sqlx::query_scalar(&numbered(
        "SELECT 1 FROM jobs WHERE tenant_id = ? AND id = ? AND state = 'running' AND lease_owner = ? \
         AND attempts = ? AND lease_expires_at > ?",
    ))
    .bind(&job.tenant_id)
    .bind(&job.job_id)
    .bind(&job.worker)
    .bind(job.attempt)
    .bind(micros(now))
    .fetch_optional(conn)
    .await?;
    Ok(held.is_some())
}

/// Marks a job whose work is done as done, and records it.
async fn finish_job_row(conn: &mut AnyConnection, job: &JobRef, now: Timestamp) -> StoreResult<()> {
    sqlx::query(&numbered(
        "UPDATE jobs SET state = 'done', finished_at = ?, lease_owner = NULL, lease_expires_at = NULL \
         WHERE tenant_id = ? AND id = ?",
    ))
    .bind(micros(now))
    .bind(&job.tenant_id)
    .bind(&job.job_id)
    .execute(&mut *conn)
    .await?;
    job_event(conn, job, now, JobEvent::Succeeded.as_str(), None).await
}

async fn job_event(
    conn: &mut AnyConnection,
    job: &JobRef,
    now: Timestamp,
    event: &str,
    detail: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(&numbered(
        "INSERT INTO job_events (tenant_id, job_id, at, worker, attempt, event, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ))
    .bind(&job.tenant_id)
    .bind(&job.job_id)
    .bind(micros(now))
    .bind(&job.worker)
    .bind(job.attempt)
    .bind(event)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves an artifact by `step` if it is in `from` (any non-terminal status when `None`), and
/// re-derives its session. Returns whether it moved.
async fn apply_step(
    conn: &mut AnyConnection,
    tenant: &str,
    artifact_id: &str,
    from: Option<ArtifactStatus>,
    step: &ArtifactStep,
    now: Timestamp,
) -> StoreResult<bool> {
    let t = micros(now);
    let guard =
        "WHERE tenant_id = ?2 AND id = ?3 AND (status = ?4 OR (?4 IS NULL AND status NOT IN ('succeeded', 'failed')))";
    let sql = match step {
        ArtifactStep::Scheduling | ArtifactStep::Scheduled => {
            format!("UPDATE restore_artifacts SET status = ?1 {guard} RETURNING session_id")
        }
        ArtifactStep::Started => {
            format!("UPDATE restore_artifacts SET status = ?1, start_at = COALESCE(start_at, ?5) {guard} RETURNING session_id")
        }
        ArtifactStep::Succeeded(_) => format!(
            "UPDATE restore_artifacts SET status = ?1, completion_at = ?5, start_at = COALESCE(start_at, ?5), \
             restored_site_id = ?6, restored_site_name = ?7, restored_site_web_url = ?8, restored_folder_id = ?9, \
             restored_folder_name = ?10, restored_item_count = ?11, error_code = NULL, error_message = NULL \
             {guard} RETURNING session_id"
        ),
        ArtifactStep::Failed(_) => format!(
            "UPDATE restore_artifacts SET status = ?1, completion_at = ?5, start_at = COALESCE(start_at, ?5), \
             error_code = ?6, error_message = ?7 {guard} RETURNING session_id"
        ),
    };
    let sql = numbered(&sql);
    let base = sqlx::query_scalar::<_, String>(&sql)
        .bind(step.target().as_str())
        .bind(tenant)
        .bind(artifact_id)
        .bind(from.map(ArtifactStatus::as_str));
    let query = match step {
        ArtifactStep::Scheduling | ArtifactStep::Scheduled => base,
        ArtifactStep::Started => base.bind(t),
        ArtifactStep::Succeeded(o) => base
            .bind(t)
            .bind(o.restored_site_id.clone())
            .bind(o.restored_site_name.clone())
            .bind(o.restored_site_web_url.clone())
            .bind(o.restored_folder_id.clone())
            .bind(o.restored_folder_name.clone())
            .bind(o.restored_item_count),
        ArtifactStep::Failed(e) => base.bind(t).bind(e.code.clone()).bind(e.message.clone()),
    };
    let old = match from {
        Some(f) => Some(f),
        None => {
            let s: Option<String> =
                sqlx::query_scalar(&numbered("SELECT status FROM restore_artifacts WHERE tenant_id = ? AND id = ?"))
                    .bind(tenant)
                    .bind(artifact_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            s.and_then(|s| ArtifactStatus::parse(&s))
        }
    };
    let Some(session_id) = query.fetch_optional(&mut *conn).await? else {
        return Ok(false);
    };
    count_move(conn, tenant, &session_id, old, Some(step.target())).await?;
    refresh_session(conn, tenant, &session_id, now).await?;
    Ok(true)
}
