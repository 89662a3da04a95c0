//! WAL checkpoints of a SQLite file, off the write path.
//!
//! SQLite copies the write-ahead log back into the database file (a checkpoint) from the connection
//! whose commit pushed the log past 1,000 pages, before that commit returns, and the checkpoint
//! waits for the disk twice (`fsync` of the log, then of the database). With one writer at a time,
//! every writer queued behind that one waited too: the profile of sixteen concurrent creates found
//! the process idle half the time, its threads asleep in `fsync`. So the native writer connection
//! checkpoints only past a backstop far above SQLite's default, and a thread runs a passive
//! checkpoint on a connection of its own shortly after writes, without the write lock, so writers
//! append to the log meanwhile. The log starts over only when a writer finds all of it copied, which under a steady
//! stream of writes a checkpoint running beside them never achieves; so once the log passes
//! [`RESTART_PAGES`], the thread takes its turn among the process's writers and checkpoints the few
//! pages written since its unlocked round (one short `fsync`), and the next writer starts the log over.
//! Every round, the thread first has the readers let go of the snapshots they kept of the database
//! as it was before a commit (see [`super::readers`]); each would keep the checkpoint from copying
//! what that commit wrote.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::readers::Readers;

/// How soon after a commit its pages are checkpointed (at most).
const EVERY: Duration = Duration::from_millis(100);

/// The log's size, in pages, past which a round finishes with the writers held off, so that the log
/// starts over (4,096 pages: 16 MiB). Should writes outrun the thread, the writer checkpoints by
/// itself past four times as much ([`WRITER_BACKSTOP_PAGES`]), as SQLite does by default.
const RESTART_PAGES: i64 = 4096;

/// The writer connection's own `wal_autocheckpoint`: a bound on the log the thread did not keep.
pub(super) const WRITER_BACKSTOP_PAGES: i64 = 4 * RESTART_PAGES;

/// The flag writers raise after a commit, and the thread that checkpoints when it is raised.
#[derive(Debug, Default)]
pub(super) struct Checkpoints {
    written: AtomicBool,
}

impl Checkpoints {
    /// Starts the checkpoint thread of the database file `readers` read; it ends once the returned
    /// handle is dropped.
    pub fn start(readers: &Arc<Readers>, writer: &Arc<super::group::Writers>) -> Arc<Checkpoints> {
        let flag = Arc::new(Checkpoints::default());
        let path = readers.path().to_owned();
        let (weak, readers, writer) = (Arc::downgrade(&flag), Arc::downgrade(readers), Arc::downgrade(writer));
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&path, &weak, &readers, &writer));
        if let Err(e) = spawned {
            // Without the thread only the writer's backstop bounds the log; say so.
            tracing::error!(error = %e, "could not start the SQLite checkpoint thread");
        }
        flag
    }

    /// Notes that a transaction committed: the next round checkpoints.
    pub fn written(&self) {
        self.written.store(true, Ordering::Relaxed);
    }
}

/// A passive checkpoint: how many pages the log holds after it.
pub(super) fn checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    // (busy, pages in the log, pages copied); a busy or partial round is finished by the next.
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
}

fn run(
    path: &std::path::Path,
    flag: &Weak<Checkpoints>,
    readers: &Weak<Readers>,
    writer: &Weak<super::group::Writers>,
) {
    let mut conn: Option<rusqlite::Connection> = None;
    loop {
        std::thread::sleep(EVERY);
        let Some(f) = flag.upgrade() else { return };
        // Whoever committed (this process or another), the snapshots idle readers kept of the
        // database before it are let go first: they would keep this round from copying the log.
        if let Some(r) = readers.upgrade() {
            r.release_stale();
        }
        if !f.written.swap(false, Ordering::Relaxed) {
            continue;
        }
        drop(f);
        if conn.is_none() {
            use rusqlite::OpenFlags;
            // Never creates the file: a database that is gone is not checkpointed into a new one.
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            conn = rusqlite::Connection::open_with_flags(path, flags)
                .map_err(|e| tracing::warn!(error = %e, "checkpoint connection"))
                .ok();
        }
        let Some(c) = &conn else {
            // Tried again next round.
            if let Some(f) = flag.upgrade() {
                f.written();
            }
            continue;
        };
        let round = checkpoint(c).and_then(|pages| match (pages > RESTART_PAGES, writer.upgrade()) {
            (true, Some(w)) => {
                let _turn = w.blocking_turn();
                checkpoint(c)
            }
            _ => Ok(pages),
        });
        if let Err(e) = round {
            tracing::warn!(error = %e, "SQLite checkpoint failed; retrying");
            if let Some(f) = flag.upgrade() {
                f.written();
            }
            conn = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_pages_reach_the_database_file_without_the_writer_checkpointing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (s TEXT)")
            .unwrap();
        let readers = Arc::new(Readers::of_url(&format!("sqlite:{}", path.display())).unwrap());
        let checkpoints = Checkpoints::start(&readers, &Arc::default());
        for _ in 0..200 {
            writer.execute("INSERT INTO t VALUES (?)", [&"x".repeat(4000)]).unwrap();
        }
        let db_len = || std::fs::metadata(&path).unwrap().len();
        assert!(db_len() < 100_000, "the writer checkpointed by itself");
        checkpoints.written();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while db_len() < 800_000 {
            assert!(std::time::Instant::now() < deadline, "no checkpoint within 5 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
