//! The databases that share one content store: the live one (the root), its saved states, and its
//! forks (`serve --from-state NAME`: a private copy of a state that one server runs on and drops
//! when it stops). Content packs are shared among them, so a garbage collection of any of them
//! keeps every pack another one's chunk index names ([`Store::pinned_packs`]).
//!
//! Names say who belongs: on SQLite a fork is `forks/<root file>--<id>` next to `states/`, both
//! beside the root's file; on PostgreSQL a fork is the database `<root>.fork.<id>` and a state
//! `<root>.state.<name>`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use backstore_content::PackId;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

use super::states::{
    blocking, checked, home_of, io_error, postgres, remove_sqlite_files, root_of, sqlite, Place, States, FORK_MARK,
};
use super::Store;
use crate::{StoreError, StoreResult};

/// SQLite: the root database of `db` (itself unless it is a fork).
fn sqlite_root(db: &Path) -> PathBuf {
    let in_forks = db.parent().and_then(|p| p.file_name()).and_then(|f| f.to_str()) == Some("forks");
    let file = db.file_name().and_then(|f| f.to_str()).unwrap_or_default();
    match (in_forks, file.rsplit_once(FORK_MARK)) {
        (true, Some((root, _))) => home_of(db).join(root),
        _ => db.to_path_buf(),
    }
}

/// A private copy of a saved state, for one server; [`Fork::remove`] drops it.
pub struct Fork {
    /// The database URL to open the fork with.
    pub url: String,
    place: Place,
}

impl States {
    /// Copies state `name` into a new fork of this family.
    pub async fn fork(&self, name: &str) -> StoreResult<Fork> {
        let name = checked(name)?.to_owned();
        let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
        match &self.place {
            Place::Sqlite { db } => {
                let state = sqlite::state_path(db, &name);
                if !state.exists() {
                    return Err(StoreError::NoSuchState(name));
                }
                let root = sqlite_root(db);
                let root_file = root.file_name().and_then(|f| f.to_str()).unwrap_or("backstore.db");
                let dir = home_of(db).join("forks");
                std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
                let fork = dir.join(format!("{root_file}{FORK_MARK}{id}"));
                // Written under a hidden name first: a collection never reads half a copy.
                let copying = dir.join(format!(".{id}.copying"));
                let (from, to, done) = (state.clone(), copying.clone(), fork.clone());
                blocking(move || {
                    std::fs::copy(&from, &to).map_err(|e| io_error(&to, e))?;
                    std::fs::rename(&to, &done).map_err(|e| io_error(&done, e))
                })
                .await??;
                Ok(Fork { url: format!("sqlite://{}", fork.display()), place: Place::Sqlite { db: fork } })
            }
            Place::Postgres { server, database } => {
                let state = postgres::state_db(database, &name)?;
                let fork = format!("{}.fork.{id}", root_of(database));
                if fork.len() > 63 {
                    return Err(StoreError::BadStateName(format!(
                        "{name} (a fork's database '{fork}' would be longer than PostgreSQL's 63 bytes)"
                    )));
                }
                let mut conn = postgres::connect(server).await?;
                if !postgres::list_in(&mut conn, database).await?.iter().any(|s| s.name == name) {
                    return Err(StoreError::NoSuchState(name));
                }
                let copy = format!("CREATE DATABASE {} TEMPLATE {}", postgres::quoted(&fork), postgres::quoted(&state));
                postgres::exclusive(&mut conn, &copy, &state).await?;
                conn.close().await?;
                let url = server.as_ref().clone().database(&fork).to_url_lossy().to_string();
                Ok(Fork { url, place: Place::Postgres { server: server.clone(), database: fork } })
            }
        }
    }
}

impl Fork {
    /// Drops the fork (its connections first, on PostgreSQL); what only it held becomes garbage.
    pub async fn remove(self) -> StoreResult<()> {
        match self.place {
            Place::Sqlite { db } => remove_sqlite_files(&db),
            Place::Postgres { server, database } => {
                let mut conn = postgres::connect(&server).await?;
                let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", postgres::quoted(&database));
                sqlx::query(&drop).execute(&mut conn).await?;
                conn.close().await?;
                Ok(())
            }
        }
    }
}

impl Store {
    /// The packs each tenant's content has in the family's other databases (the root, every saved
    /// state, every fork): a garbage collection of this one must neither delete nor repack them,
    /// whatever its own index says. None for a database in memory.
    pub async fn pinned_packs(&self) -> StoreResult<HashMap<String, HashSet<PackId>>> {
        let states = match States::of_url(&self.url) {
            Ok(states) => states,
            Err(StoreError::UnsupportedUrl(_)) => return Ok(HashMap::new()),
            Err(e) => return Err(e),
        };
        let rows = match &states.place {
            Place::Sqlite { db } => {
                let db = db.clone();
                blocking(move || sqlite_family_packs(&db)).await??
            }
            Place::Postgres { server, database } => postgres_family_packs(server, database).await?,
        };
        let mut pinned: HashMap<String, HashSet<PackId>> = HashMap::new();
        for (tenant, pack) in rows {
            let pack = pack.parse().map_err(|_| StoreError::Corrupt(format!("a pack id '{pack}' of the family")))?;
            pinned.entry(tenant).or_default().insert(pack);
        }
        Ok(pinned)
    }
}

/// SQLite: `(tenant, pack)` of every other database of `db`'s family.
fn sqlite_family_packs(db: &Path) -> StoreResult<Vec<(String, String)>> {
    use rusqlite::OpenFlags;
    let root = sqlite_root(db);
    let home = home_of(db);
    let mut members = vec![root.clone()];
    members.extend(sqlite::list(db)?.iter().map(|s| sqlite::state_path(db, &s.name)));
    let forks = home.join("forks");
    let root_file = root.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_owned();
    if let Ok(entries) = std::fs::read_dir(&forks) {
        for entry in entries {
            let path = entry.map_err(|e| io_error(&forks, e))?.path();
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
            let fork_of_root = file.rsplit_once(FORK_MARK).is_some_and(|(r, id)| r == root_file && !id.contains('-'));
            if fork_of_root && !file.starts_with('.') {
                members.push(path);
            }
        }
    }
    let me = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    let mut out = Vec::new();
    for member in members {
        let Ok(path) = std::fs::canonicalize(&member) else { continue };
        if path == me {
            continue;
        }
        let c = sqlite::open(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        let has: i64 = c.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'content_packs'",
            [],
            |r| r.get(0),
        )?;
        if has == 0 {
            continue;
        }
        let mut stmt = c.prepare("SELECT tenant_id, pack_id FROM content_packs")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// PostgreSQL: `(tenant, pack)` of every other database of `database`'s family.
async fn postgres_family_packs(server: &PgConnectOptions, database: &str) -> StoreResult<Vec<(String, String)>> {
    let root = root_of(database);
    let mut conn = postgres::connect(server).await?;
    let members: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname = $1 \
         OR left(datname, length($1) + 7) = $1 || '.state.' OR left(datname, length($1) + 6) = $1 || '.fork.'",
    )
    .bind(root)
    .fetch_all(&mut conn)
    .await?;
    conn.close().await?;
    let mut out = Vec::new();
    for member in members.iter().filter(|m| *m != database && !m.ends_with(".saving") && !m.ends_with(".loading")) {
        let mut c = server.clone().database(member).connect().await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, pack_id FROM content_packs WHERE to_regclass('content_packs') IS NOT NULL",
        )
        .fetch_all(&mut c)
        .await
        .or_else(|e| match &e {
            // A database migrated before there was content has no packs.
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") => Ok(Vec::new()),
            _ => Err(e),
        })?;
        c.close().await?;
        out.extend(rows);
    }
    Ok(out)
}
