//! The native connections SQLite reads run on (see [`super::read`]), kept from one read to the
//! next with their prepared statements, and the read transactions they keep open while nothing is
//! committed (see [`Reader`]).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::changes::{Changes, Mark};
use super::read::{native_rows, on_this_thread, Arg, Columns, Cost};
use crate::StoreResult;

/// The connections SQLite reads use, opened on the database file as they are needed and kept for
/// the next read (with their prepared statements).
pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
    /// The file's WAL index, watched: what tells whether a snapshot a reader holds is still the
    /// database (see [`Reader`]).
    changes: Option<Changes>,
}

/// A read connection, and the mark of the database when it began the read transaction it holds
/// open, if it holds one.
///
/// Each read outside a transaction begins and ends one: SQLite takes and drops a lock on the WAL
/// index with `fcntl` each time, which was a tenth of a GET of one session. While nothing is
/// committed the database stays what such a snapshot shows, so a reader keeps its transaction
/// open from one read to the next as long as the mark stays as it was when the transaction began,
/// and ends it once the mark moved: before the read that finds it moved, or when the checkpoint
/// thread sweeps the idle readers before each of its rounds. It begins one only when the whole log
/// was copied into the database file: such a snapshot reads the file alone and never keeps the log
/// from starting over; it keeps a checkpoint from copying what a later commit wrote only until that
/// commit makes it stale and it is let go (at most one round of the checkpoint thread later).
struct Reader {
    conn: rusqlite::Connection,
    holds: Option<Mark>,
}

impl Reader {
    /// Ends the read transaction this reader holds, if any.
    fn release(&mut self) -> rusqlite::Result<()> {
        self.holds = None;
        if !self.conn.is_autocommit() {
            self.conn.prepare_cached("COMMIT")?.execute([])?;
        }
        Ok(())
    }
}

/// How many idle read connections are kept; more are opened under load and closed after it.
const IDLE_READERS: usize = 8;

impl Readers {
    /// The readers of the SQLite database a `sqlite:` URL names, when it is a file.
    pub fn of_url(url: &str) -> Option<Readers> {
        let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        if path.is_empty() || path.starts_with(':') || url.contains("mode=memory") {
            return None;
        }
        let path = PathBuf::from(path);
        let changes = Changes::open(&path);
        Some(Readers { path, idle: Mutex::new(Vec::new()), changes })
    }

    /// What tells whether the database changed since a mark was read (when the WAL index could
    /// be opened).
    pub fn changes(&self) -> Option<&Changes> {
        self.changes.as_ref()
    }

    /// The mark now, and whether a read transaction begun now would read the database file alone.
    fn now(&self) -> Option<(Mark, bool)> {
        self.changes.as_ref().and_then(Changes::now)
    }

    /// Ends the read transactions idle readers hold on a database that has changed since.
    pub fn release_stale(&self) {
        let now = self.now().map(|(mark, _)| mark);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain_mut(|r| r.holds.is_none() || r.holds == now || r.release().is_ok());
    }

    /// The database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn open(&self) -> StoreResult<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        // Read-write without create, then `query_only`: a read-only connection could not open the
        // WAL index if the last writer had closed and removed it.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// Runs `read` on an idle connection (or a new one), then keeps the connection for the next.
    fn with<T>(&self, cost: Cost, read: impl FnOnce(&rusqlite::Connection) -> StoreResult<T>) -> StoreResult<T> {
        let now = self.now();
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut reader = match taken {
            Some(r) => r,
            None => Reader { conn: self.open()?, holds: None },
        };
        // A snapshot of a database that has changed since is let go before the read.
        if reader.holds.is_some() && reader.holds != now.map(|(mark, _)| mark) && reader.release().is_err() {
            reader = Reader { conn: self.open()?, holds: None };
        }
        if let (None, Some((mark, true))) = (reader.holds, now) {
            reader.conn.prepare_cached("BEGIN")?.execute([])?;
            reader.holds = Some(mark);
        }
        let out = on_this_thread(cost, || read(&reader.conn));
        // So is one a failed read ran in. (One the database moved past during the read is let go by
        // the next read or the checkpoint thread's next round, whichever comes first: looking
        // again here cost a GET 4 %, in the `pread` of the WAL index.)
        if out.is_ok() || reader.release().is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_READERS {
                idle.push(reader);
            }
        }
        out
    }

    /// Every row `sql` (with `?` placeholders) yields for `args`, each decoded by `decode` (the
    /// tests' shorthand for [`Readers::rows_expecting`]).
    #[cfg(test)]
    pub fn rows<T>(
        &self,
        cost: Cost,
        sql: &str,
        args: &[Arg<'_>],
        decode: impl FnMut(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.rows_expecting(cost, 0, sql, args, decode)
    }

    /// Every row `sql` (with `?` placeholders) yields for `args`, each decoded by `decode`, into a
    /// vector with room for `expect` rows from the start.
    pub fn rows_expecting<T>(
        &self,
        cost: Cost,
        expect: usize,
        sql: &str,
        args: &[Arg<'_>],
        mut decode: impl FnMut(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        self.with(cost, |conn| native_rows(conn, sql, args, expect, &mut decode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::read::Col as _;
    use crate::StoreError;

    fn readers_with_rows() -> (tempfile::TempDir, Readers) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER, s TEXT, x TEXT);
             INSERT INTO t VALUES (1, 'one', NULL), (2, 'two', 'b'), (3, NULL, 'c');",
        )
        .unwrap();
        let readers = Readers::of_url(&format!("sqlite://{}?mode=rwc", path.display())).unwrap();
        (dir, readers)
    }

    #[test]
    fn only_a_database_file_gets_native_readers() {
        assert!(Readers::of_url("sqlite::memory:").is_none());
        assert!(Readers::of_url("sqlite://x.db?mode=memory").is_none());
        assert_eq!(Readers::of_url("sqlite:data/b.db").unwrap().path, PathBuf::from("data/b.db"));
    }

    #[test]
    fn columns_are_found_by_name_whatever_order_each_row_asks_in() {
        let (_dir, readers) = readers_with_rows();
        let sql = "SELECT n, s, x FROM t WHERE n >= ? ORDER BY n";
        let rows = readers
            .rows(Cost::Seek, sql, &[Arg::Int(1)], |r| {
                let n: i64 = r.col("n")?;
                // Each row asks in another order, so the remembered positions keep missing.
                Ok(if n % 2 == 0 {
                    (r.col::<Option<String>>("x")?, r.col::<Option<String>>("s")?, n)
                } else {
                    let s = r.col::<Option<String>>("s")?;
                    (r.col::<Option<String>>("x")?, s, n)
                })
            })
            .unwrap();
        assert_eq!(
            rows,
            vec![(None, Some("one".into()), 1), (Some("b".into()), Some("two".into()), 2), (Some("c".into()), None, 3)]
        );
    }

    #[test]
    fn a_null_where_a_value_is_required_or_a_wrong_type_is_a_corrupt_row() {
        let (_dir, readers) = readers_with_rows();
        let sql = "SELECT n, s FROM t WHERE n = ?";
        let null = readers.rows(Cost::Seek, sql, &[Arg::Int(3)], |r| r.col::<String>("s")).unwrap_err();
        assert!(matches!(null, StoreError::Corrupt(_)), "{null}");
        let text = readers.rows(Cost::Seek, sql, &[Arg::Int(1)], |r| r.col::<i64>("s")).unwrap_err();
        assert!(matches!(text, StoreError::Corrupt(_)), "{text}");
        let missing = readers.rows(Cost::Seek, sql, &[Arg::Int(1)], |r| r.col::<i64>("nope")).unwrap_err();
        assert!(matches!(missing, StoreError::Corrupt(_)), "{missing}");
    }

    #[test]
    fn a_native_read_refuses_to_write() {
        let (_dir, readers) = readers_with_rows();
        let e = readers.rows(Cost::Seek, "DELETE FROM t RETURNING n", &[], |r| r.col::<i64>("n")).unwrap_err();
        assert!(matches!(e, StoreError::Sqlite(_)), "{e}");
    }
}

#[cfg(test)]
mod snapshots {
    use super::*;
    use crate::sql::read::Col as _;

    fn count(readers: &Readers) -> i64 {
        readers.rows(Cost::Seek, "SELECT COUNT(*) AS n FROM t", &[], |r| r.col::<i64>("n")).unwrap()[0]
    }

    /// Whether the idle reader holds a read transaction open.
    fn holding(readers: &Readers) -> bool {
        let idle = readers.idle.lock().unwrap();
        assert_eq!(idle.len(), 1);
        assert_eq!(idle[0].holds.is_some(), !idle[0].conn.is_autocommit());
        idle[0].holds.is_some()
    }

    fn open(path: &std::path::Path) -> (rusqlite::Connection, Readers) {
        let writer = rusqlite::Connection::open(path).unwrap();
        let readers = Readers::of_url(&format!("sqlite:{}", path.display())).unwrap();
        (writer, readers)
    }

    #[test]
    fn a_snapshot_is_kept_only_while_nothing_is_committed_and_never_answers_after_a_commit() {
        let (_dir, path) = super::super::scratch_database();
        let (writer, readers) = open(&path);
        for n in 1..=3 {
            writer.execute("INSERT INTO t (s) VALUES ('x')", []).unwrap();
            // Another connection's commit, then the read: it sees the row.
            assert_eq!(count(&readers), n);
            assert!(!holding(&readers), "a snapshot begun on a log not all copied was kept");
            writer.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
            assert_eq!(count(&readers), n);
            assert!(holding(&readers), "no snapshot kept on a log all copied");
            assert_eq!(count(&readers), n);
            assert!(holding(&readers));
        }
        // A failed read lets its snapshot go.
        let e = readers.rows(Cost::Seek, "SELECT n FROM t", &[], |r| r.col::<i64>("nope")).unwrap_err();
        assert!(matches!(e, crate::StoreError::Corrupt(_)), "{e}");
        assert!(!holding(&readers));
    }

    #[test]
    fn snapshots_made_stale_by_a_commit_are_swept_so_a_checkpoint_can_copy_it() {
        let (_dir, path) = super::super::scratch_database();
        let (writer, readers) = open(&path);
        writer.execute("INSERT INTO t (s) VALUES ('x')", []).unwrap();
        writer.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        assert_eq!(count(&readers), 1);
        assert!(holding(&readers));
        writer.execute("INSERT INTO t (s) VALUES ('y')", []).unwrap();
        let passive = || {
            writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
        };
        let (log, copied) = passive().unwrap();
        assert!(copied < log, "the stale snapshot did not hold the checkpoint back ({copied} of {log})");
        readers.release_stale();
        assert!(!holding(&readers));
        let (log, copied) = passive().unwrap();
        assert_eq!(copied, log);
        // Unchanged since: a sweep keeps what a read then holds.
        assert_eq!(count(&readers), 2);
        assert!(holding(&readers));
        readers.release_stale();
        assert!(holding(&readers));
    }
}
