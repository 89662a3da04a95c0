//! After a key rotation: re-sealing what older data keys sealed, and finding which keys are still
//! in use so the others can be retired.
//!
//! Re-sealing works like repacking: a pack holding any blob (or a trailer) sealed under an older key
//! is read whole, checked, and its blobs that the index still places there are written to a new
//! pack, opened and sealed again under the current key where needed; the index then points at the
//! new pack. The old pack is garbage that collection deletes after its grace period, like a
//! repacked one; until then it still holds the old key's blobs, so a key is retired only once no
//! stored pack uses it ([`Repository::keys_in_use`] reads them all).

use std::collections::BTreeMap;

use futures::TryStreamExt;
use serde::Serialize;

use crate::index::GcIndex;
use crate::pack::{self, PackBuilder};
use crate::{codec, ContentError, PackId, Repository};

/// What a re-sealing did (or, dry, would do).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResealReport {
    /// The key new blobs are sealed under, which re-sealed ones now are too.
    pub current_key: u32,
    pub packs_read: u64,
    /// Packs written anew, and the blobs in them sealed again (a dry run counts the blobs of
    /// every pack it would read again, garbage included).
    pub packs_rewritten: u64,
    pub blobs_resealed: u64,
    pub bytes_written: u64,
}

fn corrupt(pack: PackId) -> impl Fn(String) -> ContentError {
    move |reason| ContentError::Corrupt { pack, id: pack, reason }
}

impl<I: GcIndex> Repository<I> {
    /// Re-seals under the current data key every blob the index places in a pack that uses an
    /// older key. Safe while writers run (see the module's note).
    pub async fn reseal(&self, tenant: &str, dry_run: bool) -> Result<ResealReport, ContentError> {
        let keys = self.keys().reload(tenant)?;
        let current = keys.current().0;
        let mut report = ResealReport { current_key: current, ..Default::default() };
        for recorded in self.index().packs(tenant).await.map_err(ContentError::Index)? {
            let id = recorded.id;
            let bytes = self.objects().read_pack(tenant, &id).await?;
            report.packs_read += 1;
            let entries = pack::read_trailer(&keys, &id, &bytes).map_err(corrupt(id))?;
            let old = |sealed: &[u8]| codec::key_version(sealed).is_some_and(|v| v != current);
            let stale =
                entries.iter().filter(|e| old(&bytes[e.offset as usize..(e.offset + e.length) as usize])).count()
                    as u64;
            if stale == 0 && pack::trailer_key(&bytes) == Some(current) {
                continue;
            }
            if dry_run {
                report.packs_rewritten += 1;
                report.blobs_resealed += stale;
                continue;
            }
            let mut resealed = 0;
            let mut builder = PackBuilder::new();
            for e in &entries {
                // Only blobs the index still places here (not garbage, not a copy kept elsewhere).
                let at = self.index().locate(tenant, &e.id).await.map_err(ContentError::Index)?;
                if !at.is_some_and(|at| at.pack == id && at.offset == e.offset) {
                    continue;
                }
                let sealed = bytes.slice(e.offset as usize..(e.offset + e.length) as usize);
                if old(&sealed) {
                    let (keys, kind, blob) = (keys.clone(), e.kind, e.id);
                    let fresh = tokio::task::spawn_blocking(move || {
                        codec::open(&keys, kind, &blob, &sealed).map(|plain| codec::seal(&keys, kind, &blob, &plain))
                    })
                    .await
                    .expect("sealing does not panic")
                    .map_err(corrupt(id))?;
                    builder.push(e.kind, e.id, fresh);
                    resealed += 1;
                } else {
                    builder.push(e.kind, e.id, sealed);
                }
            }
            if builder.is_empty() {
                continue;
            }
            let fresh = builder.finish(&keys);
            self.objects().put_pack(tenant, &fresh.id, fresh.parts).await?;
            self.index()
                .move_blobs(tenant, &id, &fresh.id, fresh.size, &fresh.entries)
                .await
                .map_err(ContentError::Index)?;
            report.packs_rewritten += 1;
            report.blobs_resealed += resealed;
            report.bytes_written += fresh.size;
        }
        Ok(report)
    }

    /// For each data key number, how many blobs (trailers included) of the packs in the object
    /// store are sealed under it: recorded or not, garbage or not, since all of them are readable
    /// bytes that a retired key would strand.
    pub async fn keys_in_use(&self, tenant: &str) -> Result<BTreeMap<u32, u64>, ContentError> {
        let keys = self.keys().reload(tenant)?;
        let stored: Vec<_> = self.objects().list_packs(tenant).try_collect().await?;
        let mut used = BTreeMap::new();
        for s in stored {
            let bytes = self.objects().read_pack(tenant, &s.id).await?;
            let entries = pack::read_trailer(&keys, &s.id, &bytes).map_err(corrupt(s.id))?;
            let sealed = entries.iter().map(|e| &bytes[e.offset as usize..(e.offset + e.length) as usize]);
            for version in sealed.filter_map(codec::key_version).chain(pack::trailer_key(&bytes)) {
                *used.entry(version).or_insert(0) += 1;
            }
        }
        Ok(used)
    }
}
