//! The content store over the real chunk index (SQLite here, PostgreSQL in `it_pg`): what one
//! process stores, another finds, deduplicates against and reads back; tenants stay apart; a blob
//! the collector condemned is taken back by a writer that deduplicates against it.

use backstore_content::{Keyring, Objects, Repository};
use futures::TryStreamExt;
use sqlx::Connection;

use crate::support::*;

fn repo(app: &TestApp) -> Repository<std::sync::Arc<backstore_store::Store>> {
    Repository::new(
        Objects::local(&app.data_dir().join("blobs")).unwrap(),
        Keyring::new(app.data_dir().join("keys").join("content")),
        app.store(),
    )
}

fn text(n: usize, seed: u64) -> Vec<u8> {
    (0..n).map(|i| b"abcdefghij klmnopqrstuvwxyz\n"[(i * 7 + (i >> 9) * seed as usize) % 28]).collect()
}

#[tokio::test]
async fn the_sql_chunk_index_is_shared_deduplicates_and_keeps_tenants_apart() {
    let app = TestApp::spawn().await;
    let (doc, note) = (text(3 << 20, 3), b"a short note".to_vec());

    // "Process" one writes two files.
    let one = repo(&app);
    let mut w = one.writer(TENANT).unwrap();
    let doc_c = w.write_bytes(&doc).await.unwrap();
    let note_c = w.write_bytes(&note).await.unwrap();
    w.flush().await.unwrap();
    let first = w.stats();
    assert!(first.new_blobs >= 4 && first.packs >= 1, "{first:?}");

    // "Process" two (its own keyring and object store handle, the same database and data dir)
    // finds every chunk and stores nothing new; it reads what one wrote.
    let two = repo(&app);
    let mut w2 = two.writer(TENANT).unwrap();
    let again = w2.write_bytes(&doc).await.unwrap();
    w2.flush().await.unwrap();
    assert_eq!(again.chunks, doc_c.chunks);
    assert_eq!((w2.stats().new_blobs, w2.stats().packs), (0, 0), "{:?}", w2.stats());
    let read: Vec<_> = two.read_file(TENANT, &doc_c.chunks, 0..doc_c.size).try_collect().await.unwrap();
    assert_eq!(read.concat(), doc);
    let read: Vec<_> = two.read_file(TENANT, &note_c.chunks, 0..note_c.size).try_collect().await.unwrap();
    assert_eq!(read.concat(), note);

    // Recording the same pack twice changes nothing.
    let at = app.store().content_locate(TENANT, &note_c.chunks[0].id).await.unwrap().unwrap();
    app.store().content_record_pack(TENANT, &at.pack, 1, &[]).await.unwrap();
    assert_eq!(app.store().content_locate(TENANT, &note_c.chunks[0].id).await.unwrap(), Some(at));

    // Another tenant neither finds the first one's blobs nor shares its chunks.
    assert!(app.store().content_locate(OTHER_TENANT, &note_c.chunks[0].id).await.unwrap().is_none());
    let mut other = one.writer(OTHER_TENANT).unwrap();
    let theirs = other.write_bytes(&note).await.unwrap();
    other.flush().await.unwrap();
    assert_ne!(theirs.chunks, note_c.chunks);
    assert_eq!(other.stats().new_blobs, 1);

    // A condemned blob is taken back by the writer that deduplicates against it.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("UPDATE content_blobs SET condemned_at = 1 WHERE tenant_id = 'tenant-a'")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut w3 = two.writer(TENANT).unwrap();
    w3.write_bytes(&note).await.unwrap();
    w3.flush().await.unwrap();
    assert_eq!(w3.stats().new_blobs, 0);
    let condemned: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM content_blobs WHERE tenant_id = 'tenant-a' AND condemned_at IS NULL AND blob_id = '{}'",
        note_c.chunks[0].id
    ))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(condemned, 1, "taken back");
    conn.close().await.ok();
}

#[tokio::test]
async fn garbage_collection_over_the_sql_index_keeps_what_live_roots_need() {
    use backstore_content::{Entry, GcIndex, GcOptions, Tree, VerifyReport};
    let app = TestApp::spawn().await;
    let repo = repo(&app).with_pack_target(256 * 1024);
    let (gone, kept) = (text(600_000, 5), text(500_000, 9));
    let mut w = repo.writer(TENANT).unwrap();
    let g = w.write_bytes(&gone).await.unwrap();
    let k = w.write_bytes(&kept).await.unwrap();
    let old = w
        .write_tree(&Tree {
            entries: vec![
                Entry::file("gone.txt", "1", g.size, g.chunks.clone()),
                Entry::file("kept.txt", "2", k.size, k.chunks.clone()),
            ],
        })
        .await
        .unwrap();
    let live =
        w.write_tree(&Tree { entries: vec![Entry::file("kept.txt", "2", k.size, k.chunks.clone())] }).await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(app.store().tenants().await.unwrap(), vec![TENANT.to_owned()]);

    // No grace: the first pass condemns, the next removes, the one after drops repacked packs.
    let now = || GcOptions { grace: std::time::Duration::ZERO, ..GcOptions::new() };
    let first = repo.collect_garbage(TENANT, &[live], &now()).await.unwrap();
    assert!(first.condemned_blobs >= 2 && first.removed_blobs == 0, "{first:?}");
    let second = repo.collect_garbage(TENANT, &[live], &now()).await.unwrap();
    assert_eq!(second.removed_blobs, first.condemned_blobs, "{second:?}");
    let third = repo.collect_garbage(TENANT, &[live], &now()).await.unwrap();
    assert_eq!(third.removed_blobs, 0, "{third:?}");
    let mut report = VerifyReport::default();
    assert!(repo.verifier(TENANT).walk(&live, &mut report).await.unwrap().is_empty());
    assert_eq!(report.bytes, kept.len() as u64);
    assert!(repo.read_tree(TENANT, &old).await.unwrap_err().is_damage());
    assert!(app.store().content_locate(TENANT, &g.chunks[0].id).await.unwrap().is_none());
    let settled = repo.collect_garbage(TENANT, &[live], &now()).await.unwrap();
    assert_eq!((settled.removed_blobs, settled.deleted_packs, settled.orphan_packs), (0, 0, 0), "{settled:?}");
}
