//! Packs: many sealed blobs in one object, written once.
//!
//! ```text
//! "BSPACK01" ‖ blob ‖ blob ‖ … ‖ trailer ‖ trailer length (u32 LE)
//! ```
//! Each blob is as [`crate::codec::seal`] made it. The trailer lists the pack's blobs (kind, id,
//! offset, length; 41 bytes each), sealed like a blob under the authenticated data
//! "backstore pack trailer v1", so a pack describes itself: `verify` and index rebuilds read it, and
//! without the tenant's key it reveals neither the ids nor how content was cut. A pack's name is
//! the BLAKE3 hash of all its bytes.

use bytes::Bytes;

use crate::{codec, BlobId, BlobKind, PackId, TenantKeys};

pub const MAGIC: &[u8; 8] = b"BSPACK01";
const TRAILER_AD: &[u8] = b"backstore pack trailer v1";
const ENTRY: usize = 1 + 32 + 4 + 4;

/// Where a blob sits in its pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackEntry {
    pub id: BlobId,
    pub kind: BlobKind,
    pub offset: u32,
    pub length: u32,
}

/// A pack being filled: its sealed blobs kept as they came (no copy into one buffer) and hashed
/// as they arrive.
pub struct PackBuilder {
    parts: Vec<Bytes>,
    len: usize,
    hasher: blake3::Hasher,
    entries: Vec<PackEntry>,
}

/// A finished pack, ready to be written: its bytes are the parts in order.
pub struct SealedPack {
    pub id: PackId,
    pub parts: Vec<Bytes>,
    pub size: u64,
    pub entries: Vec<PackEntry>,
}

impl SealedPack {
    /// The pack's bytes in one buffer.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(self.parts.concat())
    }
}

impl Default for PackBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PackBuilder {
    pub fn new() -> Self {
        let mut builder = PackBuilder { parts: Vec::new(), len: 0, hasher: blake3::Hasher::new(), entries: Vec::new() };
        builder.append(Bytes::from_static(MAGIC));
        builder
    }

    fn append(&mut self, part: Bytes) {
        self.hasher.update(&part);
        self.len += part.len();
        self.parts.push(part);
    }

    /// Appends a sealed blob.
    pub fn push(&mut self, kind: BlobKind, id: BlobId, sealed: impl Into<Bytes>) -> PackEntry {
        let sealed = sealed.into();
        let entry = PackEntry {
            id,
            kind,
            offset: u32::try_from(self.len).expect("packs stay far below 4 GiB"),
            length: u32::try_from(sealed.len()).expect("a blob is at most a few MiB"),
        };
        self.append(sealed);
        self.entries.push(entry);
        entry
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The ids of the blobs pushed so far.
    pub fn ids(&self) -> impl Iterator<Item = &BlobId> {
        self.entries.iter().map(|e| &e.id)
    }

    /// Appends the trailer and names the pack.
    pub fn finish(mut self, keys: &TenantKeys) -> SealedPack {
        let mut listing = Vec::with_capacity(self.entries.len() * ENTRY);
        for e in &self.entries {
            listing.push(e.kind.code());
            listing.extend_from_slice(e.id.as_bytes());
            listing.extend_from_slice(&e.offset.to_le_bytes());
            listing.extend_from_slice(&e.length.to_le_bytes());
        }
        let trailer = codec::encrypt(keys, TRAILER_AD, &listing);
        let length = u32::try_from(trailer.len()).expect("trailer fits").to_le_bytes();
        self.append(Bytes::from(trailer));
        self.append(Bytes::copy_from_slice(&length));
        SealedPack {
            id: self.hasher.finalize().into(),
            parts: self.parts,
            size: self.len as u64,
            entries: self.entries,
        }
    }
}

/// The data key number a pack's trailer is sealed under (read from a whole pack).
pub fn trailer_key(bytes: &[u8]) -> Option<u32> {
    let (body, len) = bytes.split_at(bytes.len().checked_sub(4)?);
    let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
    codec::key_version(&body[body.len().checked_sub(len)?..])
}

/// Reads a whole pack's trailer: the blobs it says it holds. Checks the pack's name first.
pub fn read_trailer(keys: &TenantKeys, id: &PackId, bytes: &[u8]) -> Result<Vec<PackEntry>, String> {
    if PackId::from(blake3::hash(bytes)) != *id {
        return Err("the pack's bytes do not hash to its name".to_owned());
    }
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a backstore pack".to_owned());
    }
    let (body, len) = bytes.split_at(bytes.len() - 4);
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    let start = body.len().checked_sub(len).filter(|&s| s >= MAGIC.len()).ok_or("trailer length out of range")?;
    let listing = codec::decrypt(keys, TRAILER_AD, &body[start..])?;
    if listing.len() % ENTRY != 0 {
        return Err("trailer is not a whole number of entries".to_owned());
    }
    listing
        .chunks(ENTRY)
        .map(|e| {
            let entry = PackEntry {
                kind: BlobKind::from_code(e[0]).ok_or("unknown blob kind in trailer")?,
                id: BlobId::from_slice(&e[1..33]).expect("32 bytes"),
                offset: u32::from_le_bytes(e[33..37].try_into().expect("4 bytes")),
                length: u32::from_le_bytes(e[37..41].try_into().expect("4 bytes")),
            };
            if (entry.offset as usize) < MAGIC.len() || entry.offset as usize + entry.length as usize > start {
                return Err("trailer entry outside the pack's blobs".to_owned());
            }
            Ok(entry)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keyring;

    #[test]
    fn a_pack_lists_its_blobs_and_each_blob_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keyring::new(dir.path()).tenant("t").unwrap();
        let mut builder = PackBuilder::new();
        let blobs: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 1000 + i as usize]).collect();
        for b in &blobs {
            let id = keys.blob_id(BlobKind::Data, b);
            builder.push(BlobKind::Data, id, codec::seal(&keys, BlobKind::Data, &id, b));
        }
        let pack = builder.finish(&keys);
        let bytes = pack.to_bytes();
        assert_eq!(bytes.len() as u64, pack.size);
        let entries = read_trailer(&keys, &pack.id, &bytes).unwrap();
        assert_eq!(entries, pack.entries);
        for (e, b) in entries.iter().zip(&blobs) {
            let sealed = &bytes[e.offset as usize..(e.offset + e.length) as usize];
            assert_eq!(&codec::open(&keys, e.kind, &e.id, sealed).unwrap(), b);
        }
        let mut damaged = bytes.to_vec();
        damaged[20] ^= 0x80;
        assert!(read_trailer(&keys, &pack.id, &damaged).unwrap_err().contains("hash"));
    }
}
