//! Sealing one blob: compress if that shrinks it, then encrypt and authenticate.
//!
//! A sealed blob is `version (u32 LE) ‖ nonce (24) ‖ XChaCha20-Poly1305(data key, nonce,
//! flag ‖ body, AD = "backstore blob v1" ‖ kind ‖ id)`, where `flag` is 1 when `body` is a zstd frame
//! and 0 when it is the plaintext. The associated data binds the ciphertext to its kind and id, so a
//! blob cannot be passed off as another even by someone who can rewrite the packs; the id itself is
//! checked again after opening (the keyed hash of the plaintext).

use std::cell::RefCell;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::{BlobId, BlobKind, TenantKeys};

/// zstd's level for blob bodies: level 3 (zstd's default) compresses office documents and mail
/// nearly as well as higher levels at several times the speed.
pub const ZSTD_LEVEL: i32 = 3;

const HEADER: usize = 4 + 24;

/// The largest plaintext a blob may decompress to (a manifest of a very large folder; chunks are
/// at most 16 MiB).
const MAX_PLAIN: u64 = 256 << 20;

thread_local! {
    // One zstd context per thread, kept: making one per blob cost as much time as compressing a
    // small blob, and left freed contexts in the C allocator's per-thread arenas.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Appends `plain` compressed to `out` (which has room for the bound); false if zstd failed.
fn compress_into(plain: &[u8], out: &mut Vec<u8>) -> bool {
    COMPRESSOR.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = zstd::bulk::Compressor::new(ZSTD_LEVEL).ok();
        }
        let Some(compressor) = slot.as_mut() else { return false };
        let start = out.len() as u64;
        let mut cursor = std::io::Cursor::new(out);
        cursor.set_position(start);
        compressor.compress_to_buffer(plain, &mut cursor).is_ok()
    })
}

fn decompress(body: &[u8]) -> Result<Vec<u8>, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(body) {
        Ok(Some(size)) if size <= MAX_PLAIN => size as usize,
        Ok(Some(size)) => return Err(format!("zstd frame of {size} bytes is larger than any blob")),
        _ => return Err("zstd frame without a content size".to_owned()),
    };
    DECOMPRESSOR.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?);
        }
        let plain = slot.as_mut().expect("set").decompress(body, size).map_err(|e| format!("zstd: {e}"))?;
        if plain.len() != size {
            return Err("zstd frame shorter than its content size".to_owned());
        }
        Ok(plain)
    })
}

fn associated(kind: BlobKind, id: &BlobId) -> [u8; 17 + 1 + 32] {
    let mut ad = [0u8; 50];
    ad[..17].copy_from_slice(b"backstore blob v1");
    ad[17] = kind.code();
    ad[18..].copy_from_slice(id.as_bytes());
    ad
}

/// Seals `plain` under the tenant's current data key, into one buffer (the compressed body is
/// written after the header and encrypted where it lies).
pub fn seal(keys: &TenantKeys, kind: BlobKind, id: &BlobId, plain: &[u8]) -> Vec<u8> {
    let (version, key) = keys.current();
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(HEADER + 1 + zstd::zstd_safe::compress_bound(plain.len()) + 16);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&nonce);
    out.push(1);
    if !compress_into(plain, &mut out) || out.len() - (HEADER + 1) >= plain.len() {
        out.truncate(HEADER);
        out.push(0);
        out.extend_from_slice(plain);
    }
    let tag = XChaCha20Poly1305::new(key.into())
        .encrypt_in_place_detached(XNonce::from_slice(&nonce), &associated(kind, id), &mut out[HEADER..])
        .expect("XChaCha20-Poly1305 seals any length a blob can have");
    out.extend_from_slice(&tag);
    out
}

/// `version ‖ nonce ‖ XChaCha20-Poly1305(current data key, nonce, message, ad)`.
pub(crate) fn encrypt(keys: &TenantKeys, ad: &[u8], message: &[u8]) -> Vec<u8> {
    let (version, key) = keys.current();
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(HEADER + message.len() + 16);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(message);
    let tag = XChaCha20Poly1305::new(key.into())
        .encrypt_in_place_detached(XNonce::from_slice(&nonce), ad, &mut out[HEADER..])
        .expect("XChaCha20-Poly1305 seals any length a blob can have");
    out.extend_from_slice(&tag);
    out
}

/// The inverse of [`encrypt`]: the message, in a buffer of its own.
pub(crate) fn decrypt(keys: &TenantKeys, ad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, String> {
    if sealed.len() < HEADER + 16 {
        return Err(format!("{} bytes is too short to be sealed", sealed.len()));
    }
    let version = key_version(sealed).expect("length checked");
    let key = keys
        .data_key(version)
        .ok_or_else(|| format!("sealed under data key {version}, which the key file does not have"))?;
    let (body, tag) = sealed[HEADER..].split_at(sealed.len() - HEADER - 16);
    let mut message = body.to_vec();
    XChaCha20Poly1305::new(key.into())
        .decrypt_in_place_detached(XNonce::from_slice(&sealed[4..HEADER]), ad, &mut message, Tag::from_slice(tag))
        .map_err(|_| "authentication failed (altered bytes, or not this blob)".to_owned())?;
    Ok(message)
}

/// The data key number a sealed blob was sealed under.
pub fn key_version(sealed: &[u8]) -> Option<u32> {
    sealed.get(..4).map(|v| u32::from_le_bytes(v.try_into().expect("4 bytes")))
}

/// Opens a sealed blob and checks that its plaintext hashes to `id`; the error says what failed.
pub fn open(keys: &TenantKeys, kind: BlobKind, id: &BlobId, sealed: &[u8]) -> Result<Vec<u8>, String> {
    let message = decrypt(keys, &associated(kind, id), sealed)?;
    let plain = match message.first() {
        Some(0) => {
            let mut plain = message;
            plain.remove(0);
            plain
        }
        Some(1) => decompress(&message[1..])?,
        _ => return Err("unknown body flag".to_owned()),
    };
    if keys.blob_id(kind, &plain) != *id {
        return Err("content does not hash to its id".to_owned());
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keyring;

    #[test]
    fn seals_open_and_refuse_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::new(dir.path());
        let keys = ring.tenant("t1").unwrap();
        let text = b"backup storage ".repeat(1000);
        let id = keys.blob_id(BlobKind::Data, &text);
        let sealed = seal(&keys, BlobKind::Data, &id, &text);
        assert!(sealed.len() < text.len() / 10, "text compresses: {}", sealed.len());
        assert_eq!(open(&keys, BlobKind::Data, &id, &sealed).unwrap(), text);

        // Incompressible data is stored as it is (plus 45 bytes of header, flag and tag).
        let noise: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let nid = keys.blob_id(BlobKind::Data, &noise);
        let sealed_noise = seal(&keys, BlobKind::Data, &nid, &noise);
        assert!(sealed_noise.len() <= noise.len() + 45);
        assert_eq!(open(&keys, BlobKind::Data, &nid, &sealed_noise).unwrap(), noise);

        let mut flipped = sealed.clone();
        flipped[40] ^= 1;
        assert!(open(&keys, BlobKind::Data, &id, &flipped).unwrap_err().contains("authentication"));
        assert!(open(&keys, BlobKind::Tree, &id, &sealed).is_err(), "kind is authenticated");
        assert!(open(&keys, BlobKind::Data, &nid, &sealed).is_err(), "id is authenticated");
        let other = ring.tenant("t2").unwrap();
        assert!(open(&other, BlobKind::Data, &id, &sealed).is_err(), "another tenant's key opens nothing");

        // After a rotation old blobs open and new ones use the new key.
        ring.rotate("t1").unwrap();
        let rotated = ring.tenant("t1").unwrap();
        assert_eq!(open(&rotated, BlobKind::Data, &id, &sealed).unwrap(), text);
        assert_eq!(key_version(&seal(&rotated, BlobKind::Data, &id, &text)), Some(2));
    }
}
