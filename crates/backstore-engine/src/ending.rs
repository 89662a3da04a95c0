//! Group commit of job ends. A worker holding many restores that take no time would otherwise
//! commit one transaction per job; here each job's end joins a queue, and whichever job gets a turn
//! commits every end queued by then in one [`Store::finish_jobs`] call. Under no load a batch is
//! one job and nothing waits; under load the batches grow while the batches in flight commit.
//!
//! Two turns, not one: a batch can spend most of its time waiting for the tenant's write lock
//! behind the API's writes (PostgreSQL's advisory lock), and with one turn the ends that came in
//! meanwhile would wait out that whole wait and then one of their own (measured: activations on
//! PostgreSQL took twice as long). With two, the next batch is already in the lock's queue.

use std::sync::Mutex;

use backstore_domain::Timestamp;
use backstore_store::{JobEnd, Store, StoreResult};
use tokio::sync::oneshot;

type Waiting = (JobEnd, oneshot::Sender<StoreResult<bool>>);

/// Batches committing or waiting to, at most.
const TURNS: usize = 2;

pub(crate) struct Ender {
    queued: Mutex<Vec<Waiting>>,
    turns: tokio::sync::Semaphore,
}

impl Default for Ender {
    fn default() -> Self {
        Ender { queued: Mutex::default(), turns: tokio::sync::Semaphore::new(TURNS) }
    }
}

impl Ender {
    /// Ends `end`'s job, with whatever other ends are queued. Returns whether its lease was still
    /// held (false: another worker has the job).
    pub(crate) async fn end(&self, store: &Store, end: JobEnd, now: impl Fn() -> Timestamp) -> StoreResult<bool> {
        let (done, result) = oneshot::channel();
        self.queued.lock().expect("not poisoned").push((end, done));
        {
            let _turn = self.turns.acquire().await.expect("the semaphore is never closed");
            let batch = std::mem::take(&mut *self.queued.lock().expect("not poisoned"));
            if !batch.is_empty() {
                commit(store, batch, now()).await;
            }
        }
        // A turn holder dropped mid-commit (shutdown aborting the worker's tasks) leaves the ends it
        // took unknown, as a lost lease does: the job was committed done, or its lease expires and
        // it runs again.
        result.await.unwrap_or(Ok(false))
    }
}

/// Commits `batch` in one call; if that fails, each end alone, so one end that cannot commit does
/// not fail the others.
async fn commit(store: &Store, batch: Vec<Waiting>, now: Timestamp) {
    let (ends, replies): (Vec<JobEnd>, Vec<_>) = batch.into_iter().unzip();
    match store.finish_jobs(&ends, now).await {
        Ok(held) => {
            for (reply, h) in replies.into_iter().zip(held) {
                let _ = reply.send(Ok(h));
            }
        }
        Err(e) if ends.len() == 1 => {
            let _ = replies.into_iter().next().map(|r| r.send(Err(e)));
        }
        Err(_) => {
            for (end, reply) in ends.into_iter().zip(replies) {
                let one = store.finish_jobs(std::slice::from_ref(&end), now).await;
                let _ = reply.send(one.map(|held| held.first() == Some(&true)));
            }
        }
    }
}
