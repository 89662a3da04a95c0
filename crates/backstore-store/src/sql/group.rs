//! Group commit on the native SQLite writer: the write transactions of one process that queue up
//! behind each other share one SQLite transaction, and so one commit.
//!
//! A commit writes every page its transaction dirtied to the write-ahead log; sixteen sessions of
//! fifty artifacts created one after the other each append to the same last pages of the artifacts'
//! table and indexes, and each wrote those pages again (the profile in `docs/performance.md`: a
//! fifth of a create was its commit, and the checkpoints copying those frames back another tenth).
//! So a writer that finds the transaction of the writers before it still open joins it: its work
//! runs inside a savepoint of its own (an error rolls back its work alone), and when it is done it
//! hands the connection to the next writer waiting, if there is one, or commits everything done so
//! far. Every writer of a group answers only after the group's commit, so nothing is acknowledged
//! before it is durable and visible to readers; within a group each writer sees the writes of the
//! ones before it, as it would after their commits.
//!
//! Whoever holds the connection without work of its own commits a group left open: a writer that
//! finished its part and waits (it waits for the commit or for its turn, whichever comes first),
//! one that leaves because its request went away, the checkpoint thread. So a group is committed
//! once nobody is waiting to add to it, however its writers end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The process's SQLite writer: its connection, the group of writes open on it, and how many
/// writers wait for their turn.
#[derive(Default)]
pub(crate) struct Writers {
    turn: Arc<tokio::sync::Mutex<Turn>>,
    /// Writers waiting for the turn to run their work (not those waiting for a commit).
    wanting: AtomicUsize,
}

/// What the turn holds.
#[derive(Default)]
pub(crate) struct Turn {
    /// The native writer connection, opened by the first writer.
    pub(crate) conn: Option<rusqlite::Connection>,
    /// The transaction open on `conn`, and how many writers finished their part of it.
    open: Option<(Arc<Group>, usize)>,
    /// How many groups were begun on `conn`.
    pub(crate) groups: u64,
}

/// One SQLite transaction shared by the writers that joined it: how it ended, once it has.
pub(crate) struct Group {
    ended: tokio::sync::watch::Sender<Option<Result<(), Failure>>>,
}

/// Why a group's transaction did not commit: SQLite's codes and message, which every writer of
/// the group is answered with.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    code: rusqlite::ffi::Error,
    message: String,
}

impl Failure {
    fn of(e: &rusqlite::Error) -> Failure {
        match e {
            rusqlite::Error::SqliteFailure(code, message) => {
                Failure { code: *code, message: message.clone().unwrap_or_else(|| code.to_string()) }
            }
            other => {
                Failure { code: rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR), message: other.to_string() }
            }
        }
    }

    fn error(self) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(self.code, Some(self.message))
    }
}

impl Group {
    fn new() -> Arc<Group> {
        Arc::new(Group { ended: tokio::sync::watch::Sender::new(None) })
    }

    fn end(&self, outcome: Result<(), Failure>) {
        self.ended.send_replace(Some(outcome));
    }

    fn has_ended(&self) -> bool {
        self.ended.borrow().is_some()
    }
}

impl Turn {
    /// The group open on the connection, if any.
    pub(crate) fn open_group(&self) -> Option<Arc<Group>> {
        self.open.as_ref().map(|(g, _)| g.clone())
    }

    /// Records a transaction just begun (`BEGIN IMMEDIATE` ran) as a new group.
    pub(crate) fn begin_group(&mut self) -> Arc<Group> {
        let group = Group::new();
        self.groups += 1;
        self.open = Some((group.clone(), 0));
        group
    }

    /// Notes that a writer's work in the open group is done (its savepoint released).
    pub(crate) fn finished(&mut self) {
        if let Some((_, done)) = &mut self.open {
            *done += 1;
        }
    }

    /// Ends the open group, if any: commits it when a writer finished its part, rolls it back when
    /// none did; every writer of it is told how it ended.
    pub(crate) fn settle(&mut self) {
        let Some((group, done)) = self.open.take() else { return };
        let Some(conn) = &self.conn else {
            group.end(Err(Failure::of(&rusqlite::Error::InvalidQuery)));
            return;
        };
        let ended = conn.execute_batch(if done == 0 { "ROLLBACK" } else { "COMMIT" });
        if ended.is_err() && !conn.is_autocommit() {
            // Whatever failed, the next writer must find the connection outside a transaction.
            let _ = conn.execute_batch("ROLLBACK");
        }
        group.end(ended.as_ref().map(|_| ()).map_err(Failure::of));
    }

    /// Ends `group` as [`Turn::settle`] does, if it is the one still open.
    fn settle_if(&mut self, group: &Arc<Group>) {
        if self.open.as_ref().is_some_and(|(open, _)| Arc::ptr_eq(open, group)) {
            self.settle();
        }
    }

    /// After a writer's statement failed: if SQLite ended the whole transaction (an I/O error, a
    /// full disk), the group is over and its finished writers are told so.
    pub(crate) fn lost(&mut self, e: &rusqlite::Error) {
        if let (Some(conn), Some((group, _))) = (&self.conn, &self.open) {
            if conn.is_autocommit() {
                group.end(Err(Failure::of(e)));
                self.open = None;
            }
        }
    }
}

/// The turn, held by a writer running its work.
pub(crate) type Held = tokio::sync::OwnedMutexGuard<Turn>;

impl Writers {
    /// Waits for the turn to run a writer's work.
    pub(crate) async fn take(self: &Arc<Self>) -> Held {
        let wanting = Wanting::new(self);
        let turn = self.turn.clone().lock_owned().await;
        wanting.got();
        turn
    }

    /// The turn, for serializing writes that do not run on the native connection (an in-memory
    /// database) or work that must hold the writers off (a checkpoint that starts the log over).
    pub(crate) fn blocking_turn(&self) -> tokio::sync::MutexGuard<'_, Turn> {
        let mut turn = self.turn.blocking_lock();
        turn.settle();
        turn
    }

    pub(crate) async fn turn(&self) -> tokio::sync::MutexGuard<'_, Turn> {
        self.turn.lock().await
    }

    /// Gives the turn up after a writer's part: commits the group when nobody waits to join it,
    /// otherwise hands it on.
    pub(crate) fn leave(self: &Arc<Self>, mut turn: Held) {
        if self.wanting.load(Ordering::SeqCst) == 0 {
            turn.settle();
        }
        drop(turn);
        self.settle_if_alone();
    }

    /// A group left open while nobody waits for the turn (the writers that were waiting went
    /// away after the last holder handed it on) is settled by whoever notices first.
    fn settle_if_alone(&self) {
        if self.wanting.load(Ordering::SeqCst) == 0 {
            if let Ok(mut turn) = self.turn.try_lock() {
                turn.settle();
            }
        }
    }

    /// Waits until `group` has ended, taking the turn to commit it if it comes first; how it ended.
    pub(crate) async fn outcome(self: &Arc<Self>, group: Arc<Group>) -> Result<(), rusqlite::Error> {
        let waiting = Waiting { writers: self.clone(), group };
        let mut ended = waiting.group.ended.subscribe();
        tokio::select! {
            biased;
            _ = ended.wait_for(Option::is_some) => {}
            mut turn = self.turn.clone().lock_owned() => turn.settle_if(&waiting.group),
        }
        let outcome = waiting.group.ended.borrow().clone();
        outcome.unwrap_or_else(|| Err(Failure::of(&rusqlite::Error::InvalidQuery))).map_err(Failure::error)
    }
}

/// Counts a writer among those waiting for the turn until it has it; one that goes away before
/// then may leave a group nobody else will commit.
struct Wanting<'a> {
    writers: &'a Arc<Writers>,
    got: bool,
}

impl<'a> Wanting<'a> {
    fn new(writers: &'a Arc<Writers>) -> Self {
        writers.wanting.fetch_add(1, Ordering::SeqCst);
        Wanting { writers, got: false }
    }

    fn got(mut self) {
        self.got = true;
    }
}

impl Drop for Wanting<'_> {
    fn drop(&mut self) {
        self.writers.wanting.fetch_sub(1, Ordering::SeqCst);
        if !self.got {
            self.writers.settle_if_alone();
        }
    }
}

/// A finished writer waiting for its group's commit; one whose request goes away meanwhile commits
/// the group if it can take the turn, so a group never waits on writers that are gone.
struct Waiting {
    writers: Arc<Writers>,
    group: Arc<Group>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.group.has_ended() {
            if let Ok(mut turn) = self.writers.turn.try_lock() {
                turn.settle_if(&self.group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future as _;
    use std::path::Path;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::super::read::Arg;
    use super::super::tx::{Tx, Writer};

    /// What another connection sees.
    fn rows(path: &Path) -> Vec<i64> {
        let c = rusqlite::Connection::open(path).unwrap();
        let mut stmt = c.prepare("SELECT n FROM t ORDER BY n").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }

    async fn until_wanting(writers: &Writer, n: usize) {
        while writers.wanting.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn queued_writers_share_a_commit_and_each_answers_once_its_write_is_visible() {
        let (_dir, path) = super::super::scratch_database();
        let writers = Writer::default();
        let mut first = Tx::native(&writers, &path).await.unwrap();
        let tasks: Vec<_> = (0..16i64)
            .map(|n| {
                let (writers, path) = (writers.clone(), path.clone());
                tokio::spawn(async move {
                    let mut tx = Tx::native(&writers, &path).await.unwrap();
                    tx.exec("INSERT INTO t (n, s) VALUES (?, 'x')", &[Arg::Int(n)]).await.unwrap();
                    if n == 5 {
                        // Fails after writing: its part alone is rolled back.
                        return tx.exec("INSERT INTO t (n, s) VALUES (100, 'again')", &[]).await.map(|_| n);
                    }
                    tx.commit().await?;
                    // Answered only once another connection sees the write.
                    assert!(rows(&path).contains(&n), "{n} answered before its commit");
                    Ok(n)
                })
            })
            .collect();
        until_wanting(&writers, 16).await;
        first.exec("INSERT INTO t (n, s) VALUES (100, 'first')", &[]).await.unwrap();
        first.commit().await.unwrap();
        let mut answered = Vec::new();
        for t in tasks {
            answered.push(t.await.unwrap());
        }
        assert_eq!(answered.iter().filter(|a| a.is_err()).count(), 1, "{answered:?}");
        let expected: Vec<i64> = (0..16).filter(|n| *n != 5).chain([100]).collect();
        assert_eq!(rows(&path), expected);
        let groups = writers.turn().await.groups;
        assert!(groups < 8, "17 writers in {groups} transactions");
    }

    #[tokio::test]
    async fn a_group_whose_writers_all_went_away_is_committed_and_lets_go_of_the_database() {
        let (_dir, path) = super::super::scratch_database();
        let writers = Writer::default();
        let mut first = Tx::native(&writers, &path).await.unwrap();
        let (w, p) = (writers.clone(), path.clone());
        let queued = tokio::spawn(async move {
            let mut tx = Tx::native(&w, &p).await.unwrap();
            tx.exec("INSERT INTO t (n, s) VALUES (2, 'never')", &[]).await.unwrap();
            tx.commit().await.unwrap();
        });
        until_wanting(&writers, 1).await;
        first.exec("INSERT INTO t (n, s) VALUES (1, 'done')", &[]).await.unwrap();
        // Its part done, it hands the turn on and waits; its client goes away meanwhile.
        let mut commit = Box::pin(first.commit());
        let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(commit.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "committed with a writer waiting to join");
        drop(commit);
        // And so does the writer it handed the turn to, before running.
        queued.abort();
        assert!(queued.await.unwrap_err().is_cancelled());
        assert_eq!(rows(&path), vec![1]);
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE; INSERT INTO t (n, s) VALUES (3, 'other'); COMMIT").unwrap();
        assert_eq!(rows(&path), vec![1, 3]);
    }
}
