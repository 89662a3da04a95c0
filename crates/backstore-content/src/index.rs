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
#[derive(Default)]
pub struct MemoryIndex {
    blobs: Mutex<HashMap<(String, BlobId), Location>>,
    packs: Mutex<HashMap<(String, PackId), u64>>,
}

impl MemoryIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// The packs recorded for a tenant, with their sizes.
    pub fn packs(&self, tenant: &str) -> Vec<(PackId, u64)> {
        let mut out: Vec<_> = self
            .packs
            .lock()
            .expect("index lock")
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|((_, p), s)| (*p, *s))
            .collect();
        out.sort();
        out
    }

    pub fn blob_count(&self, tenant: &str) -> usize {
        self.blobs.lock().expect("index lock").keys().filter(|(t, _)| t == tenant).count()
    }
}

impl ChunkIndex for MemoryIndex {
    async fn contains(&self, tenant: &str, id: &BlobId) -> Result<bool, IndexError> {
        Ok(self.blobs.lock().expect("index lock").contains_key(&(tenant.to_owned(), *id)))
    }

    async fn locate(&self, tenant: &str, id: &BlobId) -> Result<Option<Location>, IndexError> {
        Ok(self.blobs.lock().expect("index lock").get(&(tenant.to_owned(), *id)).copied())
    }

    async fn record_pack(
        &self,
        tenant: &str,
        pack: &PackId,
        size: u64,
        entries: &[PackEntry],
    ) -> Result<(), IndexError> {
        self.packs.lock().expect("index lock").insert((tenant.to_owned(), *pack), size);
        let mut blobs = self.blobs.lock().expect("index lock");
        for e in entries {
            blobs.entry((tenant.to_owned(), e.id)).or_insert(Location {
                pack: *pack,
                kind: e.kind,
                offset: e.offset,
                length: e.length,
            });
        }
        Ok(())
    }
}

impl<T: ChunkIndex> ChunkIndex for &T {
    fn contains(&self, tenant: &str, id: &BlobId) -> impl Future<Output = Result<bool, IndexError>> + Send {
        (**self).contains(tenant, id)
    }

    fn locate(&self, tenant: &str, id: &BlobId) -> impl Future<Output = Result<Option<Location>, IndexError>> + Send {
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

impl<T: ChunkIndex> ChunkIndex for std::sync::Arc<T> {
    fn contains(&self, tenant: &str, id: &BlobId) -> impl Future<Output = Result<bool, IndexError>> + Send {
        (**self).contains(tenant, id)
    }

    fn locate(&self, tenant: &str, id: &BlobId) -> impl Future<Output = Result<Option<Location>, IndexError>> + Send {
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
