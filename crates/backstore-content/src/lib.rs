//! Backup content for backstore: what a restore point holds.
//!
//! Files are cut into chunks by content-defined chunking ([`chunk`]), each chunk named by a keyed
//! BLAKE3 hash of its bytes under its tenant's id key ([`keys`]), compressed with zstd when that
//! shrinks it and sealed with XChaCha20-Poly1305 under the tenant's data key ([`codec`]), then
//! appended to a pack of a few MiB ([`pack`]) that is written once to an object store ([`objects`]):
//! a directory by default, S3 when several processes share the work. Which pack holds which chunk is
//! the [`ChunkIndex`]'s to remember; its real implementation lives in the SQL store, so every process
//! sees it. A folder is a [`Tree`] manifest stored like a chunk, so a snapshot of a drive or mailbox
//! is one root id and unchanged subtrees are shared between snapshots.
//!
//! No HTTP and no SQL here: the API serves this content and the store keeps its index.

pub mod chunk;
pub mod codec;
mod error;
pub mod gc;
mod id;
pub mod index;
pub mod keys;
pub mod objects;
pub mod pack;
pub mod rates;
mod rekey;
mod repo;
pub mod tree;

pub use error::{ContentError, Damage};
pub use gc::{GcOptions, GcReport};
pub use id::{BlobId, BlobKind, PackId};
pub use index::{ChunkIndex, GcIndex, IndexError, IndexedBlob, IndexedPack, Location, MemoryIndex};
pub use keys::{Keyring, TenantKeys};
pub use objects::Objects;
pub use rekey::ResealReport;
pub use repo::{FileContent, Repository, VerifyReport, WriteStats, Writer};
pub use tree::{ChunkRef, Entry, EntryKind, Tree};
