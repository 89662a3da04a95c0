//! The chunk index: which pack holds which blob. Its real home is the SQL store (so every process
//! sees the same index); [`MemoryIndex`] serves tests and one-off tools.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use crate::pack::PackEntry;
use crate::{BlobId, BlobKind, PackId};

/// What an index implementation fails with (the content crate does not know its database).
pub type IndexError = Box<dyn std::error::Error + Send + Sync>;

/// Where a blob's sealed bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub pack: PackId,
    pub kind: BlobKind,
    pub offset: u32,
    pub length: u32,
}

/// The contract between content writers and the index.
///
/// Writers upload a pack first and record it after, so the index never names a pack that is not
/// stored (a pack stored but never recorded is an orphan that garbage collection removes). Two
/// writers may store the same blob at once; the first record wins and the other copy is garbage.
pub trait ChunkIndex: Send + Sync {
    /// Whether the blob is stored, so a writer can skip it. An index that collects garbage in two
    /// phases must take the blob back from "condemned" as it answers `true`: the writer is about to
    /// reference it.
    fn contains(&self, tenant: &str, id: &BlobId) -> impl Future<Output = Result<bool, IndexError>> + Send;

    /// Where the blob is, if stored.
    fn locate(&self, tenant: &str, id: &BlobId) -> impl Future<Output = Result<Option<Location>, IndexError>> + Send;

    /// Records a pack that is now stored and the blobs it holds. Blobs already recorded elsewhere
    /// keep their first location.
    fn record_pack(
        &self,
        tenant: &str,
        pack: &PackId,
        size: u64,
        entries: &[PackEntry],
    ) -> impl Future<Output = Result<(), IndexError>> + Send;
}

/// An index in memory, for tests and tools that run alone.
#[allow(clippy::type_complexity)] // two maps, each described where it is declared
#[derive(Default)]
pub struct MemoryIndex {
    /// (tenant, blob) → where, and when condemned.
    blobs: Mutex<HashMap<(String, BlobId), (Location, Option<i64>)>>,
    /// (tenant, pack) → size, recorded at.
    packs: Mutex<HashMap<(String, PackId), (u64, i64)>>,
}

impl MemoryIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// The packs recorded for a tenant, with their sizes.
    pub fn pack_sizes(&self, tenant: &str) -> Vec<(PackId, u64)> {
        let mut out: Vec<_> = self
            .packs
            .lock()
            .expect("index lock")
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|((_, p), (s, _))| (*p, *s))
            .collect();
        out.sort();
        out
    }

    /// Backdates every record of a tenant by `micros` (tests of grace periods).
    pub fn backdate(&self, tenant: &str, micros: i64) {
        for ((t, _), (_, created)) in self.packs.lock().expect("index lock").iter_mut() {
            if t == tenant {
                *created -= micros;
            }
        }
        for ((t, _), (_, condemned)) in self.blobs.lock().expect("index lock").iter_mut() {
            if let (true, Some(at)) = (t == tenant, condemned.as_mut()) {
                *at -= micros;
            }
        }
    }

    pub fn blob_count(&self, tenant: &str) -> usize {
        self.blobs.lock().expect("index lock").keys().filter(|(t, _)| t == tenant).count()
    }
}

impl ChunkIndex for MemoryIndex {
    async fn contains(&self, tenant: &str, id: &BlobId) -> Result<bool, IndexError> {
        match self.blobs.lock().expect("index lock").get_mut(&(tenant.to_owned(), *id)) {
            Some((_, condemned)) => {
                *condemned = None;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn locate(&self, tenant: &str, id: &BlobId) -> Result<Option<Location>, IndexError> {
        Ok(self.blobs.lock().expect("index lock").get(&(tenant.to_owned(), *id)).map(|(at, _)| *at))
    }

    async fn record_pack(
        &self,
        tenant: &str,
        pack: &PackId,
        size: u64,
        entries: &[PackEntry],
    ) -> Result<(), IndexError> {
        let now = chrono::Utc::now().timestamp_micros();
        self.packs.lock().expect("index lock").entry((tenant.to_owned(), *pack)).or_insert((size, now));
        let mut blobs = self.blobs.lock().expect("index lock");
        for e in entries {
            blobs.entry((tenant.to_owned(), e.id)).or_insert((located(pack, e), None));
        }
        Ok(())
    }
}

fn located(pack: &PackId, e: &PackEntry) -> Location {
    Location { pack: *pack, kind: e.kind, offset: e.offset, length: e.length }
}

/// A blob as the index holds it, for garbage collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexedBlob {
    pub id: BlobId,
    pub location: Location,
    /// When a collection found it referenced by nothing (microseconds since the epoch, real time).
    pub condemned_at: Option<i64>,
}

/// A pack as the index holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexedPack {
    pub id: PackId,
    pub size: u64,
    /// When it was recorded (microseconds since the epoch, real time).
    pub created_at: i64,
}

/// What garbage collection needs of an index besides what writers and readers need. Each method
/// is atomic on its own, so writers may go on while a collection runs (see [`crate::gc`]).
pub trait GcIndex: ChunkIndex {
    /// The tenants with content.
    fn tenants(&self) -> impl Future<Output = Result<Vec<String>, IndexError>> + Send;
    fn blobs(&self, tenant: &str) -> impl Future<Output = Result<Vec<IndexedBlob>, IndexError>> + Send;
    fn packs(&self, tenant: &str) -> impl Future<Output = Result<Vec<IndexedPack>, IndexError>> + Send;
    /// Marks these blobs condemned at `at`, those not condemned yet; how many it marked.
    fn condemn(&self, tenant: &str, ids: &[BlobId], at: i64) -> impl Future<Output = Result<u64, IndexError>> + Send;
    /// Clears the mark of these blobs (found referenced again); how many it cleared.
    fn take_back(&self, tenant: &str, ids: &[BlobId]) -> impl Future<Output = Result<u64, IndexError>> + Send;
    /// Removes those of these blobs that are still condemned, since before `before`; which it removed.
    fn remove_condemned(
        &self,
        tenant: &str,
        ids: &[BlobId],
        before: i64,
    ) -> impl Future<Output = Result<Vec<BlobId>, IndexError>> + Send;
    /// Records a pack written by repacking and points the blobs it holds at it, those still
    /// recorded in `from` (a blob removed meanwhile stays removed).
    fn move_blobs(
        &self,
        tenant: &str,
        from: &PackId,
        to: &PackId,
        size: u64,
        entries: &[PackEntry],
    ) -> impl Future<Output = Result<(), IndexError>> + Send;
    /// Forgets a pack that no blob is recorded in; false if some blob still is.
    fn remove_pack(&self, tenant: &str, pack: &PackId) -> impl Future<Output = Result<bool, IndexError>> + Send;
}

impl GcIndex for MemoryIndex {
    async fn tenants(&self) -> Result<Vec<String>, IndexError> {
        let mut out: Vec<String> = self.packs.lock().expect("index lock").keys().map(|(t, _)| t.clone()).collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn blobs(&self, tenant: &str) -> Result<Vec<IndexedBlob>, IndexError> {
        let blobs = self.blobs.lock().expect("index lock");
        Ok(blobs
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|((_, id), (location, condemned_at))| IndexedBlob {
                id: *id,
                location: *location,
                condemned_at: *condemned_at,
            })
            .collect())
    }

    async fn packs(&self, tenant: &str) -> Result<Vec<IndexedPack>, IndexError> {
        let packs = self.packs.lock().expect("index lock");
        Ok(packs
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|((_, id), (size, created_at))| IndexedPack { id: *id, size: *size, created_at: *created_at })
            .collect())
    }

    async fn condemn(&self, tenant: &str, ids: &[BlobId], at: i64) -> Result<u64, IndexError> {
        let mut blobs = self.blobs.lock().expect("index lock");
        let mut n = 0;
        for id in ids {
            if let Some((_, c @ None)) = blobs.get_mut(&(tenant.to_owned(), *id)) {
                *c = Some(at);
                n += 1;
            }
        }
        Ok(n)
    }

    async fn take_back(&self, tenant: &str, ids: &[BlobId]) -> Result<u64, IndexError> {
        let mut blobs = self.blobs.lock().expect("index lock");
        let mut n = 0;
        for id in ids {
            if let Some((_, c @ Some(_))) = blobs.get_mut(&(tenant.to_owned(), *id)) {
                *c = None;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn remove_condemned(&self, tenant: &str, ids: &[BlobId], before: i64) -> Result<Vec<BlobId>, IndexError> {
        let mut blobs = self.blobs.lock().expect("index lock");
        let mut removed = Vec::new();
        for id in ids {
            let key = (tenant.to_owned(), *id);
            if matches!(blobs.get(&key), Some((_, Some(at))) if *at < before) {
                blobs.remove(&key);
                removed.push(*id);
            }
        }
        Ok(removed)
    }

    async fn move_blobs(
        &self,
        tenant: &str,
        from: &PackId,
        to: &PackId,
        size: u64,
        entries: &[PackEntry],
    ) -> Result<(), IndexError> {
        let now = chrono::Utc::now().timestamp_micros();
        self.packs.lock().expect("index lock").entry((tenant.to_owned(), *to)).or_insert((size, now));
        let mut blobs = self.blobs.lock().expect("index lock");
        for e in entries {
            if let Some((at, _)) = blobs.get_mut(&(tenant.to_owned(), e.id)) {
                if at.pack == *from {
                    *at = located(to, e);
                }
            }
        }
        Ok(())
    }

    async fn remove_pack(&self, tenant: &str, pack: &PackId) -> Result<bool, IndexError> {
        let blobs = self.blobs.lock().expect("index lock");
        if blobs.iter().any(|((t, _), (at, _))| t == tenant && at.pack == *pack) {
            return Ok(false);
        }
        self.packs.lock().expect("index lock").remove(&(tenant.to_owned(), *pack));
        Ok(true)
    }
}

/// An index behind a reference or an `Arc` is the index.
macro_rules! forward_index {
    ($($holder:ty),*) => {$(
        impl<T: ChunkIndex> ChunkIndex for $holder {
            fn contains(&self, tenant: &str, id: &BlobId) -> impl Future<Output = Result<bool, IndexError>> + Send {
                (**self).contains(tenant, id)
            }

            fn locate(
                &self,
                tenant: &str,
                id: &BlobId,
            ) -> impl Future<Output = Result<Option<Location>, IndexError>> + Send {
                (**self).locate(tenant, id)
            }

            fn record_pack(
                &self,
                tenant: &str,
                pack: &PackId,
                size: u64,
                entries: &[PackEntry],
            ) -> impl Future<Output = Result<(), IndexError>> + Send {
                (**self).record_pack(tenant, pack, size, entries)
            }
        }

        impl<T: GcIndex> GcIndex for $holder {
            fn tenants(&self) -> impl Future<Output = Result<Vec<String>, IndexError>> + Send {
                (**self).tenants()
            }

            fn blobs(&self, tenant: &str) -> impl Future<Output = Result<Vec<IndexedBlob>, IndexError>> + Send {
                (**self).blobs(tenant)
            }

            fn packs(&self, tenant: &str) -> impl Future<Output = Result<Vec<IndexedPack>, IndexError>> + Send {
                (**self).packs(tenant)
            }

            fn condemn(
                &self,
                tenant: &str,
                ids: &[BlobId],
                at: i64,
            ) -> impl Future<Output = Result<u64, IndexError>> + Send {
                (**self).condemn(tenant, ids, at)
            }

            fn take_back(&self, tenant: &str, ids: &[BlobId]) -> impl Future<Output = Result<u64, IndexError>> + Send {
                (**self).take_back(tenant, ids)
            }

            fn remove_condemned(
                &self,
                tenant: &str,
                ids: &[BlobId],
                before: i64,
            ) -> impl Future<Output = Result<Vec<BlobId>, IndexError>> + Send {
                (**self).remove_condemned(tenant, ids, before)
            }

            fn move_blobs(
                &self,
                tenant: &str,
                from: &PackId,
                to: &PackId,
                size: u64,
                entries: &[PackEntry],
            ) -> impl Future<Output = Result<(), IndexError>> + Send {
                (**self).move_blobs(tenant, from, to, size, entries)
            }

            fn remove_pack(&self, tenant: &str, pack: &PackId) -> impl Future<Output = Result<bool, IndexError>> + Send {
                (**self).remove_pack(tenant, pack)
            }
        }
    )*};
}

forward_index!(&T, std::sync::Arc<T>);
