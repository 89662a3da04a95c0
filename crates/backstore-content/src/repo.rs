//! The repository: writing files and manifests into packs, reading them back checked, and walking
//! snapshots to verify them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::stream::{self, Stream, StreamExt};
use quickxorhash::QuickXorHash;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::chunk::{ChunkParams, Chunker, DEFAULT_PARAMS};
use crate::pack::PackBuilder;
use crate::{
    codec, BlobId, BlobKind, ChunkIndex, ChunkRef, ContentError, Damage, Entry, EntryKind, Keyring, Objects,
    TenantKeys, Tree,
};

/// Packs are closed once they pass 4 MiB: large enough that a million small mail items make a few
/// hundred objects, small enough that repacking one rewrites little.
pub const PACK_TARGET: usize = 4 * 1024 * 1024;

/// Blobs sealed side by side while the writer reads and hashes on: enough to keep two cores busy
/// compressing, few enough that a writer holds at most a few MiB of them.
const SEALING_AT_ONCE: usize = 4;

/// Content storage: packs in an object store, located through an index, sealed with tenant keys.
pub struct Repository<I> {
    objects: Objects,
    keys: Keyring,
    index: I,
    params: ChunkParams,
    pack_target: usize,
}

/// A file as stored: its chunks, and the hashes Graph reports for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileContent {
    pub size: u64,
    pub chunks: Vec<ChunkRef>,
    pub sha256: [u8; 32],
    /// OneDrive's `quickXorHash` (160 bits).
    pub quick_xor: [u8; 20],
}

impl FileContent {
    /// Graph's `sha256Hash`: uppercase hexadecimal.
    pub fn sha256_hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// Graph's `quickXorHash`: base64.
    pub fn quick_xor_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.quick_xor)
    }
}

/// What a writer did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteStats {
    /// Plaintext bytes given to the writer (files and manifests).
    pub bytes: u64,
    /// Blobs given (chunks and manifests), and those of them that were not stored yet.
    pub blobs: u64,
    pub new_blobs: u64,
    /// Plaintext bytes of the new blobs.
    pub new_bytes: u64,
    /// Bytes written to the object store (sealed blobs and pack overhead).
    pub stored_bytes: u64,
    pub packs: u64,
}

/// What a verification walk found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub folders: u64,
    pub files: u64,
    /// Distinct chunks read and checked, and their plaintext bytes.
    pub chunks: u64,
    pub bytes: u64,
    pub damaged: Vec<Damage>,
}

impl<I: ChunkIndex> Repository<I> {
    pub fn new(objects: Objects, keys: Keyring, index: I) -> Self {
        Repository { objects, keys, index, params: DEFAULT_PARAMS, pack_target: PACK_TARGET }
    }

    /// Other chunk sizes (tests, benchmarks).
    pub fn with_chunking(mut self, params: ChunkParams) -> Self {
        self.params = params;
        self
    }

    /// Another pack size (tests, benchmarks).
    pub fn with_pack_target(mut self, bytes: usize) -> Self {
        self.pack_target = bytes;
        self
    }

    pub fn index(&self) -> &I {
        &self.index
    }

    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// A writer for one tenant's content. What it writes becomes readable when it flushes (it does
    /// so by itself each time a pack fills, and must be told to at the end); only then may anything
    /// that references the content be committed.
    pub fn writer(&self, tenant: &str) -> Result<Writer<'_, I>, ContentError> {
        let keys = self.keys.tenant(tenant)?;
        let chunker = Chunker::new(self.params, keys.chunker_seed());
        Ok(Writer {
            repo: self,
            tenant: tenant.to_owned(),
            keys,
            chunker,
            pack: PackBuilder::new(),
            sealing: VecDeque::new(),
            pending: HashSet::new(),
            stats: WriteStats::default(),
        })
    }

    /// A blob's plaintext, checked against its id.
    pub async fn read_blob(&self, tenant: &str, id: &BlobId) -> Result<Vec<u8>, ContentError> {
        let at = self.locate(tenant, id).await?;
        match self.read_at(tenant, id, at).await {
            // Garbage collection repacked the blob and removed the old pack after this lookup's
            // location went stale: look again once.
            Err(ContentError::MissingPack { .. }) => {
                let again = self.locate(tenant, id).await?;
                if again == at {
                    return Err(ContentError::MissingPack { tenant: tenant.to_owned(), pack: at.pack });
                }
                self.read_at(tenant, id, again).await
            }
            read => read,
        }
    }

    async fn locate(&self, tenant: &str, id: &BlobId) -> Result<crate::Location, ContentError> {
        self.index.locate(tenant, id).await.map_err(ContentError::Index)?.ok_or(ContentError::Unknown(*id))
    }

    async fn read_at(&self, tenant: &str, id: &BlobId, at: crate::Location) -> Result<Vec<u8>, ContentError> {
        let start = u64::from(at.offset);
        let sealed = self.objects.read_range(tenant, &at.pack, start..start + u64::from(at.length)).await?;
        let mut keys = self.keys.tenant(tenant)?;
        if codec::key_version(&sealed).is_some_and(|v| keys.data_key(v).is_none()) {
            // Sealed under a key another process added since this one loaded the file.
            keys = self.keys.reload(tenant)?;
        }
        let id = *id;
        let opened = if sealed.len() as u64 != u64::from(at.length) {
            Err(format!("pack ends after {} of the blob's {} bytes", sealed.len(), at.length))
        } else {
            tokio::task::spawn_blocking(move || codec::open(&keys, at.kind, &id, &sealed))
                .await
                .expect("opening a blob does not panic")
        };
        opened.map_err(|reason| ContentError::Corrupt { pack: at.pack, id, reason })
    }

    /// A folder's manifest.
    pub async fn read_tree(&self, tenant: &str, id: &BlobId) -> Result<Tree, ContentError> {
        let bytes = self.read_blob(tenant, id).await?;
        Tree::decode(&bytes).map_err(|reason| ContentError::BadTree { id: *id, reason })
    }

    /// The bytes `range` of a file's content, chunk by chunk (the next chunk is read while the
    /// caller consumes one); every chunk is checked against its id as it is read.
    pub fn read_file<'a>(
        &'a self,
        tenant: &'a str,
        chunks: &'a [ChunkRef],
        range: Range<u64>,
    ) -> impl Stream<Item = Result<Bytes, ContentError>> + Send + 'a {
        stream::iter(pieces(chunks, range))
            .map(move |(chunk, from, to)| self.read_piece(tenant, chunk, from, to))
            .buffered(2)
    }

    /// [`Repository::read_file`] owning what it reads from (for a response body).
    pub fn read_file_owned(
        self: Arc<Self>,
        tenant: String,
        chunks: Vec<ChunkRef>,
        range: Range<u64>,
    ) -> impl Stream<Item = Result<Bytes, ContentError>> + Send + 'static
    where
        I: 'static,
    {
        stream::iter(pieces(&chunks, range))
            .map(move |(chunk, from, to)| {
                let (repo, tenant) = (self.clone(), tenant.clone());
                async move { repo.read_piece(&tenant, chunk, from, to).await }
            })
            .buffered(2)
    }

    /// A stored file's size and the hashes Graph reports for it, read back (and checked) chunk by
    /// chunk: for content that arrived in pieces (an upload session).
    pub async fn file_hashes(&self, tenant: &str, chunks: &[ChunkRef]) -> Result<FileContent, ContentError> {
        let mut hashes = FileHashes { sha256: Sha256::new(), quick_xor: QuickXorHash::new() };
        let mut size = 0u64;
        let end = chunks.iter().map(|c| u64::from(c.len)).sum();
        let mut pieces = std::pin::pin!(self.read_file(tenant, chunks, 0..end));
        while let Some(piece) = pieces.next().await {
            let piece = piece?;
            size += piece.len() as u64;
            hashes.sha256.update(&piece);
            hashes.quick_xor.update(&piece);
        }
        let FileHashes { sha256, mut quick_xor } = hashes;
        Ok(FileContent {
            size,
            chunks: chunks.to_vec(),
            sha256: sha256.finalize().into(),
            quick_xor: quick_xor.finalize(),
        })
    }

    /// Bytes `from..to` of one chunk, checked.
    async fn read_piece(&self, tenant: &str, chunk: ChunkRef, from: usize, to: usize) -> Result<Bytes, ContentError> {
        let plain = self.read_blob(tenant, &chunk.id).await?;
        if plain.len() != chunk.len as usize {
            return Err(ContentError::Corrupt {
                pack: chunk.id,
                id: chunk.id,
                reason: format!("chunk is {} bytes, its manifest says {}", plain.len(), chunk.len),
            });
        }
        Ok(Bytes::from(plain).slice(from..to))
    }

    /// A verifier for one tenant: it remembers what it checked, so walking many snapshots of the
    /// same drive reads each shared chunk and subtree once.
    pub fn verifier(&self, tenant: &str) -> Verifier<'_, I> {
        Verifier { repo: self, tenant: tenant.to_owned(), chunks: HashMap::new(), trees: HashMap::new() }
    }
}

/// The chunks a byte range of a file touches, each with the part of it the range takes.
fn pieces(chunks: &[ChunkRef], range: Range<u64>) -> Vec<(ChunkRef, usize, usize)> {
    let mut at = 0u64;
    let mut wanted = Vec::new();
    for chunk in chunks {
        let (lo, hi) = (at, at + u64::from(chunk.len));
        at = hi;
        if hi > range.start && lo < range.end {
            wanted.push((*chunk, range.start.saturating_sub(lo) as usize, (range.end.min(hi) - lo) as usize));
        }
    }
    wanted
}

/// Writes one tenant's content into packs.
pub struct Writer<'r, I> {
    repo: &'r Repository<I>,
    tenant: String,
    keys: Arc<TenantKeys>,
    chunker: Chunker,
    pack: PackBuilder,
    /// Blobs being sealed, in the order they go into the pack.
    sealing: VecDeque<(BlobKind, BlobId, tokio::task::JoinHandle<Vec<u8>>)>,
    /// Blobs being sealed or in the pack being filled: stored once the pack is.
    pending: HashSet<BlobId>,
    stats: WriteStats,
}

struct FileHashes {
    sha256: Sha256,
    quick_xor: QuickXorHash,
}

impl<I: ChunkIndex> Writer<'_, I> {
    pub fn stats(&self) -> WriteStats {
        self.stats
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Stores a file's content, read to its end.
    pub async fn write_file<R: AsyncRead + Unpin>(&mut self, mut reader: R) -> Result<FileContent, ContentError> {
        let max = self.chunker.params().max;
        let mut buf = BytesMut::with_capacity(2 * max);
        let mut hashes = Box::new(FileHashes { sha256: Sha256::new(), quick_xor: QuickXorHash::new() });
        let mut chunks = Vec::new();
        let mut size = 0u64;
        let mut eof = false;
        loop {
            while !eof && buf.len() < max {
                buf.reserve(max);
                eof = reader.read_buf(&mut buf).await? == 0;
            }
            if buf.is_empty() {
                break;
            }
            let len = self.chunker.cut(&buf);
            let data = buf.split_to(len).freeze();
            let keys = self.keys.clone();
            let (back, id, data) = tokio::task::spawn_blocking(move || {
                hashes.sha256.update(&data);
                hashes.quick_xor.update(&data);
                let id = keys.blob_id(BlobKind::Data, &data);
                (hashes, id, data)
            })
            .await
            .expect("hashing does not panic");
            hashes = back;
            size += len as u64;
            chunks.push(ChunkRef { id, len: len as u32 });
            self.store(BlobKind::Data, id, data).await?;
        }
        let FileHashes { sha256, mut quick_xor } = *hashes;
        Ok(FileContent { size, chunks, sha256: sha256.finalize().into(), quick_xor: quick_xor.finalize() })
    }

    /// Stores content held in memory.
    pub async fn write_bytes(&mut self, data: &[u8]) -> Result<FileContent, ContentError> {
        self.write_file(data).await
    }

    /// Stores a folder's manifest; returns its id.
    pub async fn write_tree(&mut self, tree: &Tree) -> Result<BlobId, ContentError> {
        let bytes = tree.encode();
        let id = self.keys.blob_id(BlobKind::Tree, &bytes);
        self.store(BlobKind::Tree, id, Bytes::from(bytes)).await?;
        Ok(id)
    }

    /// Stores a local directory tree (files and folders; other kinds of entry are skipped): each
    /// file's content, and a manifest per folder whose entries carry the file system's modification
    /// times (to the nanosecond) and, as ids, paths from `dir`. Given the root of an earlier snapshot
    /// of the same directory, a file whose name, size and modification time match its entry there
    /// is taken from it without being read, as backup tools do. Returns the root manifest's id and
    /// the tree's bytes.
    pub async fn write_dir(
        &mut self,
        dir: &std::path::Path,
        parent: Option<BlobId>,
    ) -> Result<(BlobId, u64), ContentError> {
        self.write_dir_at(dir.to_owned(), String::new(), parent).await
    }

    fn write_dir_at(&mut self, dir: std::path::PathBuf, rel: String, parent: Option<BlobId>) -> DirWalk<'_> {
        Box::pin(async move {
            let before = match parent {
                Some(id) => self.repo.read_tree(&self.tenant, &id).await?.entries,
                None => Vec::new(),
            };
            let before: HashMap<&str, &Entry> = before.iter().map(|e| (e.name.as_str(), e)).collect();
            let mut found = Vec::new();
            let mut listing = tokio::fs::read_dir(&dir).await?;
            while let Some(entry) = listing.next_entry().await? {
                found.push(entry);
            }
            found.sort_by_key(|e| e.file_name());
            let mut entries = Vec::with_capacity(found.len());
            for found in found {
                let name = found.file_name().into_string().map_err(|name| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{name:?} is not UTF-8"))
                })?;
                let meta = found.metadata().await?;
                let modified = meta.modified().ok().map(|t| {
                    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                });
                let id = format!("{rel}/{name}");
                let earlier = before.get(name.as_str()).copied();
                let mut entry = if meta.is_dir() {
                    let parent = earlier.filter(|e| e.kind == EntryKind::Folder).and_then(|e| e.tree);
                    let (tree, size) = self.write_dir_at(found.path(), id.clone(), parent).await?;
                    Entry::folder(name, id, size, tree)
                } else if meta.is_file() {
                    match earlier
                        .filter(|e| e.kind == EntryKind::File && e.size == meta.len() && e.modified == modified)
                    {
                        Some(unchanged) => unchanged.clone(),
                        None => {
                            let content = self.write_file(tokio::fs::File::open(found.path()).await?).await?;
                            Entry::file(name, id, content.size, content.chunks)
                        }
                    }
                } else {
                    continue;
                };
                entry.modified = modified;
                entries.push(entry);
            }
            let tree = Tree { entries };
            let id = self.write_tree(&tree).await?;
            Ok((id, tree.size()))
        })
    }

    async fn store(&mut self, kind: BlobKind, id: BlobId, plain: Bytes) -> Result<(), ContentError> {
        self.stats.bytes += plain.len() as u64;
        self.stats.blobs += 1;
        if self.pending.contains(&id)
            || self.repo.index.contains(&self.tenant, &id).await.map_err(ContentError::Index)?
        {
            return Ok(());
        }
        self.stats.new_blobs += 1;
        self.stats.new_bytes += plain.len() as u64;
        let keys = self.keys.clone();
        let sealing = tokio::task::spawn_blocking(move || codec::seal(&keys, kind, &id, &plain));
        self.sealing.push_back((kind, id, sealing));
        self.pending.insert(id);
        while self.sealing.len() > SEALING_AT_ONCE {
            self.settle_one().await?;
        }
        Ok(())
    }

    /// Waits for the oldest blob being sealed and appends it to the pack, writing the pack if full.
    async fn settle_one(&mut self) -> Result<(), ContentError> {
        let Some((kind, id, sealing)) = self.sealing.pop_front() else { return Ok(()) };
        let sealed = sealing.await.expect("sealing does not panic");
        self.pack.push(kind, id, sealed);
        if self.pack.len() >= self.repo.pack_target {
            self.write_pack().await?;
        }
        Ok(())
    }

    /// Writes the pack being filled and records it in the index.
    async fn write_pack(&mut self) -> Result<(), ContentError> {
        if self.pack.is_empty() {
            return Ok(());
        }
        let pack = std::mem::take(&mut self.pack).finish(&self.keys);
        for id in pack.entries.iter().map(|e| e.id) {
            self.pending.remove(&id);
        }
        self.repo.objects.put_pack(&self.tenant, &pack.id, pack.parts).await?;
        self.repo
            .index
            .record_pack(&self.tenant, &pack.id, pack.size, &pack.entries)
            .await
            .map_err(ContentError::Index)?;
        self.stats.stored_bytes += pack.size;
        self.stats.packs += 1;
        Ok(())
    }

    /// Seals what is still being sealed, writes the pack being filled and records it in the index:
    /// everything written so far is then stored. After an error, what was not stored is lost and
    /// must be written again.
    pub async fn flush(&mut self) -> Result<(), ContentError> {
        let outcome = async {
            while !self.sealing.is_empty() {
                self.settle_one().await?;
            }
            self.write_pack().await
        }
        .await;
        if outcome.is_err() {
            self.sealing.clear();
            self.pack = PackBuilder::new();
            self.pending.clear();
        }
        outcome
    }
}

/// Walks snapshots and reads everything they reference, checking every blob.
pub struct Verifier<'r, I> {
    repo: &'r Repository<I>,
    tenant: String,
    /// Chunks checked: `None` when sound, else what is wrong.
    chunks: HashMap<BlobId, Option<String>>,
    /// Subtrees walked: their damage, with paths relative to them.
    trees: HashMap<BlobId, Arc<Vec<Damage>>>,
}

type DirWalk<'a> = Pin<Box<dyn Future<Output = Result<(BlobId, u64), ContentError>> + Send + 'a>>;

type Walk<'a> = Pin<Box<dyn Future<Output = Result<Arc<Vec<Damage>>, ContentError>> + Send + 'a>>;

impl<I: ChunkIndex> Verifier<'_, I> {
    /// Everything damaged under the root, with paths from it; totals go into `report`.
    pub async fn walk(&mut self, root: &BlobId, report: &mut VerifyReport) -> Result<Vec<Damage>, ContentError> {
        let damaged = self.tree(*root, report).await?;
        let mut out: Vec<Damage> = damaged.iter().cloned().collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn tree<'a>(&'a mut self, id: BlobId, report: &'a mut VerifyReport) -> Walk<'a> {
        Box::pin(async move {
            if let Some(known) = self.trees.get(&id) {
                return Ok(known.clone());
            }
            let mut damaged = Vec::new();
            match self.repo.read_tree(&self.tenant, &id).await {
                Err(e) if e.is_damage() => {
                    damaged.push(Damage { path: "/".to_owned(), blob: id, error: e.to_string() })
                }
                Err(e) => return Err(e),
                Ok(tree) => {
                    report.folders += 1;
                    for entry in &tree.entries {
                        let path = format!("/{}", entry.name);
                        match entry.kind {
                            EntryKind::Folder => {
                                let Some(child) = entry.tree else { continue };
                                for d in self.tree(child, report).await?.iter() {
                                    let sub = if d.path == "/" { path.clone() } else { format!("{path}{}", d.path) };
                                    damaged.push(Damage { path: sub, ..d.clone() });
                                }
                            }
                            EntryKind::File => {
                                report.files += 1;
                                for chunk in &entry.chunks {
                                    if let Some(error) = self.chunk(chunk, report).await? {
                                        damaged.push(Damage { path: path.clone(), blob: chunk.id, error });
                                        break;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let damaged = Arc::new(damaged);
            self.trees.insert(id, damaged.clone());
            Ok(damaged)
        })
    }

    async fn chunk(&mut self, chunk: &ChunkRef, report: &mut VerifyReport) -> Result<Option<String>, ContentError> {
        if let Some(known) = self.chunks.get(&chunk.id) {
            return Ok(known.clone());
        }
        let verdict = match self.repo.read_blob(&self.tenant, &chunk.id).await {
            Ok(plain) => {
                report.chunks += 1;
                report.bytes += plain.len() as u64;
                None
            }
            Err(e) if e.is_damage() => Some(e.to_string()),
            Err(e) => return Err(e),
        };
        self.chunks.insert(chunk.id, verdict.clone());
        Ok(verdict)
    }
}
