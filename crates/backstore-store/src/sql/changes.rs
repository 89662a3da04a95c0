//! Whether a SQLite database has changed since a value was read from it, told without a read
//! transaction: what answers the service-state gate of every request from memory while nothing
//! was committed, and what tells a native reader whether the snapshot it kept is still the
//! database (see [`super::readers`]).
//!
//! A read transaction on a database in WAL mode takes and drops a lock on the WAL index (the
//! `-shm` file) with `fcntl`, and starts over with an empty page cache if anything was committed
//! since the connection's last one; the gate's read of a tenant's service status cost a seventh of
//! a GET of one session (`docs/performance.md`). The WAL index begins with a header that every
//! commit rewrites, in any process (its transaction counter, the log's last frame, the log's
//! salt; <https://www.sqlite.org/walformat.html>), kept twice and written second copy first: two
//! equal copies read at once are a header no commit was halfway through. So a value read after the
//! header was seen as `H` is still the database's while the header still reads `H`.

use std::collections::HashMap;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::Mutex;

/// The bytes of one copy of the WAL index header.
const HEADER: usize = 48;

/// The most tenants whose status is kept (all are dropped when a new one would pass it).
const MAX_KEPT: usize = 10_000;

/// A mark of the database's state: equal marks read at two moments mean nothing was committed
/// between them.
pub(super) type Mark = [u8; HEADER];

/// The WAL index of one database file, held open.
pub(super) struct Changes {
    /// A connection that has read: while it is open, SQLite keeps this WAL index file (the last
    /// connection to close, in any process, may remove it, and the next would make a new one).
    _holding: Mutex<rusqlite::Connection>,
    shm: std::fs::File,
    /// Each tenant's service status, and the mark read before it was.
    statuses: Mutex<HashMap<String, (Mark, Option<String>)>>,
}

impl Changes {
    /// The WAL index of the database file at `db` (in WAL mode already); `None` when it cannot be
    /// opened, and then every question goes to the database.
    pub fn open(db: &Path) -> Option<Changes> {
        let opened = (|| -> Result<Changes, Box<dyn std::error::Error>> {
            use rusqlite::OpenFlags;
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let holding = rusqlite::Connection::open_with_flags(db, flags)?;
            holding.pragma_update(None, "query_only", true)?;
            holding.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))?;
            let mut shm = db.as_os_str().to_owned();
            shm.push("-shm");
            let shm = std::fs::File::open(shm)?;
            Ok(Changes { _holding: Mutex::new(holding), shm, statuses: Mutex::default() })
        })();
        opened
            .map_err(|e| tracing::warn!(error = %e, "the WAL index cannot be watched; the gate reads the database"))
            .ok()
    }

    /// The database's mark now; `None` while a commit is rewriting it.
    pub fn mark(&self) -> Option<Mark> {
        self.now().map(|(mark, _)| mark)
    }

    /// The database's mark now, and whether every page of the log had been copied into the
    /// database file when it was read (a read transaction begun then reads the file alone); `None`
    /// while a commit is rewriting the mark.
    pub fn now(&self) -> Option<(Mark, bool)> {
        // The header twice, then the checkpoint's record, whose first field is how many of the
        // log's frames were copied back.
        let mut read = [0u8; 2 * HEADER + 4];
        self.shm.read_exact_at(&mut read, 0).ok()?;
        let (first, rest) = read.split_at(HEADER);
        let (second, backfill) = rest.split_at(HEADER);
        // Byte 12 is `isInit`: a header SQLite has not written yet is not a mark.
        if first != second || first[12] != 1 {
            return None;
        }
        // The log's last frame (bytes 16..20 of the header); both in the machine's byte order.
        let frames = u32::from_ne_bytes(first[16..20].try_into().expect("four bytes"));
        let copied = u32::from_ne_bytes(backfill.try_into().expect("four bytes"));
        Some((first.try_into().expect("one copy is a mark"), copied == frames))
    }

    /// `tenant`'s service status as read when the database's mark was `now`, if it was.
    pub fn status(&self, tenant: &str, now: &Mark) -> Option<Option<String>> {
        let statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        statuses.get(tenant).filter(|(seen, _)| seen == now).map(|(_, status)| status.clone())
    }

    /// Keeps `tenant`'s service status, read after the database's mark was `before`.
    pub fn keep(&self, tenant: &str, before: Mark, status: Option<String>) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        if statuses.len() >= MAX_KEPT && !statuses.contains_key(tenant) {
            statuses.clear();
        }
        statuses.insert(tenant.to_owned(), (before, status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_stays_while_only_reads_happen_and_moves_with_every_commit_of_any_connection() {
        let (_dir, path) = super::super::scratch_database();
        let writer = rusqlite::Connection::open(&path).unwrap();
        let changes = Changes::open(&path).unwrap();
        let first = changes.mark().unwrap();
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader.query_row("SELECT COUNT(*) FROM t", [], |_| Ok(())).unwrap();
        assert_eq!(changes.mark().unwrap(), first);

        changes.keep("a", first, Some("enabled".into()));
        assert_eq!(changes.status("a", &first), Some(Some("enabled".into())));
        assert_eq!(changes.status("b", &first), None);

        let mut seen = vec![first];
        for n in 0..3 {
            writer.execute("INSERT INTO t (n) VALUES (?)", [n]).unwrap();
            let now = changes.mark().unwrap();
            assert!(!seen.contains(&now), "a commit left the mark as it was");
            seen.push(now);
            assert_eq!(changes.status("a", &now), None);
        }
        // A checkpoint that starts the log over changes it too (the log's salt).
        writer.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        writer.execute("INSERT INTO t (n) VALUES (9)", []).unwrap();
        assert!(!seen.contains(&changes.mark().unwrap()));
    }
}
