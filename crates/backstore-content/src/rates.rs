//! The single-core rates of the primitives content storage is made of, measured on a sample: the
//! limits an ingest is compared with (`backstore bench content`).

use std::time::Instant;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::Serialize;

use crate::chunk::{Chunker, DEFAULT_PARAMS};
use crate::codec::ZSTD_LEVEL;

/// Bytes per second of input, one core each.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    /// Keyed BLAKE3 (the chunk ids).
    pub blake3: f64,
    /// zstd at the level blobs are compressed with.
    pub zstd: f64,
    /// XChaCha20-Poly1305 sealing.
    pub aead: f64,
    /// FastCDC finding cut points.
    pub chunking: f64,
    /// SHA-256 and OneDrive's quickXorHash of whole files (what Graph reports in `file.hashes`),
    /// computed in order over each file.
    pub sha256: f64,
    pub quick_xor: f64,
}

fn rate(bytes: usize, work: impl FnOnce()) -> f64 {
    let started = Instant::now();
    work();
    bytes as f64 / started.elapsed().as_secs_f64()
}

/// Measures each primitive over `sample`, in pieces of one average chunk.
pub fn measure(sample: &[u8]) -> Rates {
    let piece = DEFAULT_PARAMS.avg;
    let key = [7u8; 32];
    let blake3 = rate(sample.len(), || {
        for p in sample.chunks(piece) {
            std::hint::black_box(blake3::keyed_hash(&key, p));
        }
    });
    let zstd = rate(sample.len(), || {
        for p in sample.chunks(piece) {
            std::hint::black_box(zstd::bulk::compress(p, ZSTD_LEVEL).expect("zstd compresses"));
        }
    });
    let cipher = XChaCha20Poly1305::new((&key).into());
    let aead = rate(sample.len(), || {
        for p in sample.chunks(piece) {
            let sealed = cipher.encrypt(XNonce::from_slice(&[1u8; 24]), Payload { msg: p, aad: b"" });
            std::hint::black_box(sealed.expect("seals"));
        }
    });
    let chunker = Chunker::new(DEFAULT_PARAMS, 1);
    let chunking = rate(sample.len(), || {
        std::hint::black_box(chunker.lengths(sample));
    });
    let sha256 = rate(sample.len(), || {
        use sha2::Digest;
        std::hint::black_box(sha2::Sha256::digest(sample));
    });
    let quick_xor = rate(sample.len(), || {
        let mut h = quickxorhash::QuickXorHash::new();
        h.update(sample);
        std::hint::black_box(h.finalize());
    });
    Rates { blake3, zstd, aead, chunking, sha256, quick_xor }
}
