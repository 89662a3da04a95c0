//! Saved states of a whole store: the database (sessions, policies, the chunk index of the
//! content, the clock offset, the job queue) copied under a name, loaded back over the live one,
//! or the live one reset to an empty, migrated store. The content's packs are immutable, so a
//! state shares them with the live store; what keeps them is [`Store::pinned_packs`] (`family.rs`), which every
//! garbage collection honours.
//!
//! Where states live: SQLite, `states/NAME.db` next to the database file, made with `VACUUM INTO`
//! (a consistent copy while servers write) and loaded with SQLite's backup API (one write
//! transaction: a reader sees the old database or the new one). PostgreSQL, one database per
//! state named `<database>.state.NAME` on the same server, made with `CREATE DATABASE … TEMPLATE`
//! (a file-level copy; PostgreSQL allows it only while nobody else is connected to the source) and
//! loaded by making the live database a copy of the state's and renaming it into place.

use std::path::{Path, PathBuf};

use backstore_domain::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions as _, Connection as _};

use super::Store;
use crate::{StoreError, StoreResult};

/// One saved state.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedState {
    pub name: String,
    pub saved_at: Timestamp,
    /// `sqlite` or `postgresql`.
    pub backend: &'static str,
    /// The schema version of the saved database (a load brings an older one up to date).
    pub schema_version: i64,
    /// The size of the saved database (the content it needs is shared with the live store).
    pub bytes: u64,
}

/// Where one database's saved states are kept, and what saves, loads and resets it.
pub struct States {
    pub(super) place: Place,
}

pub(super) enum Place {
    Sqlite { db: PathBuf },
    Postgres { server: Box<PgConnectOptions>, database: String },
}

/// What a state's metadata says, kept inside its database (SQLite) or as its comment (PostgreSQL).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Meta {
    pub(super) name: String,
    pub(super) saved_at: Timestamp,
    pub(super) schema_version: i64,
}

/// What separates a SQLite fork's root file name from its id (`forks/<root file>--<id>`).
pub(super) const FORK_MARK: &str = "--";

/// SQLite: the directory that holds the family's `states/` and `forks/`.
pub(super) fn home_of(db: &Path) -> PathBuf {
    let parent = db.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    match parent.file_name().and_then(|f| f.to_str()) {
        Some("forks") => parent.parent().map_or_else(PathBuf::new, Path::to_path_buf),
        _ => parent,
    }
}

/// PostgreSQL: the root database of `database` (itself unless it is a fork).
pub(super) fn root_of(database: &str) -> &str {
    database.split_once(".fork.").map_or(database, |(root, _)| root)
}

/// Checks a state's name: 1 to 40 letters, digits, `-` and `_`.
pub(super) fn checked(name: &str) -> StoreResult<&str> {
    let fine = !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fine {
        Ok(name)
    } else {
        Err(StoreError::BadStateName(name.to_owned()))
    }
}

impl States {
    /// The states of the database at `url`; a database in memory has none.
    pub fn of_url(url: &str) -> StoreResult<States> {
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = rest.split('?').next().unwrap_or(rest);
            if path.is_empty() || path.starts_with(':') || url.contains("mode=memory") {
                return Err(StoreError::UnsupportedUrl(format!("{url} (saved states need a database file)")));
            }
            return Ok(States { place: Place::Sqlite { db: PathBuf::from(path) } });
        }
        let options: PgConnectOptions = url.parse().map_err(|_| StoreError::UnsupportedUrl(url.to_owned()))?;
        let database = options.get_database().unwrap_or("postgres").to_owned();
        Ok(States { place: Place::Postgres { server: Box::new(options.database("postgres")), database } })
    }

    /// Saves the live database as `name`, replacing a state of that name.
    pub async fn save(&self, name: &str, now: Timestamp) -> StoreResult<SavedState> {
        let name = checked(name)?;
        match &self.place {
            Place::Sqlite { db } => {
                let (db, name) = (db.clone(), name.to_owned());
                blocking(move || sqlite::save(&db, &name, now)).await?
            }
            Place::Postgres { server, database } => postgres::save(server, database, name, now).await,
        }
    }

    /// Makes the live database what state `name` holds.
    pub async fn load(&self, name: &str) -> StoreResult<SavedState> {
        let name = checked(name)?;
        match &self.place {
            Place::Sqlite { db } => {
                let (db, name) = (db.clone(), name.to_owned());
                blocking(move || sqlite::load(&db, &name)).await?
            }
            Place::Postgres { server, database } => postgres::load(server, database, name).await,
        }
    }

    /// Makes the live database an empty one, migrated to this build's schema.
    pub async fn reset(&self) -> StoreResult<()> {
        match &self.place {
            Place::Sqlite { db } => {
                let fresh = db.with_file_name(format!(
                    ".{}.reset",
                    db.file_name().and_then(|f| f.to_str()).unwrap_or("backstore.db")
                ));
                remove_sqlite_files(&fresh)?;
                Store::migrate(&format!("sqlite://{}?mode=rwc", fresh.display())).await?;
                let db = db.clone();
                let from = fresh.clone();
                let copied = blocking(move || sqlite::copy_into_live(&from, &db)).await?;
                remove_sqlite_files(&fresh)?;
                copied
            }
            Place::Postgres { server, database } => postgres::reset(server, database).await,
        }
    }

    /// The saved states, by name.
    pub async fn list(&self) -> StoreResult<Vec<SavedState>> {
        match &self.place {
            Place::Sqlite { db } => {
                let db = db.clone();
                blocking(move || sqlite::list(&db)).await?
            }
            Place::Postgres { server, database } => postgres::list(server, database).await,
        }
    }

    /// Deletes state `name`.
    pub async fn delete(&self, name: &str) -> StoreResult<()> {
        let name = checked(name)?;
        match &self.place {
            Place::Sqlite { db } => {
                let path = sqlite::state_path(db, name);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoSuchState(name.into())),
                    Err(e) => Err(io_error(&path, e)),
                }
            }
            Place::Postgres { server, database } => postgres::delete(server, database, name).await,
        }
    }
}

pub(super) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> StoreResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Corrupt(format!("a state operation stopped: {e}")))
}

pub(super) fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::StateIo(format!("{}: {e}", path.display()))
}

/// Removes a SQLite database file and its WAL and shared-memory files, those that exist.
pub(super) fn remove_sqlite_files(db: &Path) -> StoreResult<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(&path, e)),
            _ => {}
        }
    }
    Ok(())
}

pub(super) mod sqlite {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    pub(super) fn states_dir(db: &Path) -> PathBuf {
        super::home_of(db).join("states")
    }

    pub(in crate::sql) fn state_path(db: &Path, name: &str) -> PathBuf {
        states_dir(db).join(format!("{name}.db"))
    }

    pub(in crate::sql) fn open(path: &Path, flags: OpenFlags) -> StoreResult<Connection> {
        let c = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(c)
    }

    pub(in crate::sql) fn read_only(path: &Path) -> StoreResult<Connection> {
        open(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
    }

    fn schema_version(c: &Connection) -> StoreResult<i64> {
        let v: Option<i64> = c
            .query_row("SELECT MAX(version) FROM _sqlx_migrations WHERE success", [], |r| r.get(0))
            .or_else(|e| match e {
            rusqlite::Error::SqliteFailure(..) => Ok(None),
            e => Err(e),
        })?;
        Ok(v.unwrap_or(0))
    }

    /// Writes what a state says of itself into its database (a one-row table).
    pub(in crate::sql) fn write_meta(c: &Connection, meta: &Meta) -> StoreResult<()> {
        let meta = serde_json::to_string(meta).expect("metadata serializes");
        c.execute_batch("DROP TABLE IF EXISTS backstore_state; CREATE TABLE backstore_state (meta TEXT NOT NULL)")?;
        c.execute("INSERT INTO backstore_state (meta) VALUES (?1)", [meta])?;
        Ok(())
    }

    pub(in crate::sql) fn described(path: &Path) -> StoreResult<SavedState> {
        let c = read_only(path)?;
        let meta: Meta = c
            .query_row("SELECT meta FROM backstore_state", [], |r| r.get::<_, String>(0))
            .map_err(StoreError::from)
            .and_then(|m| serde_json::from_str(&m).map_err(|e| StoreError::Corrupt(format!("state metadata: {e}"))))?;
        let bytes = std::fs::metadata(path).map_err(|e| io_error(path, e))?.len();
        Ok(SavedState {
            name: meta.name,
            saved_at: meta.saved_at,
            backend: "sqlite",
            schema_version: meta.schema_version,
            bytes,
        })
    }

    pub(super) fn save(db: &Path, name: &str, now: Timestamp) -> StoreResult<SavedState> {
        if !db.exists() {
            return Err(StoreError::StateIo(format!("no database at {} to save", db.display())));
        }
        let dir = states_dir(db);
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let saving = dir.join(format!(".{name}.db.saving"));
        remove_sqlite_files(&saving)?;
        let live = open(db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        live.execute("VACUUM INTO ?1", [saving.display().to_string()])?;
        drop(live);
        let copy = open(&saving, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let meta = Meta { name: name.to_owned(), saved_at: now, schema_version: schema_version(&copy)? };
        write_meta(&copy, &meta)?;
        drop(copy);
        let path = state_path(db, name);
        std::fs::rename(&saving, &path).map_err(|e| io_error(&path, e))?;
        described(&path)
    }

    pub(super) fn load(db: &Path, name: &str) -> StoreResult<SavedState> {
        let path = state_path(db, name);
        if !path.exists() {
            return Err(StoreError::NoSuchState(name.to_owned()));
        }
        let state = described(&path)?;
        copy_into_live(&path, db)?;
        Ok(state)
    }

    /// Copies the database at `from` over the live one with the backup API: one write transaction
    /// on the live file, so its readers see all of the old database or all of the new.
    pub(super) fn copy_into_live(from: &Path, db: &Path) -> StoreResult<()> {
        let src = read_only(from)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let mut live = open(db, flags)?;
        live.pragma_update(None, "journal_mode", "WAL")?;
        let backup = rusqlite::backup::Backup::new(&src, &mut live)?;
        backup.run_to_completion(i32::MAX, std::time::Duration::ZERO, None)?;
        drop(backup);
        // What a state said of itself is not the live store's.
        live.execute_batch("DROP TABLE IF EXISTS backstore_state")?;
        Ok(())
    }

    pub(in crate::sql) fn list(db: &Path) -> StoreResult<Vec<SavedState>> {
        let dir = states_dir(db);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| io_error(&dir, e))?.path();
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
            if file.ends_with(".db") && !file.starts_with('.') {
                out.push(described(&path)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

pub(super) mod postgres {
    use super::*;

    pub(in crate::sql) fn quoted(identifier: &str) -> String {
        format!("\"{}\"", identifier.replace('"', "\"\""))
    }

    pub(in crate::sql) fn literal(text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    /// A state's database, named after the family's root (a fork's states are its root's).
    pub(in crate::sql) fn state_db(database: &str, name: &str) -> StoreResult<String> {
        let db = format!("{}.state.{name}", super::root_of(database));
        if db.len() > 63 {
            return Err(StoreError::BadStateName(format!(
                "{name} (with the database's name, '{db}' is longer than PostgreSQL's 63 bytes)"
            )));
        }
        Ok(db)
    }

    pub(in crate::sql) async fn connect(server: &PgConnectOptions) -> StoreResult<PgConnection> {
        Ok(server.connect().await?)
    }

    /// Runs a statement that needs a database nobody else is connected to, saying which if not.
    pub(in crate::sql) async fn exclusive(conn: &mut PgConnection, sql: &str, database: &str) -> StoreResult<()> {
        match sqlx::query(sql).execute(&mut *conn).await {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55006") => {
                // Who: each other connection's application and what it last ran.
                let (n, who): (i64, Option<String>) = sqlx::query_as(
                    "SELECT COUNT(*), string_agg(COALESCE(NULLIF(application_name, ''), 'a client') \
                     || ', ' || COALESCE(state, '?') || ': ' || left(query, 40), '; ') \
                     FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                )
                .bind(database)
                .fetch_one(&mut *conn)
                .await
                .unwrap_or((0, None));
                let by = match who {
                    Some(who) => format!("{n} other connection(s) ({who})"),
                    None => "other connections".to_owned(),
                };
                Err(StoreError::StateInUse { database: database.to_owned(), by })
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn exists(conn: &mut PgConnection, database: &str) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
            .bind(database)
            .fetch_one(conn)
            .await?;
        Ok(n > 0)
    }

    async fn schema_version(server: &PgConnectOptions, database: &str) -> StoreResult<i64> {
        let mut c = server.clone().database(database).connect().await?;
        // A database never migrated has no table of migrations: version 0.
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut c)
            .await
            .unwrap_or(None);
        c.close().await?;
        Ok(v.unwrap_or(0))
    }

    /// Puts the database `from` in the place of `database`, which is given up.
    async fn swap_in(conn: &mut PgConnection, from: &str, database: &str) -> StoreResult<()> {
        let old = format!("{database}.unloading");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(&old))).execute(&mut *conn).await?;
        if exists(conn, database).await? {
            let renamed = format!("ALTER DATABASE {} RENAME TO {}", quoted(database), quoted(&old));
            if let Err(e) = exclusive(conn, &renamed, database).await {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(from))).execute(&mut *conn).await?;
                return Err(e);
            }
        }
        sqlx::query(&format!("ALTER DATABASE {} RENAME TO {}", quoted(from), quoted(database)))
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!("COMMENT ON DATABASE {} IS NULL", quoted(database))).execute(&mut *conn).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(&old))).execute(&mut *conn).await?;
        Ok(())
    }

    pub(super) async fn save(
        server: &PgConnectOptions,
        database: &str,
        name: &str,
        now: Timestamp,
    ) -> StoreResult<SavedState> {
        state_db(database, name)?;
        let saving = format!("{database}.saving");
        let meta =
            Meta { name: name.to_owned(), saved_at: now, schema_version: schema_version(server, database).await? };
        let mut conn = connect(server).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(&saving))).execute(&mut conn).await?;
        let copy = format!("CREATE DATABASE {} TEMPLATE {}", quoted(&saving), quoted(database));
        exclusive(&mut conn, &copy, database).await?;
        let saved = install(&mut conn, &saving, database, &meta).await;
        conn.close().await?;
        saved
    }

    /// Makes the whole copy `from` state `meta.name` of `database`'s family: its metadata as the
    /// database's comment, a state of that name dropped, the copy renamed into its place.
    pub(in crate::sql) async fn install(
        conn: &mut PgConnection,
        from: &str,
        database: &str,
        meta: &Meta,
    ) -> StoreResult<SavedState> {
        let state = state_db(database, &meta.name)?;
        let comment = serde_json::to_string(meta).expect("metadata serializes");
        sqlx::query(&format!("COMMENT ON DATABASE {} IS {}", quoted(from), literal(&comment)))
            .execute(&mut *conn)
            .await?;
        exclusive(conn, &format!("DROP DATABASE IF EXISTS {}", quoted(&state)), &state).await?;
        sqlx::query(&format!("ALTER DATABASE {} RENAME TO {}", quoted(from), quoted(&state)))
            .execute(&mut *conn)
            .await?;
        let saved = list_in(conn, database).await?.into_iter().find(|s| s.name == meta.name);
        saved.ok_or_else(|| StoreError::NoSuchState(meta.name.clone()))
    }

    pub(super) async fn load(server: &PgConnectOptions, database: &str, name: &str) -> StoreResult<SavedState> {
        let state = state_db(database, name)?;
        let mut conn = connect(server).await?;
        let Some(saved) = list_in(&mut conn, database).await?.into_iter().find(|s| s.name == name) else {
            return Err(StoreError::NoSuchState(name.to_owned()));
        };
        let loading = format!("{database}.loading");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(&loading))).execute(&mut conn).await?;
        let copy = format!("CREATE DATABASE {} TEMPLATE {}", quoted(&loading), quoted(&state));
        exclusive(&mut conn, &copy, &state).await?;
        swap_in(&mut conn, &loading, database).await?;
        conn.close().await?;
        Ok(saved)
    }

    pub(super) async fn reset(server: &PgConnectOptions, database: &str) -> StoreResult<()> {
        let loading = format!("{database}.loading");
        let mut conn = connect(server).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(&loading))).execute(&mut conn).await?;
        sqlx::query(&format!("CREATE DATABASE {}", quoted(&loading))).execute(&mut conn).await?;
        let url = server.clone().database(&loading).to_url_lossy();
        if let Err(e) = Store::migrate(url.as_str()).await {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {}", quoted(&loading))).execute(&mut conn).await?;
            return Err(e);
        }
        swap_in(&mut conn, &loading, database).await?;
        conn.close().await?;
        Ok(())
    }

    pub(in crate::sql) async fn list_in(conn: &mut PgConnection, database: &str) -> StoreResult<Vec<SavedState>> {
        let prefix = format!("{}.state.", super::root_of(database));
        let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT datname::text, shobj_description(oid, 'pg_database'), pg_database_size(oid) FROM pg_database \
             WHERE left(datname, length($1)) = $1 ORDER BY datname",
        )
        .bind(&prefix)
        .fetch_all(conn)
        .await?;
        let mut out = Vec::new();
        for (db, comment, bytes) in rows {
            let Some(meta) = comment.and_then(|c| serde_json::from_str::<Meta>(&c).ok()) else {
                continue;
            };
            if db[prefix.len()..] != meta.name {
                continue;
            }
            out.push(SavedState {
                name: meta.name,
                saved_at: meta.saved_at,
                backend: "postgresql",
                schema_version: meta.schema_version,
                bytes: u64::try_from(bytes).unwrap_or(0),
            });
        }
        Ok(out)
    }

    pub(super) async fn list(server: &PgConnectOptions, database: &str) -> StoreResult<Vec<SavedState>> {
        let mut conn = connect(server).await?;
        let out = list_in(&mut conn, database).await?;
        conn.close().await?;
        Ok(out)
    }

    pub(super) async fn delete(server: &PgConnectOptions, database: &str, name: &str) -> StoreResult<()> {
        let state = state_db(database, name)?;
        let mut conn = connect(server).await?;
        if !list_in(&mut conn, database).await?.iter().any(|s| s.name == name) {
            return Err(StoreError::NoSuchState(name.to_owned()));
        }
        exclusive(&mut conn, &format!("DROP DATABASE {}", quoted(&state)), &state).await?;
        conn.close().await?;
        Ok(())
    }
}
