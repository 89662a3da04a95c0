//! Content-defined chunking: FastCDC (2020) with a per-tenant gear table.
//!
//! Cut points depend on the bytes around them, not on offsets, so an edit in the middle of a file
//! changes the chunk it falls in (and sometimes the next) and leaves the others, and their ids, as
//! they were. The sizes are chosen for Microsoft 365 content: documents and mail attachments of tens
//! of KiB to tens of MiB, where chunks much larger than 1 MiB would make near-duplicates share little,
//! and much smaller ones would multiply index rows (a 200 MiB drive is about 800 chunks here).

use std::borrow::Cow;

use fastcdc::v2020::{cut_gear, get_gear_with_seed, select_masks, Normalization};

/// Chunk size bounds in bytes: no chunk is smaller than `min` (except a file's last) or larger than
/// `max`, and cut points are tuned to fall `avg` bytes apart on average.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkParams {
    pub min: usize,
    pub avg: usize,
    pub max: usize,
}

/// 64 KiB / 256 KiB / 1 MiB: files below 64 KiB (most mail, many documents) are one chunk.
pub const DEFAULT_PARAMS: ChunkParams = ChunkParams { min: 64 * 1024, avg: 256 * 1024, max: 1024 * 1024 };

/// Finds cut points.
pub struct Chunker {
    params: ChunkParams,
    masks: (u64, u64),
    gear: Cow<'static, [u64]>,
    gear_ls: Cow<'static, [u64]>,
}

impl Chunker {
    /// A chunker with these bounds and gear table seed (see [`crate::TenantKeys::chunker_seed`]).
    pub fn new(params: ChunkParams, seed: u64) -> Self {
        assert!(
            params.min >= fastcdc::v2020::MINIMUM_MIN
                && params.avg >= fastcdc::v2020::AVERAGE_MIN
                && params.max <= fastcdc::v2020::MAXIMUM_MAX
                && params.min < params.avg
                && params.avg < params.max,
            "chunk sizes out of FastCDC's bounds: {params:?}"
        );
        let (gear, gear_ls) = get_gear_with_seed(seed);
        Chunker { params, masks: select_masks(params.avg, Normalization::Level1), gear, gear_ls }
    }

    pub fn params(&self) -> ChunkParams {
        self.params
    }

    /// The length of the chunk that starts at `data[0]`. `data` must hold at least `max` bytes unless
    /// it is the end of the content.
    pub fn cut(&self, data: &[u8]) -> usize {
        let (mask_s, mask_l) = self.masks;
        let (_, len) = cut_gear(
            data,
            self.params.min,
            self.params.avg,
            self.params.max,
            mask_s,
            mask_l,
            mask_s << 1,
            mask_l << 1,
            &self.gear,
            &self.gear_ls,
        );
        len
    }

    /// The chunk lengths of a whole buffer, in order.
    pub fn lengths(&self, mut data: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let len = self.cut(data);
            out.push(len);
            data = &data[len..];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut data = vec![0u8; len];
        rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut data);
        data
    }

    #[test]
    fn chunks_respect_bounds_and_survive_an_insertion() {
        let chunker = Chunker::new(DEFAULT_PARAMS, 7);
        let data = noise(8 << 20, 1);
        let lengths = chunker.lengths(&data);
        assert_eq!(lengths.iter().sum::<usize>(), data.len());
        let (last, rest) = lengths.split_last().unwrap();
        assert!(rest.iter().all(|&l| (DEFAULT_PARAMS.min..=DEFAULT_PARAMS.max).contains(&l)), "{lengths:?}");
        assert!(*last <= DEFAULT_PARAMS.max);
        let mean = data.len() / lengths.len();
        assert!((128 * 1024..=512 * 1024).contains(&mean), "mean chunk {mean}");

        // Insert 100 bytes at 3 MiB: the chunks before stay, and so do most after.
        let mut edited = data[..3 << 20].to_vec();
        edited.extend_from_slice(&noise(100, 2));
        edited.extend_from_slice(&data[3 << 20..]);
        let chunks = |d: &[u8]| {
            let mut at = 0;
            chunker
                .lengths(d)
                .into_iter()
                .map(|l| {
                    at += l;
                    blake3::hash(&d[at - l..at])
                })
                .collect::<std::collections::HashSet<_>>()
        };
        let before = chunks(&data);
        let after = chunks(&edited);
        let shared = before.intersection(&after).count();
        assert!(shared + 2 >= before.len(), "{shared} of {} chunks shared", before.len());

        // Another seed cuts elsewhere.
        assert_ne!(Chunker::new(DEFAULT_PARAMS, 8).lengths(&data), lengths);
    }
}
