//! A write transaction, on whichever connection the backend writes with.
//!
//! PostgreSQL (and an in-memory SQLite database) write through the sqlx pool. A SQLite file is
//! written through one `rusqlite` connection of the process's own, on the calling thread: sqlx's
//! SQLite driver runs each statement on a worker thread of its own and hands it and its rows back
//! and forth through channels, and with one writer at a time those hand-offs were most of a write
//! transaction's time (the profile in `docs/performance.md`: the process kept half a core busy
//! while sixteen writers queued). Statements are prepared once per connection and kept.
//!
//! A transaction that is dropped before [`Tx::commit`] (an error, or a client that went away
//! mid-request) is rolled back, so nothing of it is ever seen.

use std::time::Duration;

use sqlx::Executor;

use super::read::{Arg, Col, Columns, Cost};
use crate::{StoreError, StoreResult};

/// How long a SQLite writer waits for another process's write lock before failing as unavailable.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// This process's SQLite writer: its connection (opened on first use), its writers' first-come
/// first-served queue, and the group of their writes that commits together (see [`super::group`]).
pub(super) type Writer = std::sync::Arc<super::group::Writers>;

/// One open write transaction.
pub(crate) struct Tx {
    inner: Inner,
}

enum Inner {
    Pool(sqlx::Transaction<'static, sqlx::Any>),
    Native(Native),
}

/// A writer's part of a transaction on the native writer: the connection stays held for its length,
/// its work inside a savepoint of its own.
struct Native {
    writers: Writer,
    /// The turn, until the writer's part is done.
    turn: Option<super::group::Held>,
    /// The group of writes it joined (or began).
    group: Option<std::sync::Arc<super::group::Group>>,
    /// Its savepoint is open: neither released nor rolled back yet.
    open: bool,
}

impl Native {
    fn conn(&self) -> &rusqlite::Connection {
        self.turn.as_ref().and_then(|t| t.conn.as_ref()).expect("a native transaction holds the open connection")
    }
}

impl Drop for Native {
    fn drop(&mut self) {
        let Some(mut turn) = self.turn.take() else { return };
        if self.open {
            if let Some(conn) = &turn.conn {
                // Whatever failed, nothing of this writer's part stays; the others' parts do.
                if let Err(e) = conn.execute_batch("ROLLBACK TO member; RELEASE member") {
                    turn.lost(&e);
                }
            }
        }
        self.writers.leave(turn);
    }
}

/// `BEGIN IMMEDIATE`, waiting for another process's write lock off the runtime's worker.
fn begin_immediate(c: &rusqlite::Connection) -> StoreResult<()> {
    c.busy_timeout(Duration::ZERO)?;
    let begun = match c.execute_batch("BEGIN IMMEDIATE") {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
            c.busy_timeout(BUSY_TIMEOUT)?;
            let waited = super::read::on_this_thread(Cost::Scan, || c.execute_batch("BEGIN IMMEDIATE"));
            c.busy_timeout(Duration::ZERO)?;
            waited
        }
        other => other,
    };
    Ok(begun?)
}

/// Opens the native writer connection on a database file (created and migrated already).
fn open_writer(path: &std::path::Path) -> StoreResult<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    // As the pool's connections: WAL (kept by the file), commits that do not wait for the disk
    // (checkpoints do), foreign keys, statement journals in memory; checkpoints are the
    // checkpoint thread's (see `checkpoint.rs`), not run by whichever commit fills the log.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; \
         PRAGMA wal_autocheckpoint = {}",
        super::checkpoint::WRITER_BACKSTOP_PAGES
    ))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

impl Tx {
    /// A transaction of the pool (PostgreSQL, or SQLite without a file), begun by the caller.
    pub(super) fn pool(tx: sqlx::Transaction<'static, sqlx::Any>) -> Tx {
        Tx { inner: Inner::Pool(tx) }
    }

    /// A writer's part of a transaction on the native writer of the database file at `path`, once
    /// this process's earlier writers have had their turn: inside the transaction they left open,
    /// or in one it begins with `BEGIN IMMEDIATE`. Another process's write lock is waited for (up
    /// to the busy timeout) off the runtime's worker, so the process's other requests go on
    /// meanwhile.
    pub(super) async fn native(writers: &Writer, path: &std::path::Path) -> StoreResult<Tx> {
        let mut n = Native { writers: writers.clone(), turn: Some(writers.take().await), group: None, open: false };
        let turn = n.turn.as_mut().expect("taken above");
        if turn.conn.is_none() {
            turn.conn = Some(open_writer(path)?);
        }
        let group = match turn.open_group() {
            Some(group) => group,
            None => {
                let c = turn.conn.as_ref().expect("opened above");
                if !c.is_autocommit() {
                    // A transaction left open by a panic in a writer: nothing of it was committed.
                    c.execute_batch("ROLLBACK")?;
                }
                begin_immediate(c)?;
                turn.begin_group()
            }
        };
        n.group = Some(group);
        n.conn().execute_batch("SAVEPOINT member")?;
        n.open = true;
        Ok(Tx { inner: Inner::Native(n) })
    }

    /// Makes everything the transaction wrote durable and visible at once: on the native writer,
    /// with the commit of the group it is part of, which this waits for.
    pub(super) async fn commit(self) -> StoreResult<()> {
        match self.inner {
            Inner::Pool(tx) => Ok(tx.commit().await?),
            Inner::Native(mut n) => {
                n.conn().execute_batch("RELEASE member")?;
                n.open = false;
                let mut turn = n.turn.take().expect("held until its part is done");
                turn.finished();
                let group = n.group.clone().expect("joined when begun");
                n.writers.leave(turn);
                Ok(n.writers.outcome(group).await?)
            }
        }
    }

    /// Runs a statement of the backend's own text (no placeholders): PostgreSQL's `NOTIFY`.
    pub(super) async fn raw(&mut self, sql: &str) -> StoreResult<()> {
        match &mut self.inner {
            Inner::Pool(tx) => {
                tx.execute(sql).await?;
                Ok(())
            }
            Inner::Native(n) => Ok(n.conn().execute_batch(sql)?),
        }
    }

    /// Runs `sql` (with `?` placeholders) for `args`; the rows it changed.
    pub async fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        match &mut self.inner {
            Inner::Pool(tx) => {
                let sql = super::numbered(sql);
                Ok(super::read::bind_args(&sql, args).execute(&mut **tx).await?.rows_affected())
            }
            Inner::Native(n) => native_exec(n.conn(), sql, args),
        }
    }

    /// Every row `sql` yields for `args`, each decoded by `decode`.
    pub async fn rows<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        mut decode: impl FnMut(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        match &mut self.inner {
            Inner::Pool(tx) => {
                let sql = super::numbered(sql);
                let rows = super::read::bind_args(&sql, args).fetch_all(&mut **tx).await?;
                rows.iter().map(|r| decode(r)).collect()
            }
            Inner::Native(n) => super::read::native_rows(n.conn(), sql, args, 0, decode),
        }
    }

    /// The first row `sql` yields for `args`, if any.
    pub async fn row<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        decode: impl FnMut(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        Ok(self.rows(sql, args, decode).await?.into_iter().next())
    }

    /// Every row `sql` yields for `args`, kept to be read after.
    pub async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<Row>> {
        match &mut self.inner {
            Inner::Pool(tx) => {
                let sql = super::numbered(sql);
                Ok(super::read::bind_args(&sql, args).fetch_all(&mut **tx).await?.into_iter().map(Row::Any).collect())
            }
            Inner::Native(n) => {
                let conn = n.conn();
                let mut stmt = conn.prepare_cached(sql)?;
                super::read::bind_native(&mut stmt, args)?;
                let names: std::sync::Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
                let width = names.len();
                let mut rows = stmt.raw_query();
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let values =
                        (0..width).map(|i| row.get::<_, rusqlite::types::Value>(i)).collect::<Result<_, _>>()?;
                    out.push(Row::Native { names: names.clone(), values });
                }
                drop(rows);
                super::read::no_recompiles(&stmt, sql);
                Ok(out)
            }
        }
    }

    /// The first row `sql` yields for `args`, if any, kept to be read after.
    pub async fn fetch_optional(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<Row>> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    /// The first row `sql` yields for `args`, which must yield one, kept to be read after.
    pub async fn fetch_one(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Row> {
        self.fetch_optional(sql, args).await?.ok_or_else(|| no_row(sql))
    }

    /// The first column of every row `sql` yields.
    pub async fn scalars<T: super::read::Column>(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<T>> {
        self.rows(sql, args, |r| r.first::<T>()).await
    }

    /// The first column of the first row `sql` yields, if it yields one.
    pub async fn scalar_opt<T: super::read::Column>(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<T>> {
        self.row(sql, args, |r| r.first::<T>()).await
    }

    /// The first column of the first row `sql` yields, which must yield one.
    pub async fn scalar<T: super::read::Column>(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<T> {
        self.scalar_opt(sql, args).await?.ok_or_else(|| no_row(sql))
    }
}

/// A row read in a transaction and kept: the pool's, or the values of a native one.
pub(crate) enum Row {
    Any(sqlx::any::AnyRow),
    Native { names: std::sync::Arc<[String]>, values: Vec<rusqlite::types::Value> },
}

impl Row {
    fn native(&self, column: &str) -> StoreResult<rusqlite::types::ValueRef<'_>> {
        let Row::Native { names, values } = self else { unreachable!("only native rows have values") };
        Ok((&values[super::read::position(names, column)?]).into())
    }
}

impl Columns for Row {
    fn str(&self, column: &'static str) -> StoreResult<Option<&str>> {
        match self {
            Row::Any(r) => r.str(column),
            Row::Native { .. } => super::read::native_str(self.native(column)?, column),
        }
    }

    fn int(&self, column: &'static str) -> StoreResult<Option<i64>> {
        match self {
            Row::Any(r) => r.int(column),
            Row::Native { .. } => super::read::native_int(self.native(column)?, column),
        }
    }
}

fn no_row(sql: &str) -> StoreError {
    let head: String = sql.chars().take(80).collect();
    StoreError::Corrupt(format!("no row where one was expected ({head}…)"))
}

/// A statement on a native connection: prepared once, bound by position, stepped to its end (a
/// `RETURNING` clause's rows are dropped); the rows it changed.
fn native_exec(conn: &rusqlite::Connection, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
    let mut stmt = conn.prepare_cached(sql)?;
    super::read::bind_native(&mut stmt, args)?;
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    drop(rows);
    super::read::no_recompiles(&stmt, sql);
    Ok(conn.changes())
}

/// Where a read runs: inside a write transaction (its connection), or outside any, through the
/// store (natively on SQLite). Reads that serve both take `impl Into<On>`.
pub(crate) enum On<'c> {
    Tx(&'c mut Tx),
    Store(&'c crate::Store),
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(c: &'c mut Tx) -> Self {
        On::Tx(c)
    }
}

impl<'c> From<&'c crate::Store> for On<'c> {
    fn from(s: &'c crate::Store) -> Self {
        On::Store(s)
    }
}

impl On<'_> {
    /// Every row `sql` (with `?` placeholders) yields for `args`, each decoded by `decode`.
    pub async fn rows<T>(
        self,
        cost: Cost,
        sql: &str,
        args: &[Arg<'_>],
        decode: impl FnMut(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        match self {
            On::Store(store) => store.read_rows(cost, sql, args, decode).await,
            On::Tx(tx) => tx.rows(sql, args, decode).await,
        }
    }

    /// The first row `sql` yields for `args` (a read by key), decoded by `decode`.
    pub async fn row<T>(
        self,
        sql: &str,
        args: &[Arg<'_>],
        decode: impl FnMut(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        Ok(self.rows(Cost::Seek, sql, args, decode).await?.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> (tempfile::TempDir, std::path::PathBuf, Writer) {
        let (dir, path) = super::super::scratch_database();
        (dir, path, Writer::default())
    }

    fn count(path: &std::path::Path) -> i64 {
        let c = rusqlite::Connection::open(path).unwrap();
        c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[tokio::test]
    async fn a_transaction_dropped_before_commit_leaves_nothing_and_the_next_one_writes() {
        let (_dir, path, writer) = database();
        let mut tx = Tx::native(&writer, &path).await.unwrap();
        assert_eq!(tx.exec("INSERT INTO t (n, s) VALUES (?, ?)", &[Arg::Int(1), Arg::Text("a")]).await.unwrap(), 1);
        drop(tx);
        assert_eq!(count(&path), 0);

        // A request cancelled mid-write drops its future the same way.
        let cancelled = async {
            let mut tx = Tx::native(&writer, &path).await.unwrap();
            tx.exec("INSERT INTO t (n, s) VALUES (2, 'b')", &[]).await.unwrap();
            std::future::pending::<()>().await;
        };
        assert!(tokio::time::timeout(Duration::from_millis(20), cancelled).await.is_err());
        assert_eq!(count(&path), 0);

        let mut tx = Tx::native(&writer, &path).await.unwrap();
        let back: Vec<i64> = tx.scalars("INSERT INTO t (n, s) VALUES (3, NULL) RETURNING n", &[]).await.unwrap();
        assert_eq!(back, vec![3]);
        let row = tx.fetch_one("SELECT n, s FROM t WHERE n = ?", &[Arg::Int(3)]).await.unwrap();
        assert_eq!((row.col::<i64>("n").unwrap(), row.col::<Option<String>>("s").unwrap()), (3, None));
        assert!(tx.scalar_opt::<i64>("SELECT n FROM t WHERE n = 99", &[]).await.unwrap().is_none());
        assert!(matches!(tx.scalar::<i64>("SELECT n FROM t WHERE n = 99", &[]).await, Err(StoreError::Corrupt(_))));
        tx.commit().await.unwrap();
        assert_eq!(count(&path), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_process_holding_the_write_lock_is_waited_for() {
        let (_dir, path, writer) = database();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; INSERT INTO t (n, s) VALUES (1, 'theirs')").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let started = std::time::Instant::now();
        let mut tx = Tx::native(&writer, &path).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250), "began before the other writer committed");
        tx.exec("INSERT INTO t (n, s) VALUES (2, 'ours')", &[]).await.unwrap();
        tx.commit().await.unwrap();
        release.join().unwrap();
        assert_eq!(count(&path), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_a_steady_stream_of_writes_and_reads_the_log_starts_over() {
        let (dir, path) = super::super::scratch_database();
        let writer = Writer::default();
        let url = format!("sqlite:{}", path.display());
        let readers = std::sync::Arc::new(super::super::readers::Readers::of_url(&url).unwrap());
        let checkpoints = super::super::checkpoint::Checkpoints::start(&readers, &writer);
        let row = "x".repeat(4000);
        // About 80 MiB through the log at about 40 MB/s (the rate of sixteen clients creating
        // sessions of 50 on this machine), five times the size past which it must start over.
        for batch in 0..2000i64 {
            let mut tx = Tx::native(&writer, &path).await.unwrap();
            for i in 0..10 {
                let args = [Arg::Int(batch * 10 + i), Arg::Text(&row)];
                tx.exec("INSERT INTO t (n, s) VALUES (?, ?)", &args).await.unwrap();
            }
            tx.commit().await.unwrap();
            checkpoints.written();
            // Reads between the writes, which keep their snapshots while nothing is committed.
            let sql = "SELECT MAX(n) AS n FROM t";
            let n = readers.rows(Cost::Seek, sql, &[], |r| r.col::<i64>("n")).unwrap();
            assert_eq!(n, [batch * 10 + 9]);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let wal = std::fs::metadata(dir.path().join("scratch.db-wal")).unwrap().len();
        assert!(wal < 40 << 20, "the log grew to {} MiB", wal >> 20);
        // Once the thread has had its round, the next write starts the log over.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut tx = Tx::native(&writer, &path).await.unwrap();
        tx.exec("INSERT INTO t (n, s) VALUES (-1, 'last')", &[]).await.unwrap();
        tx.commit().await.unwrap();
        let pages = super::super::checkpoint::checkpoint(&rusqlite::Connection::open(&path).unwrap()).unwrap();
        assert!(pages < 10, "the log still holds {pages} pages");
    }
}
