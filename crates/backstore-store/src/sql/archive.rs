//! A saved state's database as plain rows, and a saved state made from such rows: what `backstore
//! state export` writes and `state import` reads, the same on either backend (the schemas hold
//! integers and text only, under the same table and column names).

use std::path::Path;

use backstore_domain::Timestamp;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{Column as _, ConnectOptions as _, Connection as _, Row as _, TypeInfo as _};

use super::states::{
    blocking, checked, io_error, postgres, remove_sqlite_files, sqlite, Meta, Place, SavedState, States,
};
use super::{Dialect, Store};
use crate::{StoreError, StoreResult};

/// One table's rows, each a list of values in `columns`' order.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct TableRows {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Tables that are not the store's data: the migrations' record and the backends' own.
const NOT_DATA: [&str; 3] = ["_sqlx_migrations", "sqlite_sequence", "backstore_state"];

/// Tables others reference, filled first.
const PARENTS_FIRST: [&str; 4] = ["tenants", "protection_units", "restore_points", "restore_sessions"];

fn in_order(tables: &mut [TableRows]) {
    tables.sort_by_key(|t| {
        (PARENTS_FIRST.iter().position(|p| *p == t.name).unwrap_or(PARENTS_FIRST.len()), t.name.clone())
    });
}

fn unreadable(table: &str, column: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("{table}.{column}: {what} is not a value a state archive holds"))
}

impl States {
    /// State `name` with every row of its database.
    pub async fn dump(&self, name: &str) -> StoreResult<(SavedState, Vec<TableRows>)> {
        let name = checked(name)?.to_owned();
        let state =
            self.list().await?.into_iter().find(|s| s.name == name).ok_or(StoreError::NoSuchState(name.clone()))?;
        let mut tables = match &self.place {
            Place::Sqlite { db } => {
                let path = sqlite::state_path(db, &name);
                blocking(move || sqlite_dump(&path)).await??
            }
            Place::Postgres { server, database } => {
                let mut c = server.as_ref().clone().database(&postgres::state_db(database, &name)?).connect().await?;
                let tables = postgres_dump(&mut c).await;
                c.close().await?;
                tables?
            }
        };
        in_order(&mut tables);
        Ok((state, tables))
    }

    /// Makes state `name` (replacing one of that name) from rows dumped at `schema_version`,
    /// which must be this build's: a database of this schema is made and filled in one
    /// transaction, under a temporary name until it is whole.
    pub async fn restore(
        &self,
        name: &str,
        saved_at: Timestamp,
        schema_version: i64,
        mut tables: Vec<TableRows>,
    ) -> StoreResult<SavedState> {
        let name = checked(name)?.to_owned();
        let dialect = match self.place {
            Place::Sqlite { .. } => Dialect::Sqlite,
            Place::Postgres { .. } => Dialect::Postgres,
        };
        let known = Store::known_schema(dialect);
        if schema_version != known {
            return Err(StoreError::StateIo(format!(
                "the archive is of schema version {schema_version}; this backstore imports version {known}"
            )));
        }
        in_order(&mut tables);
        let meta = Meta { name: name.clone(), saved_at, schema_version };
        match &self.place {
            Place::Sqlite { db } => {
                let path = sqlite::state_path(db, &name);
                let dir = path.parent().expect("a states dir").to_path_buf();
                std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
                let building = dir.join(format!(".{name}.db.importing"));
                remove_sqlite_files(&building)?;
                Store::migrate(&format!("sqlite://{}?mode=rwc", building.display())).await?;
                let (from, to) = (building.clone(), path.clone());
                blocking(move || {
                    sqlite_fill(&from, &tables, &meta)?;
                    std::fs::rename(&from, &to).map_err(|e| io_error(&to, e))?;
                    remove_sqlite_files(&from)?;
                    sqlite::described(&to)
                })
                .await?
            }
            Place::Postgres { server, database } => {
                postgres::state_db(database, &name)?; // a name that fits, before anything is built
                let building = format!("{}.importing", super::states::root_of(database));
                let mut conn = postgres::connect(server).await?;
                let q = postgres::quoted;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", q(&building)))
                    .execute(&mut conn)
                    .await?;
                sqlx::query(&format!("CREATE DATABASE {}", q(&building))).execute(&mut conn).await?;
                let options: PgConnectOptions = server.as_ref().clone().database(&building);
                let filled = async {
                    Store::migrate(options.to_url_lossy().as_str()).await?;
                    let mut c = options.connect().await?;
                    let filled = postgres_fill(&mut c, &tables).await;
                    c.close().await?;
                    filled
                }
                .await;
                if let Err(e) = filled {
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", q(&building)))
                        .execute(&mut conn)
                        .await?;
                    return Err(e);
                }
                let saved = postgres::install(&mut conn, &building, database, &meta).await;
                conn.close().await?;
                saved
            }
        }
    }
}

fn sqlite_dump(path: &Path) -> StoreResult<Vec<TableRows>> {
    use rusqlite::types::ValueRef;
    let c = sqlite::read_only(path)?;
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for table in names.into_iter().filter(|n| !NOT_DATA.contains(&n.as_str())) {
        let mut stmt = c.prepare(&format!("SELECT * FROM \"{table}\""))?;
        let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = Vec::new();
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let mut row = Vec::with_capacity(columns.len());
            for (i, column) in columns.iter().enumerate() {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(f) => Value::from(f),
                    ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => return Err(unreadable(&table, column, "a blob")),
                });
            }
            rows.push(row);
        }
        out.push(TableRows { name: table, columns, rows });
    }
    Ok(out)
}

fn sqlite_fill(path: &Path, tables: &[TableRows], meta: &Meta) -> StoreResult<()> {
    use rusqlite::types::Value as Sql;
    let mut c = sqlite::open(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let tx = c.transaction()?;
    for t in tables {
        tx.execute(&format!("DELETE FROM \"{}\"", t.name), [])?;
        let columns: Vec<String> = t.columns.iter().map(|c| format!("\"{c}\"")).collect();
        let marks = vec!["?"; columns.len()].join(", ");
        let mut insert =
            tx.prepare(&format!("INSERT INTO \"{}\" ({}) VALUES ({marks})", t.name, columns.join(", ")))?;
        for row in &t.rows {
            let values = row.iter().map(|v| match v {
                Value::Null => Ok(Sql::Null),
                Value::Number(n) if n.is_i64() => Ok(Sql::Integer(n.as_i64().expect("checked"))),
                Value::Number(n) => Ok(Sql::Real(n.as_f64().unwrap_or(0.0))),
                Value::String(s) => Ok(Sql::Text(s.clone())),
                other => Err(StoreError::Corrupt(format!("{}: {other} is not a column value", t.name))),
            });
            let values: Vec<Sql> = values.collect::<StoreResult<_>>()?;
            insert.execute(rusqlite::params_from_iter(values))?;
        }
    }
    sqlite::write_meta(&tx, meta)?;
    tx.commit()?;
    Ok(())
}

async fn postgres_dump(c: &mut PgConnection) -> StoreResult<Vec<TableRows>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&mut *c)
    .await?;
    let mut out = Vec::new();
    for table in names.into_iter().filter(|n| !NOT_DATA.contains(&n.as_str())) {
        let rows: Vec<PgRow> = sqlx::query(&format!("SELECT * FROM \"{table}\"")).fetch_all(&mut *c).await?;
        let columns: Vec<String> = match rows.first() {
            Some(r) => r.columns().iter().map(|c| c.name().to_owned()).collect(),
            None => {
                sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                )
                .bind(&table)
                .fetch_all(&mut *c)
                .await?
            }
        };
        let mut values = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut row = Vec::with_capacity(columns.len());
            for (i, column) in r.columns().iter().enumerate() {
                row.push(match column.type_info().name() {
                    "INT8" => r.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::from),
                    "INT4" => r.try_get::<Option<i32>, _>(i)?.map_or(Value::Null, Value::from),
                    "INT2" => r.try_get::<Option<i16>, _>(i)?.map_or(Value::Null, Value::from),
                    "FLOAT8" => r.try_get::<Option<f64>, _>(i)?.map_or(Value::Null, Value::from),
                    "FLOAT4" => r.try_get::<Option<f32>, _>(i)?.map_or(Value::Null, Value::from),
                    "TEXT" | "VARCHAR" | "BPCHAR" => {
                        r.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::from)
                    }
                    other => return Err(unreadable(&table, column.name(), other)),
                });
            }
            values.push(row);
        }
        out.push(TableRows { name: table, columns, rows: values });
    }
    Ok(out)
}

async fn postgres_fill(c: &mut PgConnection, tables: &[TableRows]) -> StoreResult<()> {
    let mut tx = c.begin().await?;
    for t in tables {
        // Each column's type, so that a NULL is bound as what its column holds.
        let types: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
        )
        .bind(&t.name)
        .fetch_all(&mut *tx)
        .await?;
        let integer = |column: &str| {
            types.iter().any(|(c, ty)| c == column && matches!(ty.as_str(), "bigint" | "integer" | "smallint"))
        };
        sqlx::query(&format!("DELETE FROM \"{}\"", t.name)).execute(&mut *tx).await?;
        let columns: Vec<String> = t.columns.iter().map(|c| format!("\"{c}\"")).collect();
        // Many rows per statement, within PostgreSQL's 65,535 parameters.
        let per = (60_000 / columns.len().max(1)).clamp(1, 1000);
        for batch in t.rows.chunks(per) {
            let tuples: Vec<String> = (0..batch.len())
                .map(|r| {
                    let marks: Vec<String> =
                        (1..=columns.len()).map(|c| format!("${}", r * columns.len() + c)).collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO \"{}\" ({}) OVERRIDING SYSTEM VALUE VALUES {}",
                t.name,
                columns.join(", "),
                tuples.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for row in batch {
                for (column, v) in t.columns.iter().zip(row) {
                    q = match v {
                        Value::Null if integer(column) => q.bind(None::<i64>),
                        Value::Null => q.bind(None::<String>),
                        Value::Number(n) if n.is_i64() => q.bind(n.as_i64()),
                        Value::Number(n) => q.bind(n.as_f64()),
                        Value::String(s) => q.bind(s.clone()),
                        other => return Err(StoreError::Corrupt(format!("{}: {other} is not a column value", t.name))),
                    };
                }
            }
            q.execute(&mut *tx).await?;
        }
        // Identity columns continue after the rows brought in.
        if t.columns.iter().any(|c| c == "seq") {
            let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'seq')")
                .bind(&t.name)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(sequence) = sequence {
                let sql = format!("SELECT setval($1, COALESCE((SELECT MAX(seq) FROM \"{}\"), 0) + 1, false)", t.name);
                sqlx::query(&sql).bind(sequence).execute(&mut *tx).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}
