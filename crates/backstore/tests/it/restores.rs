//! Restores that write content, over HTTP (SQLite here, PostgreSQL in `it_pg`): a site's files
//! changed after a restore point (an edit, a deletion, an addition, a rename, a move) are restored in
//! place and to a new site, and what the Graph file paths then serve is compared item by item with
//! what was there at the point; each restore's proof says the written tree's root is the point's.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn graph(app: &TestApp, path: &str) -> String {
    format!("{}/v1.0/{path}", app.origin)
}

/// Every item of a drive by path: a folder as `folder`, a file as its size, quickXorHash and bytes.
async fn tree_of(app: &TestApp, token: &str, drive: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut folders = vec![(String::new(), format!("drives/{drive}/root/children"))];
    while let Some((prefix, path)) = folders.pop() {
        let page = app.get_abs(&graph(app, &format!("{path}?$top=1000")), token).await;
        page.expect(200);
        for item in page.body["value"].as_array().unwrap() {
            let at = format!("{prefix}/{}", item["name"].as_str().unwrap());
            if item.get("folder").is_some() {
                folders.push((at.clone(), format!("drives/{drive}/items/{}/children", item["id"].as_str().unwrap())));
                out.insert(at, "folder".to_owned());
            } else {
                let url = graph(app, &format!("drives/{drive}/items/{}/content", item["id"].as_str().unwrap()));
                let bytes = app.client.get(url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap();
                let hash = item["file"]["hashes"]["quickXorHash"].as_str().unwrap_or_default();
                out.insert(at, format!("{} {hash} {}", item["size"], String::from_utf8_lossy(&bytes)));
            }
        }
    }
    out
}

/// A restore session of one artifact of `point` to `destination`, activated and run to its end by
/// an engine with the content store; the session's id and its artifact.
async fn restore(app: &TestApp, token: &str, point: &str, destination: &str) -> (String, Value) {
    restore_in(app, token, "sharePointRestoreSessions", "siteRestoreArtifacts", point, destination).await
}

/// [`restore`] in a session of any kind: `sessions` and `artifacts` name its collections.
/// Activates session `id` of `set`, runs the engine with the content store until it is idle, and
/// checks that the session completed.
pub(crate) async fn run_to_completion(app: &TestApp, token: &str, set: &str, id: &str) {
    app.activate(id, token).await.expect(200);
    app.engine(backstore_engine::EngineConfig::default())
        .with_content(app.content())
        .run_until_idle(100)
        .await
        .unwrap();
    let session = app.get(&format!("{set}/{id}"), token).await;
    assert_eq!(session.body["status"], "completed", "{}", session.body);
}

pub(crate) async fn restore_in(
    app: &TestApp,
    token: &str,
    sessions: &str,
    artifacts: &str,
    point: &str,
    destination: &str,
) -> (String, Value) {
    let body = json!({ artifacts: [{"restorePoint": {"id": point}, "destinationType": destination}] });
    let s = app.post(sessions, token, &body).await;
    s.expect(201);
    let id = s.body["id"].as_str().unwrap().to_owned();
    run_to_completion(app, token, sessions, &id).await;
    let listed = app.get(&format!("{sessions}/{id}/{artifacts}"), token).await;
    let artifact = listed.body["value"][0].clone();
    assert_eq!(artifact["status"], "succeeded", "{artifact}");
    (id, artifact)
}

#[tokio::test]
async fn a_sites_files_are_restored_in_place_and_to_a_new_site_as_they_were_at_the_point() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 1, 0, 0, 1).await;
    let token = app.token(TENANT);
    let unit = &seeded.protection_units[0];
    let site_id = unit.site_id.clone().unwrap();
    let d = app.drive_of(&token, &format!("sites/{site_id}")).await;
    for (parent, name) in [("root", "Docs"), ("root:/Docs:", "Deep"), ("root", "Media")] {
        let url = graph(&app, &format!("drives/{d}/{parent}/children"));
        app.post_abs(&url, &token, &json!({"name": name, "folder": {}})).await.expect(201);
    }
    let big: Vec<u8> = (0..400_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x20).collect();
    for (path, body) in [
        ("Docs/plan.txt", b"the plan, first version".as_slice()),
        ("Docs/Deep/notes.md", b"# notes"),
        ("keep.txt", b"kept"),
        ("Media/big.bin", &big),
    ] {
        app.put_file(&token, &d, path, body).await;
    }
    let at_point = tree_of(&app, &token, &d).await;
    assert_eq!(at_point.len(), 7, "{at_point:?}");

    // The engine snapshots the drive; the restore points taken from then on hold its tree.
    let (root, point) = app.point_holding(&token, &d).await;

    // Everything changes: an edit, a deletion, an addition, a rename, a move.
    app.put_file(&token, &d, "Docs/plan.txt", b"the plan, rewritten after the point").await;
    app.put_file(&token, &d, "added later.txt", b"not at the point").await;
    let keep = app.get_abs(&graph(&app, &format!("drives/{d}/root:/keep.txt")), &token).await;
    app.send(
        Method::DELETE,
        &graph(&app, &format!("drives/{d}/items/{}", keep.body["id"].as_str().unwrap())),
        Some(&token),
        None,
        &[],
    )
    .await
    .expect(204);
    let deep = app.get_abs(&graph(&app, &format!("drives/{d}/root:/Docs/Deep")), &token).await;
    let deep_url = graph(&app, &format!("drives/{d}/items/{}", deep.body["id"].as_str().unwrap()));
    app.patch_abs(&deep_url, &token, &json!({"name": "Deeper"})).await.expect(200);
    let big_item = app.get_abs(&graph(&app, &format!("drives/{d}/root:/Media/big.bin")), &token).await;
    let root_item = app.get_abs(&graph(&app, &format!("drives/{d}/root")), &token).await;
    app.patch_abs(
        &graph(&app, &format!("drives/{d}/items/{}", big_item.body["id"].as_str().unwrap())),
        &token,
        &json!({"parentReference": {"id": root_item.body["id"]}}),
    )
    .await
    .expect(200);
    let changed = tree_of(&app, &token, &d).await;
    assert_ne!(changed, at_point);

    // In place: the drive is what it was at the point; the ids of what came back are the old ones.
    let (session, artifact) = restore(&app, &token, &point, "inPlace").await;
    assert_eq!(artifact["restoredSiteId"], site_id.as_str());
    assert_eq!(tree_of(&app, &token, &d).await, at_point);
    let back = app.get_abs(&graph(&app, &format!("drives/{d}/root:/keep.txt")), &token).await;
    assert_eq!(back.body["id"], keep.body["id"]);
    let proofs = app.store().restore_proofs(TENANT, &session).await.unwrap();
    assert_eq!(proofs.len(), 1);
    let proof = &proofs[0];
    assert!(proof.matches(), "{proof:?}");
    assert_eq!(proof.point_root, root.to_hex());
    // Written: the edited file, the deleted one, the renamed folder, the moved file; removed: the addition.
    assert_eq!((proof.items_written, proof.items_removed), (4, 1), "{proof:?}");
    // What it replaced is kept (garbage collection starts from it), and it is not the point's tree.
    let replaced = proof.replaced_root.clone().expect("in place keeps what it replaced");
    assert_ne!(replaced, proof.point_root);
    let roots = app.store().content_roots(TENANT).await.unwrap();
    assert!(roots.iter().any(|(r, h)| r.to_hex() == replaced && h.iter().any(|h| h.starts_with("replaced:"))));
    let (ok, out, err) = verify(&app, &token, &session).await;
    assert!(ok, "{out}{err}");
    let metrics = reqwest::get(format!("{}/metrics", app.origin)).await.unwrap().text().await.unwrap();
    let bytes = format!("backstore_restored_bytes_total {}", proof.bytes_written);
    assert!(metrics.contains("backstore_restored_items_total 4\n") && metrics.contains(&bytes), "{metrics}");
    let artifact_id = artifact["id"].as_str().unwrap();
    assert_eq!(
        out.trim(),
        format!(
            "{artifact_id} match point={0} written={0} items=4 bytes={1} removed=1",
            proof.point_root, proof.bytes_written
        )
    );

    // To a new site at the `R<n>` URL: its library holds the point's tree, served by Graph's paths.
    let (session, artifact) = restore(&app, &token, &point, "new").await;
    let new_site = artifact["restoredSiteId"].as_str().unwrap().to_owned();
    assert_ne!(new_site, site_id);
    let web_url = artifact["restoredSiteWebUrl"].as_str().unwrap().to_owned();
    assert_eq!(web_url, format!("{}R0", unit.site_web_url.as_deref().unwrap().trim_end_matches('/')));
    let site = app.get_abs(&graph(&app, &format!("sites/{new_site}")), &token).await;
    site.expect(200);
    assert_eq!(site.body["webUrl"], web_url.as_str());
    let new_drive = app.get_abs(&graph(&app, &format!("sites/{new_site}/drive")), &token).await;
    new_drive.expect(200);
    let d2 = new_drive.body["id"].as_str().unwrap().to_owned();
    assert_ne!(d2, d);
    assert_eq!(tree_of(&app, &token, &d2).await, at_point);
    let proof = &app.store().restore_proofs(TENANT, &session).await.unwrap()[0];
    assert!(proof.matches() && proof.replaced_root.is_none(), "{proof:?}");
    assert_eq!((proof.items_written, proof.bytes_written), (7, 23 + 7 + 4 + big.len() as u64));

    // A second `new` restore gets the next URL; the content is stored once (the same chunks).
    let (_, again) = restore(&app, &token, &point, "new").await;
    assert!(again["restoredSiteWebUrl"].as_str().unwrap().ends_with("R1"), "{again}");

    // `sessions verify` exits 1 while a restore has not finished, and when one wrote something else.
    let store = app.store();
    store.start_restore_proof(TENANT, "unfinished", &session, &d2, &root, None).await.unwrap();
    let (ok, out, _) = verify(&app, &token, &session).await;
    assert!(!ok && out.lines().any(|l| l.starts_with("unfinished unfinished point=")), "{out}");
    let other = roots.iter().map(|(r, _)| *r).find(|r| *r != root).expect("another tree");
    store.finish_restore_proof(TENANT, "unfinished", &other, None, app.clock().now()).await.unwrap();
    let (ok, out, _) = verify(&app, &token, &session).await;
    assert!(!ok && out.lines().any(|l| l.starts_with("unfinished mismatch point=")), "{out}");
    let admin = app.get_abs(&format!("{}/admin/restoreSessions/{session}/proofs", app.origin), &token).await;
    admin.expect(200);
    assert_eq!(admin.body["value"].as_array().unwrap().len(), 2, "{}", admin.body);
    let (ok, _, err) = verify(&app, &token, "no-such-session").await;
    assert!(!ok && err.contains("404") && err.contains("not found"), "{err}");
}

/// `backstore sessions verify` of a session on the app's server: exit status, stdout, stderr.
pub(crate) async fn verify(app: &TestApp, token: &str, session: &str) -> (bool, String, String) {
    let args = ["sessions", "verify", "--server", &app.origin, "--token", token, session].map(str::to_owned);
    tokio::task::spawn_blocking(move || crate::process::run(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .unwrap()
}
