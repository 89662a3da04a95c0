//! Garbage collection: removing what no snapshot and no live tree references, while writers go on.
//!
//! **Two phases with a grace period.** A collection marks everything reachable from the roots it is
//! given (every restore point's snapshot and every live tree of the tenant), then:
//! 1. condemns each recorded blob that is not reachable (the index notes when), and takes back any
//!    condemned blob that is reachable again;
//! 2. removes the blobs condemned for longer than the grace period and still unreachable;
//! 3. deletes packs no blob is recorded in any more, and packs in the object store that the index
//!    never recorded (a writer died between writing and recording), both once older than the grace;
//! 4. repacks packs that are mostly garbage: their live blobs are copied, still sealed, into a new
//!    pack and the index points at it; the old pack goes in step 3 of a later collection.
//!
//! Why this is safe without stopping writers: a writer deduplicates by asking the index whether a
//! blob is stored, and the index takes a condemned blob back as it answers yes (atomically with the
//! removal in phase 2, which only removes blobs still condemned). So a blob a writer decided to
//! reference is either taken back before the removal (and kept), or was removed before the writer
//! asked (and the writer stores it again). What a writer stored but has not referenced yet, and a
//! pack it wrote but has not recorded yet, are protected by the grace period: it must outlast the
//! longest write (the default, one hour, outlasts any single upload or restore step). Readers that
//! located a blob in a pack just before a repack moved it still find the old pack for the grace
//! period, and retry the lookup once if it is gone.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::TryStreamExt;
use serde::Serialize;

use crate::index::GcIndex;
use crate::pack::PackBuilder;
use crate::{pack, BlobId, ContentError, EntryKind, PackId, Repository};

/// How a collection runs.
#[derive(Clone, Debug)]
pub struct GcOptions {
    /// How long a blob stays condemned, and a pack unreferenced or unrecorded, before removal.
    pub grace: Duration,
    /// Packs whose live bytes are less than this share of their size are repacked.
    pub repack_below: f64,
    /// Report what would be done and do nothing.
    pub dry_run: bool,
    /// The time the collection takes as now (microseconds since the epoch).
    pub now: i64,
    /// Packs to keep whole whatever the index says: those a saved state of the store names (its
    /// own copy of the index points into them). They are neither deleted, nor repacked, nor taken
    /// for orphans.
    pub keep_packs: HashSet<PackId>,
}

impl GcOptions {
    /// One hour of grace, repacking below one half live, now.
    pub fn new() -> Self {
        GcOptions {
            grace: Duration::from_secs(3600),
            repack_below: 0.5,
            dry_run: false,
            now: chrono::Utc::now().timestamp_micros(),
            keep_packs: HashSet::new(),
        }
    }
}

impl Default for GcOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// What one collection of one tenant did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    pub reachable_blobs: u64,
    pub condemned_blobs: u64,
    pub taken_back_blobs: u64,
    pub removed_blobs: u64,
    /// Sealed bytes of the removed blobs (freed once their packs go or are repacked).
    pub removed_blob_bytes: u64,
    pub deleted_packs: u64,
    pub orphan_packs: u64,
    pub repacked_packs: u64,
    /// Bytes removed from the object store (deleted and orphan packs).
    pub freed_bytes: u64,
    /// Bytes written by repacking.
    pub repack_written_bytes: u64,
}

impl<I: GcIndex> Repository<I> {
    /// Everything reachable from the roots: their manifests and chunks. Fails, and so stops a
    /// collection before it condemns anything, if a manifest cannot be read.
    pub async fn reachable(&self, tenant: &str, roots: &[BlobId]) -> Result<HashSet<BlobId>, ContentError> {
        let mut seen = HashSet::new();
        let mut stack: Vec<BlobId> = roots.to_vec();
        while let Some(tree_id) = stack.pop() {
            if !seen.insert(tree_id) {
                continue;
            }
            for entry in self.read_tree(tenant, &tree_id).await?.entries {
                match entry.kind {
                    EntryKind::Folder => stack.extend(entry.tree),
                    EntryKind::File => seen.extend(entry.chunks.iter().map(|c| c.id)),
                }
            }
        }
        Ok(seen)
    }

    /// Collects one tenant's garbage; `roots` must be every snapshot and live tree of the tenant.
    pub async fn collect_garbage(
        &self,
        tenant: &str,
        roots: &[BlobId],
        options: &GcOptions,
    ) -> Result<GcReport, ContentError> {
        let index = |e| ContentError::Index(e);
        let reachable = self.reachable(tenant, roots).await?;
        let cutoff = options.now - i64::try_from(options.grace.as_micros()).unwrap_or(i64::MAX);
        let mut report = GcReport { reachable_blobs: reachable.len() as u64, ..GcReport::default() };

        // Phases one and two: condemn, take back, remove.
        let blobs = self.index().blobs(tenant).await.map_err(index)?;
        let mut to_condemn = Vec::new();
        let mut to_take_back = Vec::new();
        let mut expired = Vec::new();
        for b in &blobs {
            match (reachable.contains(&b.id), b.condemned_at) {
                (true, Some(_)) => to_take_back.push(b.id),
                (false, None) => to_condemn.push(b.id),
                (false, Some(at)) if at < cutoff => expired.push(b.id),
                _ => {}
            }
        }
        let lengths: HashMap<BlobId, u64> = blobs.iter().map(|b| (b.id, u64::from(b.location.length))).collect();
        let removed: HashSet<BlobId> = if options.dry_run {
            report.condemned_blobs = to_condemn.len() as u64;
            report.taken_back_blobs = to_take_back.len() as u64;
            expired.iter().copied().collect()
        } else {
            report.condemned_blobs = self.index().condemn(tenant, &to_condemn, options.now).await.map_err(index)?;
            report.taken_back_blobs = self.index().take_back(tenant, &to_take_back).await.map_err(index)?;
            self.index().remove_condemned(tenant, &expired, cutoff).await.map_err(index)?.into_iter().collect()
        };
        report.removed_blobs = removed.len() as u64;
        report.removed_blob_bytes = removed.iter().filter_map(|id| lengths.get(id)).sum();

        // Live bytes per pack, after the removals.
        let mut live: HashMap<PackId, u64> = HashMap::new();
        for b in blobs.iter().filter(|b| !removed.contains(&b.id)) {
            *live.entry(b.location.pack).or_default() += u64::from(b.location.length);
        }

        // Phase three and four: empty packs go, mostly-garbage packs are repacked.
        let packs = self.index().packs(tenant).await.map_err(index)?;
        for p in packs.iter().filter(|p| p.created_at < cutoff && !options.keep_packs.contains(&p.id)) {
            let live_bytes = live.get(&p.id).copied().unwrap_or(0);
            if live_bytes == 0 {
                if options.dry_run || self.index().remove_pack(tenant, &p.id).await.map_err(index)? {
                    if !options.dry_run {
                        self.objects().delete_pack(tenant, &p.id).await?;
                    }
                    report.deleted_packs += 1;
                    report.freed_bytes += p.size;
                }
            } else if (live_bytes as f64) < options.repack_below * p.size as f64 {
                report.repacked_packs += 1;
                if !options.dry_run {
                    report.repack_written_bytes += self.repack(tenant, &p.id, &removed).await?;
                }
            }
        }

        // Packs the index never recorded (a writer died between writing one and recording it),
        // against the index as it is now (with the packs repacking just wrote).
        let recorded: HashSet<PackId> = self.index().packs(tenant).await.map_err(index)?.iter().map(|p| p.id).collect();
        let stored: Vec<_> = self.objects().list_packs(tenant).try_collect().await?;
        for s in stored {
            let kept = recorded.contains(&s.id) || options.keep_packs.contains(&s.id);
            if !kept && s.modified.timestamp_micros() < cutoff {
                if !options.dry_run {
                    self.objects().delete_pack(tenant, &s.id).await?;
                }
                report.orphan_packs += 1;
                report.freed_bytes += s.size;
            }
        }
        Ok(report)
    }

    /// Copies the live blobs of a pack, still sealed, into a new pack and points the index at it;
    /// the bytes written.
    async fn repack(&self, tenant: &str, pack_id: &PackId, removed: &HashSet<BlobId>) -> Result<u64, ContentError> {
        let keys = self.keys().tenant(tenant)?;
        let bytes = self.objects().read_pack(tenant, pack_id).await?;
        let entries = pack::read_trailer(&keys, pack_id, &bytes).map_err(|reason| ContentError::Corrupt {
            pack: *pack_id,
            id: *pack_id,
            reason,
        })?;
        let mut builder = PackBuilder::new();
        for e in entries.iter().filter(|e| !removed.contains(&e.id)) {
            // Only blobs the index still places in this pack (not a second copy kept elsewhere).
            let at = self.index().locate(tenant, &e.id).await.map_err(ContentError::Index)?;
            if at.is_some_and(|at| at.pack == *pack_id && at.offset == e.offset) {
                builder.push(e.kind, e.id, bytes.slice(e.offset as usize..(e.offset + e.length) as usize));
            }
        }
        if builder.is_empty() {
            return Ok(0);
        }
        let fresh = builder.finish(&keys);
        self.objects().put_pack(tenant, &fresh.id, fresh.parts).await?;
        self.index()
            .move_blobs(tenant, pack_id, &fresh.id, fresh.size, &fresh.entries)
            .await
            .map_err(ContentError::Index)?;
        Ok(fresh.size)
    }
}
