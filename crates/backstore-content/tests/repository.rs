//! The content store end to end on a real directory: write, read back checked, deduplicate,
//! snapshot, verify, and detect damage.

use std::path::{Path, PathBuf};

use backstore_content::chunk::ChunkParams;
use backstore_content::{pack, BlobId, Entry, Keyring, MemoryIndex, Objects, Repository, Tree, VerifyReport};
use futures::TryStreamExt;
use proptest::prelude::*;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

struct Fixture {
    dir: tempfile::TempDir,
    repo: Repository<MemoryIndex>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::new(
            Objects::local(&dir.path().join("blobs")).unwrap(),
            Keyring::new(dir.path().join("keys")),
            MemoryIndex::new(),
        );
        Fixture { dir, repo }
    }

    fn pack_file(&self, tenant: &str, pack: &BlobId) -> PathBuf {
        let hex = pack.to_hex();
        self.dir.path().join("blobs/packs").join(tenant).join(&hex[..2]).join(hex)
    }

    async fn read(&self, tenant: &str, chunks: &[backstore_content::ChunkRef], range: std::ops::Range<u64>) -> Vec<u8> {
        let parts: Vec<_> = self.repo.read_file(tenant, chunks, range).try_collect().await.unwrap();
        parts.concat()
    }
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| {
                    let e = e.unwrap();
                    if e.file_type().unwrap().is_dir() {
                        files_in(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn files_read_back_whole_and_in_ranges_with_graph_hashes() {
    let f = Fixture::new();
    let mut w = f.repo.writer("t1").unwrap();
    let big = noise(5 << 20, 1);
    let text = b"Quarterly report, draft 3.\n".repeat(20_000);
    let big_c = w.write_bytes(&big).await.unwrap();
    let text_c = w.write_bytes(&text).await.unwrap();
    let empty = w.write_bytes(b"").await.unwrap();
    let j = w.write_bytes(b"J").await.unwrap();
    w.flush().await.unwrap();

    assert_eq!(big_c.size, big.len() as u64);
    assert!(big_c.chunks.len() >= 5, "5 MiB in {} chunks", big_c.chunks.len());
    assert_eq!(big_c.sha256, <[u8; 32]>::from(Sha256::digest(&big)));
    assert_eq!(f.read("t1", &big_c.chunks, 0..big_c.size).await, big);
    assert_eq!(f.read("t1", &text_c.chunks, 0..text_c.size).await, text);
    assert_eq!(f.read("t1", &big_c.chunks, 1_000_000..3_500_000).await, &big[1_000_000..3_500_000]);
    assert_eq!(f.read("t1", &big_c.chunks, 5..6).await, &big[5..6]);
    assert!(empty.chunks.is_empty() && empty.size == 0);
    // rclone's vectors for OneDrive's quickXorHash: "" and "J".
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(b64.encode(empty.quick_xor), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(b64.encode(j.quick_xor), "SgAAAAAAAAAAAAAAAQAAAAAAAAA=");

    // The text compressed; the noise did not grow by more than the seals.
    let stats = w.stats();
    assert!(stats.stored_bytes < big.len() as u64 + text.len() as u64 / 20 + 64 * 1024, "{stats:?}");
    assert_eq!(files_in(&f.dir.path().join("blobs")), stats.packs as usize);
}

#[tokio::test]
async fn ten_edited_versions_store_little_more_than_one() {
    let f = Fixture::new();
    let mut w = f.repo.writer("t1").unwrap();
    let mut doc = noise(8 << 20, 3);
    let mut versions = Vec::new();
    for v in 0..10u64 {
        // Each version overwrites 4 KiB somewhere and inserts 1 KiB elsewhere.
        let at = (v as usize * 777_777) % (doc.len() - 4096);
        doc[at..at + 4096].copy_from_slice(&noise(4096, 100 + v));
        let ins = (v as usize * 1_234_567) % doc.len();
        let tail = doc.split_off(ins);
        doc.extend_from_slice(&noise(1024, 200 + v));
        doc.extend_from_slice(&tail);
        versions.push((w.write_bytes(&doc).await.unwrap(), doc.clone()));
    }
    w.flush().await.unwrap();
    let stats = w.stats();
    let given: u64 = versions.iter().map(|(c, _)| c.size).sum();
    let ratio = given as f64 / stats.stored_bytes as f64;
    assert!(ratio > 3.0, "10 versions of 8 MiB ({given} B) stored in {} B: dedup {ratio:.2}", stats.stored_bytes);
    for (content, data) in &versions {
        assert_eq!(&f.read("t1", &content.chunks, 0..content.size).await, data);
    }
}

#[tokio::test]
async fn small_items_share_packs() {
    let f = Fixture::new();
    let repo = f.repo.with_pack_target(256 * 1024);
    let mut w = repo.writer("t1").unwrap();
    let mut items = Vec::new();
    for i in 0..1000u64 {
        let body = format!("Subject: message {i}\n\n{}", "Hello again. ".repeat((i % 50) as usize));
        items.push((w.write_bytes(body.as_bytes()).await.unwrap(), body));
    }
    w.flush().await.unwrap();
    let stats = w.stats();
    assert!(stats.packs >= 1 && stats.packs <= 10, "1000 small items in {} packs", stats.packs);
    for (c, body) in items.iter().step_by(97) {
        let read: Vec<_> = repo.read_file("t1", &c.chunks, 0..c.size).try_collect::<Vec<_>>().await.unwrap();
        assert_eq!(read.concat(), body.as_bytes());
    }
    // Every pack's own trailer lists what the index recorded for it.
    let keys = repo.keys().tenant("t1").unwrap();
    let mut listed = 0;
    for (pack_id, size) in repo.index().pack_sizes("t1") {
        let bytes = repo.objects().read_pack("t1", &pack_id).await.unwrap();
        assert_eq!(bytes.len() as u64, size);
        listed += pack::read_trailer(&keys, &pack_id, &bytes).unwrap().len();
    }
    assert_eq!(listed, repo.index().blob_count("t1"));
}

/// A drive: /Documents/{a.docx,b.xlsx}, /Photos/{2024/x.jpg}, /readme.txt
async fn snapshot(w: &mut backstore_content::Writer<'_, MemoryIndex>, files: &[(&str, &[u8])]) -> BlobId {
    // Build bottom-up: group by folder path.
    use std::collections::BTreeMap;
    let mut folders: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    folders.entry(String::new()).or_default();
    for (path, data) in files {
        let (dir, name) = path.rsplit_once('/').unwrap();
        let c = w.write_bytes(data).await.unwrap();
        folders.entry(dir.to_owned()).or_default().push(Entry::file(name, *path, c.size, c.chunks));
        let mut d = dir;
        while let Some((parent, _)) = d.rsplit_once('/') {
            folders.entry(parent.to_owned()).or_default();
            d = parent;
        }
    }
    let mut ids: BTreeMap<String, (BlobId, u64)> = BTreeMap::new();
    for dir in folders.keys().rev().cloned().collect::<Vec<_>>() {
        let mut entries = folders[&dir].clone();
        for (child, (id, size)) in ids.iter() {
            if let Some((parent, name)) = child.rsplit_once('/') {
                if parent == dir {
                    entries.push(Entry::folder(name, child.clone(), *size, *id));
                }
            }
        }
        let tree = Tree { entries };
        let id = w.write_tree(&tree).await.unwrap();
        ids.insert(dir, (id, tree.size()));
    }
    w.flush().await.unwrap();
    ids[""].0
}

#[tokio::test]
async fn snapshots_share_unchanged_subtrees_and_verify_finds_damage() {
    let f = Fixture::new();
    let doc = noise(300_000, 5);
    let photo = noise(2 << 20, 6);
    let mut w = f.repo.writer("t1").unwrap();
    let v1 = snapshot(
        &mut w,
        &[
            ("/Documents/a.docx", &doc),
            ("/Documents/b.xlsx", b"cells"),
            ("/Photos/2024/x.jpg", &photo),
            ("/readme.txt", b"hello"),
        ],
    )
    .await;
    let before = w.stats();
    let v2 = snapshot(
        &mut w,
        &[
            ("/Documents/a.docx", &doc),
            ("/Documents/b.xlsx", b"cells, edited"),
            ("/Photos/2024/x.jpg", &photo),
            ("/readme.txt", b"hello"),
        ],
    )
    .await;
    let after = w.stats();
    assert_ne!(v1, v2);
    // The second snapshot stored one new chunk and the two manifests on its path (root, Documents).
    assert_eq!(after.new_blobs - before.new_blobs, 3, "{before:?} -> {after:?}");
    let (t1, t2) = (f.repo.read_tree("t1", &v1).await.unwrap(), f.repo.read_tree("t1", &v2).await.unwrap());
    let photos = |t: &Tree| t.entries.iter().find(|e| e.name == "Photos").unwrap().tree.unwrap();
    assert_eq!(photos(&t1), photos(&t2), "the unchanged subtree is shared");
    assert_eq!(t1.size(), (doc.len() + 5 + photo.len() + 5) as u64);

    let mut report = VerifyReport::default();
    let mut verifier = f.repo.verifier("t1");
    assert!(verifier.walk(&v1, &mut report).await.unwrap().is_empty());
    assert!(verifier.walk(&v2, &mut report).await.unwrap().is_empty());
    // v1: 4 folders, 4 files; v2 adds its root and Documents (3 files) and shares Photos.
    assert_eq!((report.folders, report.files), (6, 7), "the shared Photos subtree is walked once: {report:?}");

    // Flip one byte in the photo's pack: both snapshots report the photo as damaged.
    let photo_chunk = {
        let t = f.repo.read_tree("t1", &photos(&t1)).await.unwrap();
        let year = f.repo.read_tree("t1", &t.entries[0].tree.unwrap()).await.unwrap();
        year.entries[0].chunks[0].id
    };
    let at = f.repo.index().pack_sizes("t1");
    let mut damaged_pack = None;
    for (pack_id, _) in at {
        let bytes = f.repo.objects().read_pack("t1", &pack_id).await.unwrap();
        let keys = f.repo.keys().tenant("t1").unwrap();
        let entries = pack::read_trailer(&keys, &pack_id, &bytes).unwrap();
        if let Some(e) = entries.iter().find(|e| e.id == photo_chunk) {
            let path = f.pack_file("t1", &pack_id);
            let mut raw = std::fs::read(&path).unwrap();
            raw[e.offset as usize + 100] ^= 0x01;
            std::fs::write(&path, raw).unwrap();
            damaged_pack = Some(pack_id);
        }
    }
    let damaged_pack = damaged_pack.expect("the photo's chunk is in a pack");
    for root in [v1, v2] {
        let mut report = VerifyReport::default();
        let damage = f.repo.verifier("t1").walk(&root, &mut report).await.unwrap();
        assert_eq!(damage.len(), 1, "{damage:?}");
        assert_eq!(damage[0].path, "/Photos/2024/x.jpg");
        assert_eq!(damage[0].blob, photo_chunk);
        assert!(damage[0].error.contains("damaged"), "{}", damage[0].error);
    }
    let err = f.read_err("t1", &photo_chunk).await;
    assert!(err.contains(&damaged_pack.to_hex()), "{err}");

    // Remove the pack: reported as missing.
    std::fs::remove_file(f.pack_file("t1", &damaged_pack)).unwrap();
    let mut report = VerifyReport::default();
    let damage = f.repo.verifier("t1").walk(&v2, &mut report).await.unwrap();
    assert!(damage.iter().any(|d| d.error.contains("missing")), "{damage:?}");
}

impl Fixture {
    async fn read_err(&self, tenant: &str, id: &BlobId) -> String {
        self.repo.read_blob(tenant, id).await.unwrap_err().to_string()
    }
}

#[tokio::test]
async fn tenants_do_not_see_each_others_content() {
    let f = Fixture::new();
    let data = noise(200_000, 9);
    let mut a = f.repo.writer("tenant-a").unwrap();
    let ca = a.write_bytes(&data).await.unwrap();
    a.flush().await.unwrap();
    let mut b = f.repo.writer("tenant-b").unwrap();
    let cb = b.write_bytes(&data).await.unwrap();
    b.flush().await.unwrap();
    assert_ne!(ca.chunks, cb.chunks, "equal data, unrelated ids");
    assert_eq!(b.stats().new_blobs, cb.chunks.len() as u64, "nothing deduplicated across tenants");
    assert!(f
        .repo
        .read_blob("tenant-b", &ca.chunks[0].id)
        .await
        .unwrap_err()
        .to_string()
        .contains("not in the chunk index"));
    // The packs are apart too, and tenant b's keys cannot open tenant a's.
    assert!(f.dir.path().join("blobs/packs/tenant-a").is_dir() && f.dir.path().join("blobs/packs/tenant-b").is_dir());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn any_content_and_range_reads_back(len in 0usize..600_000, seed: u64, a in 0u64..700_000, b in 0u64..700_000) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let f = Fixture::new();
            let repo = f.repo.with_chunking(ChunkParams { min: 4096, avg: 16384, max: 65536 });
            let data = noise(len, seed);
            let mut w = repo.writer("t").unwrap();
            let c = w.write_bytes(&data).await.unwrap();
            w.flush().await.unwrap();
            let (lo, hi) = (a.min(b).min(len as u64), a.max(b).min(len as u64));
            let got: Vec<_> = repo.read_file("t", &c.chunks, lo..hi).try_collect().await.unwrap();
            prop_assert_eq!(got.concat(), &data[lo as usize..hi as usize]);
            Ok(())
        })?;
    }
}
