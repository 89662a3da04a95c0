//! The store over SQL: one SQLite file in WAL mode (the embedded default) or one PostgreSQL database
//! shared by any number of processes. PostgreSQL (and an in-memory SQLite) go through sqlx's `Any`
//! driver; a SQLite file is read and written through `rusqlite` on the calling thread (reads in
//! [`read`], write transactions in [`tx`], checkpoints in [`checkpoint`]); migrations run through
//! sqlx on both. The few differences are in [`dialect`] and in each backend's migrations. This file opens, migrates and runs write transactions
//! ([`Store::write`]) and reads ([`Store::read_rows`]); each aggregate's operations live in a file
//! of their own.
//!
//! Writers serialize up front, so a transaction that reads and then writes never acts on a stale
//! read, whichever process it runs in: on SQLite with `BEGIN IMMEDIATE`; on PostgreSQL with a
//! transaction-scoped advisory lock on the writer's tenant (and a shared one that work across
//! tenants takes exclusively), while the engine's claims rely on row locks alone.

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Executor};

use crate::{StoreError, StoreOptions, StoreResult};

/// Runs one statement in a write transaction ([`tx::Tx`]): its `?` placeholders bound to the
/// arguments in order. Await it for the number of rows it changed.
macro_rules! exec {
    ($tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $tx.exec($sql, args![$($arg),*])
    };
}

/// The values of a statement's `?` placeholders, in order, as [`read::Arg`]s.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        &[$($crate::sql::read::ToArg::arg(&$arg)),*]
    };
}

pub mod activity_logs;
pub mod archive;
mod artifacts;
pub mod browse_sessions;
mod bulk_requests;
mod changes;
mod checkpoint;
mod content;
pub mod dialect;
mod directory;
mod drive_reads;
mod drive_rows;
pub mod drives;
mod exclusion_jobs;
mod exclusions;
pub mod family;
pub mod granular_restores;
mod group;
mod jobs;
mod listing;
pub mod mail_messages;
pub mod mail_restores;
pub mod mailboxes;
#[cfg(test)]
mod migration_tests;
mod outcome;
mod policies;
pub(crate) mod read;
mod readers;
mod restore_points;
pub mod restore_proofs;
pub mod restores;
mod rows;
mod rules;
pub mod searches;
mod service_apps;
mod sessions;
mod snapshots;
pub mod states;
mod steps;
pub mod stored;
mod tenants;
pub(crate) mod tx;
mod unit_jobs;
mod units;
pub mod uploads;
mod worker;

pub use dialect::{numbered, Dialect};
pub use units::offboard_grace;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The advisory lock every PostgreSQL write takes: shared by tenant-scoped writes, exclusive for
/// work across tenants.
pub const ALL_TENANTS_LOCK: i64 = 0x6261_636b_7374;

/// The operations of backstore on its database, one file per aggregate (`sessions.rs`,
/// `policies.rs`, …). Every write is one transaction, filters on its tenant, and leaves nothing
/// written when it returns an error.
pub struct Store {
    pool: AnyPool,
    /// The database's URL: where its saved states are (see [`states`]).
    url: String,
    dialect: Dialect,
    limits: backstore_domain::Limits,
    /// SQLite: this process's writers take turns here before `BEGIN IMMEDIATE`, first come first
    /// served, instead of sleeping in SQLite's busy handler (whose back-off made the long p99 tails
    /// of concurrent writes); other processes' writers still meet the busy timeout. On a file it
    /// holds the native connection writes run on (see [`tx`]).
    writer: tx::Writer,
    /// SQLite (a file): the native connections reads outside transactions use (see [`read`]).
    readers: Option<std::sync::Arc<readers::Readers>>,
    /// SQLite (a file): the thread that checkpoints what the native writer commits.
    checkpoints: Option<std::sync::Arc<checkpoint::Checkpoints>>,
    /// Rung after a write that queued jobs commits, so this process's engine claims them at once
    /// rather than at its next poll.
    jobs_queued: std::sync::Arc<tokio::sync::Notify>,
    /// Set by [`Store::close`]: ends the PostgreSQL listener's connection.
    closing: tokio::sync::watch::Sender<bool>,
    /// PostgreSQL: the `application_name` of this store's connections.
    pg_name: Option<String>,
}

/// The tables other tables' foreign keys point at, parents first: filled in this order, emptied
/// in the reverse one (after every table that points at them).
pub(super) const PARENT_TABLES: [&str; 4] = ["tenants", "protection_units", "restore_points", "restore_sessions"];

/// The PostgreSQL channel a write that queued jobs notifies on commit.
const JOBS_CHANNEL: &str = "backstore_jobs";

tokio::task_local! {
    /// Whether the write transaction running in this task queued a job.
    static QUEUED: std::cell::Cell<bool>;
}

/// Notes, inside a write transaction, that it queued a job (see [`Store::jobs_queued`]).
pub(super) fn mark_jobs_queued() {
    let _ = QUEUED.try_with(|q| q.set(true));
}

impl Store {
    /// Opens (creating if missing) the database a URL names and runs the migrations.
    pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<Store> {
        // PostgreSQL: this store's connections carry a name of their own, so that `close` can
        // tell when every one of them is gone (unless the URL names the application itself).
        let pg_name = (Dialect::of_url(url) == Some(Dialect::Postgres) && !url.contains("application_name="))
            .then(|| format!("backstore-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
        let named = match &pg_name {
            Some(name) => format!("{url}{}application_name={name}", if url.contains('?') { '&' } else { '?' }),
            None => url.to_owned(),
        };
        let (pool, dialect) = Self::connect(&named, options).await?;
        Self::bring_up_to_date(&pool, dialect).await?;
        let jobs_queued = std::sync::Arc::new(tokio::sync::Notify::new());
        let (closing, closed) = tokio::sync::watch::channel(false);
        if dialect == Dialect::Postgres {
            listen_for_jobs(named, std::sync::Arc::downgrade(&jobs_queued), closed);
        }
        let readers = match dialect {
            Dialect::Sqlite => readers::Readers::of_url(url).map(std::sync::Arc::new),
            Dialect::Postgres => None,
        };
        let writer = tx::Writer::default();
        let checkpoints = readers.as_ref().map(|r| checkpoint::Checkpoints::start(r, &writer));
        Ok(Store {
            pool,
            url: url.to_owned(),
            dialect,
            limits: options.limits,
            writer,
            readers,
            checkpoints,
            jobs_queued,
            closing,
            pg_name,
        })
    }

    /// Closes the pool (waiting for connections in use to come back) and, on PostgreSQL, the
    /// listener's connection, so the database can be copied or renamed (`states`); what runs on
    /// the store afterwards fails as unavailable. SQLite's native connections close when the store
    /// is dropped.
    pub async fn close(&self) {
        let _ = self.closing.send(true);
        self.pool.close().await;
        // A connection given back while that close waited for it is left in the idle queue (sqlx
        // 0.8's close ends when it gets its last permits, without looking at the queue again):
        // the second close takes it.
        self.pool.close().await;
        if let Some(name) = &self.pg_name {
            if let Err(e) = self.until_disconnected(name).await {
                tracing::warn!(error = %e, "could not see this store's connections end");
            }
        }
    }

    /// Waits until no connection named `name` is left on the server. Connections given back to
    /// the pool around its close have been seen to stay open in its idle queue (sqlx 0.8, under
    /// requests that ended just before); they are this store's alone and the pool is closed, so
    /// after 300 ms the server is asked to end them.
    async fn until_disconnected(&self, name: &str) -> StoreResult<()> {
        use sqlx::{ConnectOptions as _, Connection as _};
        let options: sqlx::postgres::PgConnectOptions = self.url.parse()?;
        let mut admin = options.database("postgres").connect().await?;
        for round in 0..50 {
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(name)
                .fetch_one(&mut admin)
                .await?;
            if left == 0 {
                break;
            }
            if round == 3 {
                tracing::debug!(connections = left, "ending connections a closed store left behind");
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                    .bind(name)
                    .execute(&mut admin)
                    .await?;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        admin.close().await?;
        Ok(())
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The schema version of the database (the highest migration applied).
    pub async fn schema_version_now(&self) -> StoreResult<i64> {
        Self::schema_version(&self.pool, self.dialect).await
    }

    /// `backstore migrate`: the schema version before and after bringing it up to date.
    pub async fn migrate(url: &str) -> StoreResult<crate::MigrateReport> {
        let (pool, dialect) =
            Self::connect(url, &StoreOptions { max_connections: 1, ..StoreOptions::default() }).await?;
        let report = Self::bring_up_to_date(&pool, dialect).await?;
        pool.close().await;
        Ok(report)
    }

    /// The schema version this build migrates a database of `dialect` to.
    pub(crate) fn known_schema(dialect: Dialect) -> i64 {
        Self::migrator(dialect).iter().map(|m| m.version).max().unwrap_or(0)
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
                            // Statement journals (a multi-row statement's undo inside a
                            // transaction) in memory, not in a temporary file written per write.
                            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA temp_store = MEMORY",
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

    /// The artifacts per request and running sessions per tenant restores are held to: given once,
    /// when the store is opened, and read from here by the API's body checks.
    pub fn limits(&self) -> &backstore_domain::Limits {
        &self.limits
    }

    /// Runs `work` in one write transaction that holds `lock` from its first statement, and commits
    /// it when `work` succeeds; an error rolls everything back. Every write of the store goes through
    /// here, so every write is one transaction.
    pub(crate) async fn write<T>(
        &self,
        lock: Lock<'_>,
        work: impl AsyncFnOnce(&mut tx::Tx) -> StoreResult<T>,
    ) -> StoreResult<T> {
        // SQLite without a file (in memory) writes through the pool, taking its turn here.
        let _turn = match (self.dialect, &self.readers) {
            (Dialect::Sqlite, None) => Some(self.writer.turn().await),
            _ => None,
        };
        let (out, queued) = QUEUED
            .scope(std::cell::Cell::new(false), async {
                let mut tx = self.begin(lock).await?;
                let out = work(&mut tx).await?;
                let queued = QUEUED.with(std::cell::Cell::get);
                if queued && self.dialect == Dialect::Postgres {
                    // Delivered at commit, to every process's listener (this one's included).
                    tx.raw(&format!("NOTIFY {JOBS_CHANNEL}")).await?;
                }
                tx.commit().await?;
                if let Some(c) = &self.checkpoints {
                    c.written();
                }
                StoreResult::Ok((out, queued))
            })
            .await?;
        if queued {
            self.jobs_queued.notify_one();
        }
        Ok(out)
    }

    /// Every row `sql` (with `?` placeholders) yields for `args`, outside any transaction, each
    /// decoded by `decode`: natively on SQLite, through the pool on PostgreSQL.
    pub(crate) async fn read_rows<T>(
        &self,
        cost: read::Cost,
        sql: &str,
        args: &[read::Arg<'_>],
        decode: impl FnMut(&dyn read::Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.read_rows_expecting(cost, 0, sql, args, decode).await
    }

    /// [`Store::read_rows`] into a vector with room for `expect` rows from the start.
    pub(crate) async fn read_rows_expecting<T>(
        &self,
        cost: read::Cost,
        expect: usize,
        sql: &str,
        args: &[read::Arg<'_>],
        mut decode: impl FnMut(&dyn read::Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        if let Some(readers) = &self.readers {
            return readers.rows_expecting(cost, expect, sql, args, decode);
        }
        let sql = numbered(sql);
        let rows = read::bind_args(&sql, args).fetch_all(&self.pool).await?;
        rows.iter().map(|r| decode(r)).collect()
    }

    /// The first row `sql` yields for `args` (a read by key), decoded by `decode`.
    pub(crate) async fn read_row<T>(
        &self,
        sql: &str,
        args: &[read::Arg<'_>],
        decode: impl FnMut(&dyn read::Columns) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        Ok(self.read_rows(read::Cost::Seek, sql, args, decode).await?.into_iter().next())
    }

    /// After a bulk load of a tenant's directory, units and restore points: PostgreSQL's planner
    /// statistics of those tables brought up to date (`ANALYZE`), so that the first queries on a
    /// young database do not run on plans made for empty tables until autovacuum gets to it (a page
    /// of 100 artifacts, which joins each to its restore point and unit, took 5 ms on such a plan and
    /// 1.4 ms on the right one). SQLite plans from its indexes alone; nothing to do there.
    pub async fn refresh_statistics(&self) -> StoreResult<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("ANALYZE directory_resources, protection_units, restore_points").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Resolves when a write has queued jobs since the last time it resolved (a write that came
    /// before the wait counts): a write of this process, or on PostgreSQL of any process sharing the
    /// database (`LISTEN`/`NOTIFY`). Polling still covers a listener that lost its connection.
    pub async fn jobs_queued(&self) {
        self.jobs_queued.notified().await
    }

    async fn begin(&self, lock: Lock<'_>) -> StoreResult<tx::Tx> {
        if self.dialect == Dialect::Sqlite {
            // One writer at a time, whatever the lock: SQLite has one write lock per database.
            return match &self.readers {
                Some(readers) => tx::Tx::native(&self.writer, readers.path()).await,
                None => Ok(tx::Tx::pool(self.pool.begin_with("BEGIN IMMEDIATE").await?)),
            };
        }
        let mut tx = self.pool.begin().await?;
        let (all, tenant) = match lock {
            Lock::Tenant(tenant) => ("pg_advisory_xact_lock_shared", Some(tenant_lock_key(tenant))),
            Lock::All => ("pg_advisory_xact_lock", None),
            Lock::Claim => return Ok(tx::Tx::pool(tx)),
        };
        let sql = match tenant {
            Some(_) => format!("SELECT 1 FROM (SELECT {all}($1), pg_advisory_xact_lock($2)) AS locked"),
            None => format!("SELECT 1 FROM (SELECT {all}($1)) AS locked"),
        };
        let mut q = sqlx::query(&sql).bind(ALL_TENANTS_LOCK);
        if let Some(key) = tenant {
            q = q.bind(key);
        }
        q.execute(&mut *tx).await?;
        Ok(tx::Tx::pool(tx))
    }
}

/// Tests: a SQLite file in WAL mode in a directory of its own, with one table `t (n INTEGER
/// PRIMARY KEY, s TEXT)`.
#[cfg(test)]
pub(crate) fn scratch_database() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scratch.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT)").unwrap();
    (dir, path)
}

/// What a write transaction locks on PostgreSQL before its first statement (SQLite takes its one
/// write lock for every kind).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lock<'a> {
    /// One tenant's data: writes of other tenants go on at the same time.
    Tenant(&'a str),
    /// Work across tenants (the retention pass, the clock): waits for every tenant's writes and
    /// holds them off until it commits.
    All,
    /// The engine's claim: no advisory lock; the rows it claims are locked with
    /// `FOR UPDATE SKIP LOCKED` and the rows it moves by their updates.
    Claim,
}

/// The advisory lock key of a tenant's writes on PostgreSQL (held with `pg_advisory_xact_lock`).
pub fn tenant_lock_key(tenant: &str) -> i64 {
    // The domain's stable hash, so every process computes the same key.
    backstore_domain::stable_hash(&format!("tenant-write\u{1f}{tenant}")) as i64
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

/// PostgreSQL: rings `bell` whenever a process commits a write that queued jobs, so that a worker
/// process claims what an API process queued without waiting for its poll. A lost connection is
/// made again a second later; the task ends with its store.
fn listen_for_jobs(
    url: String,
    bell: std::sync::Weak<tokio::sync::Notify>,
    mut closed: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let listening = async {
            while bell.strong_count() > 0 {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(JOBS_CHANNEL).await {
                            tracing::debug!(error = %e, "could not listen for queued jobs");
                        }
                        while listener.recv().await.is_ok() {
                            match bell.upgrade() {
                                Some(bell) => bell.notify_one(),
                                None => return,
                            }
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "could not connect to listen for queued jobs"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        };
        tokio::select! {
            () = listening => {}
            _ = closed.wait_for(|c| *c) => {}
        }
    });
}
