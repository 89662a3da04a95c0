//! Sealing one blob: compress if that shrinks it, then encrypt and authenticate.
//!
//! A sealed blob is `version (u32 LE) ‖ nonce (24) ‖ XChaCha20-Poly1305(data key, nonce,
//! flag ‖ body, AD = "backstore blob v1" ‖ kind ‖ id)`, where `flag` is 1 when `body` is a zstd frame
//! and 0 when it is the plaintext. The associated data binds the ciphertext to its kind and id, so a
//! blob cannot be passed off as another even by someone who can rewrite the packs; the id itself is
//! checked again after opening (the keyed hash of the plaintext).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::{BlobId, BlobKind, TenantKeys};

/// zstd's level for blob bodies: level 3 (zstd's default) compresses office documents and mail
/// nearly as well as higher levels at several times the speed.
pub const ZSTD_LEVEL: i32 = 3;

const HEADER: usize = 4 + 24;

fn associated(kind: BlobKind, id: &BlobId) -> [u8; 17 + 1 + 32] {
    let mut ad = [0u8; 50];
    ad[..17].copy_from_slice(b"backstore blob v1");
    ad[17] = kind.code();
    ad[18..].copy_from_slice(id.as_bytes());
    ad
}

/// Seals `plain` under the tenant's current data key.
pub fn seal(keys: &TenantKeys, kind: BlobKind, id: &BlobId, plain: &[u8]) -> Vec<u8> {
    let compressed = zstd::bulk::compress(plain, ZSTD_LEVEL).ok().filter(|c| c.len() < plain.len());
    let mut message = Vec::with_capacity(1 + plain.len());
    match compressed {
        Some(body) => {
            message.push(1);
            message.extend_from_slice(&body);
        }
        None => {
            message.push(0);
            message.extend_from_slice(plain);
        }
    }
    encrypt(keys, &associated(kind, id), &message)
}

/// `version ‖ nonce ‖ XChaCha20-Poly1305(current data key, nonce, message, ad)`.
pub(crate) fn encrypt(keys: &TenantKeys, ad: &[u8], message: &[u8]) -> Vec<u8> {
    let (version, key) = keys.current();
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = XChaCha20Poly1305::new(key.into())
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: message, aad: ad })
        .expect("XChaCha20-Poly1305 seals any length a blob can have");
    let mut out = Vec::with_capacity(HEADER + sealed.len());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// The inverse of [`encrypt`].
pub(crate) fn decrypt(keys: &TenantKeys, ad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, String> {
    if sealed.len() < HEADER + 16 {
        return Err(format!("{} bytes is too short to be sealed", sealed.len()));
    }
    let version = key_version(sealed).expect("length checked");
    let key = keys
        .data_key(version)
        .ok_or_else(|| format!("sealed under data key {version}, which the key file does not have"))?;
    XChaCha20Poly1305::new(key.into())
        .decrypt(XNonce::from_slice(&sealed[4..HEADER]), Payload { msg: &sealed[HEADER..], aad: ad })
        .map_err(|_| "authentication failed (altered bytes, or not this blob)".to_owned())
}

/// The data key number a sealed blob was sealed under.
pub fn key_version(sealed: &[u8]) -> Option<u32> {
    sealed.get(..4).map(|v| u32::from_le_bytes(v.try_into().expect("4 bytes")))
}

/// Opens a sealed blob and checks that its plaintext hashes to `id`; the error says what failed.
pub fn open(keys: &TenantKeys, kind: BlobKind, id: &BlobId, sealed: &[u8]) -> Result<Vec<u8>, String> {
    let message = decrypt(keys, &associated(kind, id), sealed)?;
    let plain = match message.split_first() {
        Some((0, body)) => body.to_vec(),
        Some((1, body)) => zstd::stream::decode_all(body).map_err(|e| format!("zstd: {e}"))?,
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
