use crate::{BlobId, PackId};

/// Everything reading or writing content can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The index names a pack the object store does not have.
    #[error("pack {pack} of tenant {tenant} is missing from the object store")]
    MissingPack { tenant: String, pack: PackId },
    /// What was read does not decrypt, decompress or hash to the id it was stored under.
    #[error("blob {id} in pack {pack} is damaged: {reason}")]
    Corrupt { pack: PackId, id: BlobId, reason: String },
    /// The chunk index does not know this blob.
    #[error("blob {0} is not in the chunk index")]
    Unknown(BlobId),
    #[error("object store: {0}")]
    Objects(#[from] object_store::Error),
    #[error("chunk index: {0}")]
    Index(crate::IndexError),
    #[error("content keys: {0}")]
    Keys(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A `--blob-store` value that names no store this build can open.
    #[error("blob store '{0}': use a directory path or s3://BUCKET[/PREFIX]")]
    BadStoreUrl(String),
    /// A manifest that decrypted and hashed right but does not decode: written by something else.
    #[error("manifest {id}: {reason}")]
    BadTree { id: BlobId, reason: String },
}

impl ContentError {
    /// The error damages stored data (as opposed to a store or index that could not be reached).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            ContentError::MissingPack { .. }
                | ContentError::Corrupt { .. }
                | ContentError::Unknown(_)
                | ContentError::BadTree { .. }
        )
    }
}

/// One damaged item found by a verification walk: where it sits in the tree and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Damage {
    /// The item's path from the walked root, `/` separated (the root itself is `/`).
    pub path: String,
    /// The blob that could not be read.
    pub blob: BlobId,
    pub error: String,
}
