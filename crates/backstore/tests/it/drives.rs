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

async fn file(repo: &Repository<std::sync::Arc<Store>>, data: &[u8]) -> FileBody {
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
        store.clone(),
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

/// The arguments that point `verify` / `gc` at the app's data dir and database.
pub(crate) fn content_args(app: &TestApp) -> Vec<String> {
    let d = app.data_dir().to_str().unwrap().to_owned();
    let mut args = vec!["--data-dir".to_owned(), d];
    if on_postgres() {
        args.extend(["--database-url".to_owned(), app.db.url.clone()]);
    }
    args
}

pub(crate) fn run_json(args: &[String]) -> (bool, serde_json::Value, String) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = crate::process::run(&refs);
    (ok, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}")), err)
}

#[tokio::test]
async fn restore_points_hold_their_drives_tree_and_verify_names_the_points_a_damaged_file_affects() {
    let app = TestApp::spawn().await;
    let report = app.seed(TENANT, 1, 0, 0, 1).await;
    let unit = report.protection_units.iter().find(|u| u.kind == "site").unwrap();
    let store = app.store();
    let content = app.content();
    let who = actor();
    let w = || Writer { tenant: TENANT, actor: &who, now: chrono::Utc::now() };
    let drive =
        store.ensure_drive(w(), unit.site_id.as_deref().unwrap(), "documentLibrary", "Documents").await.unwrap();
    let docs = store.create_drive_folder(w(), &drive.drive_id, &drive.root_id, "Docs", Conflict::Fail).await.unwrap();
    let body = {
        let mut writer = content.writer(TENANT).unwrap();
        let c = writer.write_bytes(&vec![42u8; 300_000]).await.unwrap();
        writer.flush().await.unwrap();
        FileBody { size: c.size, chunks: c.chunks, mime_type: None, sha256: None, quick_xor: None }
    };
    let plan =
        store.put_drive_file(w(), &drive.drive_id, &docs.item_id, "plan.bin", &body, Conflict::Fail).await.unwrap();

    // The engine snapshots the drive before its retention pass; the points added from then on hold
    // the tree.
    app.engine(backstore_engine::EngineConfig::default()).with_content(content.clone()).retention().await;
    let token = app.token(TENANT);
    app.advance_clock(&token, "25m").await;
    let roots = store.content_roots(TENANT).await.unwrap();
    let root = store.drive(TENANT, &drive.drive_id).await.unwrap().unwrap().last_root.expect("snapshotted");
    let holders = &roots.iter().find(|(r, _)| *r == root).expect("the drive's root is kept").1;
    let new_points: Vec<&String> = holders.iter().filter(|h| !h.starts_with("drive:")).collect();
    assert!(!new_points.is_empty(), "restore points taken after the snapshot hold it: {roots:?}");
    assert!(new_points.iter().all(|p| !unit.restore_point_ids.contains(p)), "the seeded point predates the drive");

    let (ok, found, err) = run_json(&[&["verify".to_owned()][..], &content_args(&app)].concat());
    assert!(ok, "{err}");
    assert_eq!((found["tenants"].as_u64(), found["files"].as_u64()), (Some(1), Some(1)), "{found}");
    assert_eq!(found["damaged"], serde_json::json!([]));

    // A later edit: the drive's newest snapshot changes, the points keep the old tree.
    store.delete_drive_item(w(), &drive.drive_id, &plan.item_id).await.unwrap();
    let (ok, gc, err) =
        run_json(&[&["gc".to_owned(), "--grace".to_owned(), "0s".to_owned()][..], &content_args(&app)].concat());
    assert!(ok, "{err}");
    assert_eq!(gc["tenants"][0]["removedBlobs"], 0, "the restore points still hold the file: {gc}");
    let read: Vec<_> =
        futures::TryStreamExt::try_collect::<Vec<_>>(content.read_file(TENANT, &plan.chunks, 0..plan.size))
            .await
            .unwrap();
    assert_eq!(read.concat().len(), 300_000);

    // Damage the file's pack: verify exits 1 and names the restore points that held it.
    let at = store.content_locate(TENANT, &plan.chunks[0].id).await.unwrap().unwrap();
    let hex = at.pack.to_hex();
    let pack = app.data_dir().join("blobs/packs").join(TENANT).join(&hex[..2]).join(&hex);
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[at.offset as usize + 64] ^= 0xff;
    std::fs::write(&pack, bytes).unwrap();
    let (ok, found, _) = run_json(&[&["verify".to_owned()][..], &content_args(&app)].concat());
    assert!(!ok, "verify exits 1 on damage");
    let damaged = found["damaged"].as_array().unwrap();
    assert_eq!(damaged.len(), 1, "{found}");
    assert_eq!(damaged[0]["path"], "/Docs/plan.bin");
    let points: Vec<&str> =
        damaged[0]["restorePoints"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    for p in &new_points {
        assert!(points.contains(&p.as_str()), "{points:?}");
    }
    assert!(points.iter().all(|p| !p.starts_with("drive:")), "the live drive no longer holds it: {points:?}");
}
