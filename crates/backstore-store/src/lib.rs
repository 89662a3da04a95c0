//! Persistence for backstore: the records the API and the engine read and write, and the [`Store`]
//! over SQLite or PostgreSQL (chosen by database URL), one method per operation, each one transaction.

mod clock;
mod list;
mod model;
pub mod sql;

use std::sync::Arc;
use std::time::Duration;

use backstore_domain::{Actor, RuleError, Timestamp};

pub use clock::Clock;
pub use list::*;
pub use model::*;
pub use sql::drives::{Conflict, DriveItemRecord, DriveRecord, FileBody};
pub use sql::stored::{Stored, UnderPolicy};
pub use sql::uploads::UploadSessionRecord;
pub use sql::{tenant_lock_key, Store};

/// Everything a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A rule of the domain refused the operation; nothing was written.
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// An error of a native SQLite read.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row that does not decode into a record (a value outside its enum, bad JSON).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A `$filter` or `$orderby` that does not fit the collection (an unknown property, a value of
    /// the wrong type); nothing was read.
    #[error(transparent)]
    Query(#[from] backstore_odata::QueryError),
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    UnsupportedUrl(String),
    /// A drive item of that name is in the folder already (Graph's `nameAlreadyExists`).
    #[error("an item named '{0}' already exists in this folder")]
    NameExists(String),
    /// The drive item a write names (or its folder) does not exist, or was deleted.
    #[error("the item does not exist")]
    ItemNotFound,
    /// A write the live tree cannot take (deleting a drive's root, moving a folder into itself, a
    /// file where a folder is needed); nothing was written.
    #[error("{0}")]
    InvalidTreeChange(String),
    /// The item changed after it was read for a write that rewrites it whole; nothing was written.
    #[error("the item changed since it was read")]
    Changed,
    /// Reading or writing the content store failed.
    #[error("content store: {0}")]
    Content(#[from] backstore_content::ContentError),
    /// The database was migrated by a newer backstore; this one must not write to it.
    #[error("the database schema is at version {database}, newer than this backstore knows ({known}); run a newer backstore")]
    SchemaTooNew { database: i64, known: i64 },
    /// No saved state of that name.
    #[error("no saved state named '{0}'")]
    NoSuchState(String),
    /// A state's name that is not 1 to 40 letters, digits, `-` or `_`.
    #[error("'{0}' is not a state name: use 1 to 40 letters, digits, '-' or '_'")]
    BadStateName(String),
    /// PostgreSQL copies and renames a database only while nobody else is connected to it.
    #[error("the database '{database}' is in use by {by}: stop the servers that use it first")]
    StateInUse { database: String, by: String },
    /// A state's file could not be read or written.
    #[error("saved state: {0}")]
    StateIo(String),
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
            // A read that waited out the busy timeout, or could not open the file.
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::SystemIoFailure
            ),
            _ => false,
        }
    }

    /// A row of a SQLite file named a parent row that is not there (a foreign key).
    pub(crate) fn is_foreign_key_violation(&self) -> bool {
        matches!(self, StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
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

/// Brings the database a URL names to this backstore's schema; refuses a newer one.
pub async fn migrate(url: &str) -> StoreResult<MigrateReport> {
    Store::migrate(url).await
}

/// Opens the store a database URL names (`sqlite://…` or `postgres://…`), creating and migrating
/// it as needed.
pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<Arc<Store>> {
    Ok(Arc::new(Store::open(url, options).await?))
}
