//! Garbage collection on a real directory: what live roots need stays, what only expired snapshots
//! held goes after the grace period, a writer that deduplicates against condemned data keeps it,
//! mostly-garbage packs are repacked, orphan packs are removed, and a dry run changes nothing.

use std::time::Duration;

use backstore_content::{BlobId, Entry, GcOptions, Keyring, MemoryIndex, Objects, Repository, Tree, VerifyReport};
use futures::TryStreamExt;
use rand::{RngCore, SeedableRng};

const HOUR: i64 = 3_600_000_000;

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

fn repo(dir: &std::path::Path) -> Repository<MemoryIndex> {
    Repository::new(Objects::local(&dir.join("blobs")).unwrap(), Keyring::new(dir.join("keys")), MemoryIndex::new())
        .with_pack_target(512 * 1024)
}

/// A snapshot of one folder holding these files.
async fn snapshot(repo: &Repository<MemoryIndex>, files: &[(&str, &[u8])]) -> BlobId {
    let mut w = repo.writer("t").unwrap();
    let mut entries = Vec::new();
    for (name, data) in files {
        let c = w.write_bytes(data).await.unwrap();
        entries.push(Entry::file(*name, *name, c.size, c.chunks));
    }
    let root = w.write_tree(&Tree { entries }).await.unwrap();
    w.flush().await.unwrap();
    root
}

async fn sound(repo: &Repository<MemoryIndex>, root: &BlobId) -> VerifyReport {
    let mut report = VerifyReport::default();
    let damage = repo.verifier("t").walk(root, &mut report).await.unwrap();
    assert!(damage.is_empty(), "{damage:?}");
    report
}

fn pack_files(dir: &std::path::Path) -> usize {
    walk(&dir.join("blobs"))
}

fn walk(p: &std::path::Path) -> usize {
    std::fs::read_dir(p)
        .map(|d| d.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

fn at(now_offset_hours: i64) -> GcOptions {
    GcOptions { now: chrono::Utc::now().timestamp_micros() + now_offset_hours * HOUR, ..GcOptions::new() }
}

#[tokio::test]
async fn expired_snapshots_are_collected_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let (old, shared, new) = (noise(900_000, 1), noise(700_000, 2), noise(600_000, 3));
    let first = snapshot(&repo, &[("old.bin", &old), ("shared.bin", &shared)]).await;
    let second = snapshot(&repo, &[("shared.bin", &shared), ("new.bin", &new)]).await;

    // Both snapshots live: nothing is garbage.
    let r = repo.collect_garbage("t", &[first, second], &at(0)).await.unwrap();
    assert_eq!((r.condemned_blobs, r.removed_blobs, r.deleted_packs), (0, 0, 0), "{r:?}");

    // The first expires. Its own chunks are condemned, not removed, within the grace period.
    let blobs_before = repo.index().blob_count("t");
    let r = repo.collect_garbage("t", &[second], &at(0)).await.unwrap();
    assert!(r.condemned_blobs >= 2 && r.removed_blobs == 0, "{r:?}");
    assert_eq!(repo.index().blob_count("t"), blobs_before);

    // A dry run after the grace period says what would go and changes nothing.
    let files = pack_files(dir.path());
    let dry = repo.collect_garbage("t", &[second], &GcOptions { dry_run: true, ..at(2) }).await.unwrap();
    assert_eq!(dry.removed_blobs, r.condemned_blobs);
    assert_eq!((repo.index().blob_count("t"), pack_files(dir.path())), (blobs_before, files));

    // After the grace period they go; the second snapshot is whole, the first's own data is gone.
    let r = repo.collect_garbage("t", &[second], &at(2)).await.unwrap();
    assert_eq!(r.removed_blobs, dry.removed_blobs, "{r:?}");
    assert!(r.freed_bytes > 0 || r.repacked_packs > 0, "{r:?}");
    let report = sound(&repo, &second).await;
    assert_eq!(report.bytes, (shared.len() + new.len()) as u64);
    let err = repo.read_tree("t", &first).await.unwrap_err();
    assert!(err.is_damage(), "{err}");

    // Repacked packs' old copies go in a later collection, and everything stays readable.
    let r = repo.collect_garbage("t", &[second], &at(4)).await.unwrap();
    assert_eq!(r.removed_blobs, 0, "{r:?}");
    sound(&repo, &second).await;
    let r = repo.collect_garbage("t", &[second], &at(6)).await.unwrap();
    assert_eq!((r.removed_blobs, r.deleted_packs, r.repacked_packs, r.orphan_packs), (0, 0, 0, 0), "settled: {r:?}");
    let stored: u64 = repo.index().pack_sizes("t").iter().map(|(_, s)| s).sum();
    assert!(
        stored < (shared.len() + new.len()) as u64 * 3 / 2,
        "what is left is about what the live snapshot holds: {stored}"
    );
}

#[tokio::test]
async fn a_writer_that_reuses_condemned_data_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let data = noise(300_000, 4);
    let first = snapshot(&repo, &[("a.bin", &data)]).await;
    let empty = snapshot(&repo, &[]).await;
    let r = repo.collect_garbage("t", &[empty], &at(0)).await.unwrap();
    assert!(r.condemned_blobs >= 2, "{r:?}");

    // The same file is written again: the writer finds its chunks (taking them back), stores nothing.
    let mut w = repo.writer("t").unwrap();
    let c = w.write_bytes(&data).await.unwrap();
    let root = w.write_tree(&Tree { entries: vec![Entry::file("a.bin", "a.bin", c.size, c.chunks)] }).await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(root, first, "the same tree");
    assert_eq!(w.stats().new_blobs, 0, "{:?}", w.stats());

    // Long after, with the new root live, nothing it needs is removed.
    let r = repo.collect_garbage("t", &[empty, root], &at(5)).await.unwrap();
    assert_eq!(r.removed_blobs, 0, "{r:?}");
    sound(&repo, &root).await;
}

#[tokio::test]
async fn orphan_packs_go_after_the_grace_period_and_a_broken_mark_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let root = snapshot(&repo, &[("a.bin", &noise(100_000, 5))]).await;
    // A pack written by a writer that died before recording it.
    let keys = repo.keys().tenant("t").unwrap();
    let mut b = backstore_content::pack::PackBuilder::new();
    let junk = noise(5000, 6);
    let id = keys.blob_id(backstore_content::BlobKind::Data, &junk);
    b.push(
        backstore_content::BlobKind::Data,
        id,
        backstore_content::codec::seal(&keys, backstore_content::BlobKind::Data, &id, &junk),
    );
    let orphan = b.finish(&keys);
    repo.objects().put_pack("t", &orphan.id, orphan.parts).await.unwrap();

    let r = repo.collect_garbage("t", &[root], &at(0)).await.unwrap();
    assert_eq!(r.orphan_packs, 0, "young orphans may still be recorded");
    let r = repo.collect_garbage("t", &[root], &at(2)).await.unwrap();
    assert_eq!(r.orphan_packs, 1, "{r:?}");
    let listed: Vec<_> = repo.objects().list_packs("t").try_collect().await.unwrap();
    assert!(listed.iter().all(|p| p.id != orphan.id));
    sound(&repo, &root).await;

    // A root that cannot be read stops the collection before it condemns anything.
    let missing = keys.blob_id(backstore_content::BlobKind::Tree, b"never stored");
    let before = repo.index().blob_count("t");
    assert!(repo.collect_garbage("t", &[root, missing], &at(9)).await.is_err());
    assert_eq!(repo.index().blob_count("t"), before);
    let r = repo.collect_garbage("t", &[root], &GcOptions { grace: Duration::ZERO, ..at(9) }).await.unwrap();
    assert_eq!(r.condemned_blobs, 0, "{r:?}");
}

#[tokio::test]
async fn a_rotated_key_reseals_old_blobs_and_is_retired_once_nothing_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let (a, b) = (noise(1_500_000, 21), noise(700_000, 22));
    let first = snapshot(&repo, &[("a.bin", &a), ("b.bin", &b)]).await;
    assert_eq!(repo.keys().rotate("t").unwrap(), 2);
    // New blobs go under key 2; the old ones stay readable under key 1.
    let second = snapshot(&repo, &[("a.bin", &a), ("c.bin", &noise(300_000, 23))]).await;
    let used = repo.keys_in_use("t").await.unwrap();
    assert_eq!(used.keys().copied().collect::<Vec<_>>(), vec![1, 2], "{used:?}");
    let old_blobs = used[&1];

    let dry = repo.reseal("t", true).await.unwrap();
    assert!(dry.packs_rewritten > 0 && dry.blobs_resealed > 0, "{dry:?}");
    assert_eq!(repo.keys_in_use("t").await.unwrap(), used, "a dry run changes nothing");
    let done = repo.reseal("t", false).await.unwrap();
    assert_eq!(done.current_key, 2);
    assert_eq!(done.packs_rewritten, dry.packs_rewritten);
    assert!(done.blobs_resealed > 0 && done.blobs_resealed < old_blobs, "trailers are not blobs: {done:?}");
    sound(&repo, &first).await;
    sound(&repo, &second).await;

    // The old packs are garbage now but still stored, so key 1 may not go yet.
    let none = std::collections::BTreeSet::from_iter(repo.keys_in_use("t").await.unwrap().into_keys());
    assert!(none.contains(&1));
    assert!(repo.keys().retire("t", &none).unwrap().is_empty());
    // After collection (past the grace period) nothing uses key 1, and it is retired.
    let gc = repo.collect_garbage("t", &[first, second], &at(2)).await.unwrap();
    assert_eq!(gc.deleted_packs, done.packs_rewritten, "{gc:?}");
    let in_use = std::collections::BTreeSet::from_iter(repo.keys_in_use("t").await.unwrap().into_keys());
    assert_eq!(in_use, std::collections::BTreeSet::from([2]));
    assert_eq!(repo.keys().retire("t", &in_use).unwrap(), vec![1]);
    let keys = repo.keys().tenant("t").unwrap();
    assert_eq!((keys.versions().collect::<Vec<_>>(), keys.data_key(1).is_none()), (vec![2], true));
    assert!(keys.created(2).is_some());

    // With only key 2 left, both snapshots read; deduplication goes on (the id key did not change),
    // and re-sealing again has nothing to do.
    sound(&repo, &first).await;
    sound(&repo, &second).await;
    let mut w = repo.writer("t").unwrap();
    let c = w.write_bytes(&a).await.unwrap();
    assert_eq!(w.stats().new_blobs, 0);
    let read: Vec<_> = repo.read_file("t", &c.chunks, 0..c.size).try_collect().await.unwrap();
    assert_eq!(read.concat(), a);
    assert_eq!(repo.reseal("t", false).await.unwrap().packs_rewritten, 0);
}
