//! The live tree of files (drives and items, store level) and its snapshots into the content store,
//! on SQLite here and PostgreSQL in `it_pg`: names unique regardless of case, conflict behaviours,
//! folder sizes, moves and deletes; a snapshot stores only what changed, an unchanged drive snapshots
//! to the same root, and a snapshot reads back as the tree it was taken of.

use backstore_content::{Keyring, Objects, Repository, VerifyReport};
use backstore_domain::Actor;
use backstore_store::{Conflict, FileBody, Store, StoreError, Writer};

use crate::support::*;

fn actor() -> Actor {
    Actor { application_id: "app".into(), application_name: Some("tests".into()), user_id: None, user_name: None }
}

async fn file(repo: &Repository<&Store>, data: &[u8]) -> FileBody {
    let mut w = repo.writer(TENANT).unwrap();
    let c = w.write_bytes(data).await.unwrap();
    w.flush().await.unwrap();
    FileBody { size: c.size, chunks: c.chunks, mime_type: Some("text/plain".into()), sha256: None, quick_xor: None }
}

#[tokio::test]
async fn a_drive_tree_changes_and_snapshots_what_changed() {
    let app = TestApp::spawn().await;
    let store = app.store();
    let repo = Repository::new(
        Objects::local(&app.data_dir().join("blobs")).unwrap(),
        Keyring::new(app.data_dir().join("keys/content")),
        store,
    );
    let who = actor();
    let w = || Writer { tenant: TENANT, actor: &who, now: chrono::Utc::now() };

    let drive = store.ensure_drive(w(), "site-1", "documentLibrary", "Documents").await.unwrap();
    assert_eq!(store.ensure_drive(w(), "site-1", "documentLibrary", "Documents").await.unwrap(), drive, "made once");
    assert!(drive.drive_id.starts_with("b!"));
    let root = drive.root_id.clone();
    let d = drive.drive_id.as_str();

    let docs = store.create_drive_folder(w(), d, &root, "Docs", Conflict::Fail).await.unwrap();
    let photos = store.create_drive_folder(w(), d, &root, "Photos", Conflict::Fail).await.unwrap();
    assert!(matches!(
        store.create_drive_folder(w(), d, &root, "docs", Conflict::Fail).await,
        Err(StoreError::NameExists(_))
    ));
    let renamed = store.create_drive_folder(w(), d, &root, "Docs", Conflict::Rename).await.unwrap();
    assert_eq!(renamed.name, "Docs 1");
    assert!(matches!(
        store.create_drive_folder(w(), d, &root, "a/b", Conflict::Fail).await,
        Err(StoreError::InvalidTreeChange(_))
    ));

    let plan = file(&repo, b"the plan, version 1").await;
    let a = store.put_drive_file(w(), d, &docs.item_id, "plan.txt", &plan, Conflict::Replace).await.unwrap();
    let pic = file(&repo, &vec![7u8; 50_000]).await;
    store.put_drive_file(w(), d, &photos.item_id, "cat.jpg", &pic, Conflict::Fail).await.unwrap();
    let again = store.put_drive_file(w(), d, &docs.item_id, "plan.txt", &plan, Conflict::Rename).await.unwrap();
    assert_eq!(again.name, "plan 1.txt");

    // Sizes add up the tree; paths resolve regardless of case; children come in name order.
    let root_item = store.drive_item(TENANT, d, &root).await.unwrap().unwrap();
    assert_eq!(root_item.size, 2 * plan.size + pic.size);
    let found = store.drive_item_at(TENANT, d, &root, "/docs/PLAN.txt").await.unwrap().unwrap();
    assert_eq!(found.item_id, a.item_id);
    let names: Vec<String> =
        store.drive_children(TENANT, d, &root, None, 10).await.unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["Docs", "Docs 1", "Photos"]);
    let page: Vec<String> =
        store.drive_children(TENANT, d, &root, Some("docs"), 1).await.unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(page, ["Docs 1"]);
    assert_eq!(store.drive_child_count(TENANT, d, &docs.item_id).await.unwrap(), 2);

    // The first snapshot; a second with nothing changed is the same root and stores nothing.
    let first = store.snapshot_drive(&repo, TENANT, d).await.unwrap();
    let before = backstore_content::GcIndex::blobs(repo.index(), TENANT).await.unwrap().len();
    assert_eq!(store.snapshot_drive(&repo, TENANT, d).await.unwrap(), first);
    assert_eq!(backstore_content::GcIndex::blobs(repo.index(), TENANT).await.unwrap().len(), before);

    // An edit under Docs: a new root, Photos' manifest shared, the replaced file keeps its id.
    let plan2 = file(&repo, b"the plan, version 2, longer").await;
    let edited = store.put_drive_file(w(), d, &docs.item_id, "PLAN.TXT", &plan2, Conflict::Replace).await.unwrap();
    assert_eq!((edited.item_id.as_str(), edited.name.as_str()), (a.item_id.as_str(), "plan.txt"));
    assert_eq!((edited.version, edited.content_version), (2, 2));
    let second = store.snapshot_drive(&repo, TENANT, d).await.unwrap();
    assert_ne!(second, first);
    let (t1, t2) = (repo.read_tree(TENANT, &first).await.unwrap(), repo.read_tree(TENANT, &second).await.unwrap());
    let tree_of = |t: &backstore_content::Tree, name: &str| t.entries.iter().find(|e| e.name == name).unwrap().tree;
    assert_eq!(tree_of(&t1, "Photos"), tree_of(&t2, "Photos"));
    assert_ne!(tree_of(&t1, "Docs"), tree_of(&t2, "Docs"));
    assert_eq!(t2.size(), plan.size + plan2.size + pic.size);
    let docs2 = repo.read_tree(TENANT, &tree_of(&t2, "Docs").unwrap()).await.unwrap();
    let plan_entry = docs2.entries.iter().find(|e| e.name == "plan.txt").unwrap();
    assert_eq!(plan_entry.chunks, plan2.chunks);
    assert_eq!(plan_entry.props.get("mimeType").map(String::as_str), Some("text/plain"));

    // Move Photos under Docs, delete Docs 1; the snapshot shows it and verifies whole.
    store.move_drive_item(w(), d, &photos.item_id, Some(&docs.item_id), Some("Pictures")).await.unwrap();
    assert!(matches!(
        store.move_drive_item(w(), d, &docs.item_id, Some(&photos.item_id), None).await,
        Err(StoreError::InvalidTreeChange(_))
    ));
    store.delete_drive_item(w(), d, &renamed.item_id).await.unwrap();
    assert!(matches!(store.delete_drive_item(w(), d, &root).await, Err(StoreError::InvalidTreeChange(_))));
    assert!(store.drive_item(TENANT, d, &renamed.item_id).await.unwrap().is_none());
    let third = store.snapshot_drive(&repo, TENANT, d).await.unwrap();
    let t3 = repo.read_tree(TENANT, &third).await.unwrap();
    assert_eq!(t3.entries.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["Docs"]);
    let mut report = VerifyReport::default();
    assert!(repo.verifier(TENANT).walk(&third, &mut report).await.unwrap().is_empty());
    assert_eq!((report.folders, report.files), (3, 3), "{report:?}");
    assert_eq!(store.drive_item(TENANT, d, &root).await.unwrap().unwrap().size, t3.size());

    // Another tenant sees none of it.
    assert!(store.drive(OTHER_TENANT, d).await.unwrap().is_none());
    assert!(store.drive_item(OTHER_TENANT, d, &docs.item_id).await.unwrap().is_none());
}
