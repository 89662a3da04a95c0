//! Granular restores over HTTP (SQLite here, PostgreSQL in `it_pg`): files and folders chosen in a
//! browse session come back, with everything below them, in one "Recovered Items" folder of their
//! library, beside what is live (which is never overwritten); mail matched by a search comes back
//! in its folders or in a "Recovered Items" folder; and every refusal in Graph's envelope.

use reqwest::Method;
use serde_json::{json, Value};

use crate::mail::graph;
use crate::restores::run_to_completion as run;
use crate::support::*;

async fn content(app: &TestApp, token: &str, drive: &str, path: &str) -> (u16, String) {
    let url = graph(app, &format!("drives/{drive}/root:/{}:/content", path));
    let r = app.client.get(url).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The keys a browse of `key` (the top level when `None`) lists, by name.
async fn keys(app: &TestApp, token: &str, browse: &str, key: Option<&str>) -> Vec<(String, String)> {
    let body = key.map_or(json!({}), |k| json!({"browseLocationItemKey": k}));
    let r = app.post(browse, token, &body).await;
    r.expect(200);
    r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap().to_owned(), i["itemKey"].as_str().unwrap().to_owned()))
        .collect()
}

fn key_of<'a>(listed: &'a [(String, String)], name: &str) -> &'a str {
    &listed.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name} not in {listed:?}")).1
}

#[tokio::test]
async fn files_and_folders_chosen_in_a_browse_session_come_back_beside_the_live_ones() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 1, 0, 0, 1).await;
    let token = app.token(TENANT);
    let unit = &seeded.protection_units[0];
    let site_id = unit.site_id.clone().unwrap();
    let d = app.drive_of(&token, &format!("sites/{site_id}")).await;
    for (parent, name) in [("root", "Docs"), ("root:/Docs:", "Deep")] {
        let url = graph(&app, &format!("drives/{d}/{parent}/children"));
        app.post_abs(&url, &token, &json!({"name": name, "folder": {}})).await.expect(201);
    }
    app.put_file(&token, &d, "Docs/plan.txt", b"the plan").await;
    app.put_file(&token, &d, "Docs/Deep/notes.md", b"# notes").await;
    app.put_file(&token, &d, "keep.txt", b"kept").await;
    let point = app.point_holding(&token, &d).await.1;
    // After the point: an edit and a deletion.
    app.put_file(&token, &d, "Docs/plan.txt", b"a changed plan").await;
    let keep = app.get_abs(&graph(&app, &format!("drives/{d}/root:/keep.txt")), &token).await;
    let keep_url = graph(&app, &format!("drives/{d}/items/{}", keep.body["id"].as_str().unwrap()));
    app.send(Method::DELETE, &keep_url, Some(&token), None, &[]).await.expect(204);

    let made = app.post("sharePointBrowseSessions", &token, &json!({"restorePointId": point})).await;
    made.expect(201);
    let browse_id = made.body["id"].as_str().unwrap().to_owned();
    let browse = format!("sharePointBrowseSessions/{browse_id}/browse");
    let top = keys(&app, &token, &browse, None).await;
    let library = keys(&app, &token, &browse, Some(&top[0].1)).await;
    let files = keys(&app, &token, &browse, Some(&library[0].1)).await;
    let (docs, kept) = (key_of(&files, "Docs").to_owned(), key_of(&files, "keep.txt").to_owned());

    // A session of two items: granular, its artifacts named by their keys.
    let body = json!({"granularSiteRestoreArtifacts": [
        {"browseSessionId": browse_id, "id": docs},
        {"@odata.type": "#microsoft.graph.granularSiteRestoreArtifact", "browseSessionId": browse_id, "id": kept},
    ]});
    let created = app.post("sharePointRestoreSessions", &token, &body).await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["restoreJobType"], "unknownFutureValue", "{}", created.body);
    let prefer = [("Prefer", "include-unknown-enum-members")];
    let url = app.url(&format!("sharePointRestoreSessions/{id}"));
    let s = app.send(Method::GET, &url, Some(&token), None, &prefer).await;
    assert_eq!(s.body["restoreJobType"], "granular");
    assert_eq!(s.body["restoreSessionArtifactCount"]["total"], 2);
    let nav = format!("sharePointRestoreSessions/{id}/granularSiteRestoreArtifacts");
    let listed = app.get(&nav, &token).await;
    listed.expect(200);
    let items = listed.body["value"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", listed.body);
    assert_eq!((items[0]["id"].as_str(), items[0]["status"].as_str()), (Some(docs.as_str()), Some("added")));
    assert_eq!(items[0]["browseSessionId"], browse_id.as_str());
    assert_eq!(items[0]["siteId"], docs.split(',').next().unwrap());
    let library_url = format!("{}/Shared%20Documents", unit.site_web_url.as_deref().unwrap().trim_end_matches('/'));
    assert_eq!(items[0]["webUrl"], format!("{library_url}/Docs").as_str());
    assert!(items[0]["restoredItemKey"].is_null() && items[0]["restorePointDateTime"].is_string());
    assert!(listed.body["@odata.context"].as_str().unwrap().ends_with("/granularSiteRestoreArtifacts"));
    let one = app.get(&format!("{nav}/{kept}"), &token).await;
    one.expect(200);
    assert_eq!(one.body["id"], kept.as_str());
    let standard = app.get(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), &token).await;
    assert_eq!(standard.body["value"], json!([]));
    app.post(&nav, &token, &json!({"browseSessionId": browse_id, "id": docs})).await.expect(405);

    run(&app, &token, "sharePointRestoreSessions", &id).await;
    let listed = app.get(&nav, &token).await;
    let done = listed.body["value"].as_array().unwrap();
    let folder = {
        let path = done[0]["restoredItemPath"].as_str().unwrap();
        let (above, folder) = path.rsplit_once('/').unwrap();
        assert!(above.ends_with("/Shared Documents"), "{path}");
        assert!(folder.starts_with("Recovered Items "), "{path}");
        assert_eq!(done[1]["restoredItemPath"], path, "one folder per session");
        folder.to_owned()
    };
    for (a, name) in done.iter().zip(["Docs", "keep.txt"]) {
        assert_eq!(a["status"], "succeeded", "{a}");
        let expected = format!("{library_url}/{}/{name}", folder.replace(' ', "%20").replace(',', "%2C"));
        assert_eq!(a["restoredItemWebUrl"], expected.as_str());
        let restored_key = a["restoredItemKey"].as_str().unwrap();
        assert!(restored_key.starts_with(&library[0].1) && restored_key.split(',').count() == 4, "{restored_key}");
        assert!(a["completionDateTime"].is_string());
    }
    // What the point held, read back through Graph's paths; the live items are as they were.
    assert_eq!(content(&app, &token, &d, &format!("{folder}/Docs/plan.txt")).await, (200, "the plan".into()));
    assert_eq!(content(&app, &token, &d, &format!("{folder}/Docs/Deep/notes.md")).await, (200, "# notes".into()));
    assert_eq!(content(&app, &token, &d, &format!("{folder}/keep.txt")).await, (200, "kept".into()));
    assert_eq!(content(&app, &token, &d, "Docs/plan.txt").await, (200, "a changed plan".into()));
    assert_eq!(content(&app, &token, &d, "keep.txt").await.0, 404);
    let restored = done[1]["restoredItemKey"].as_str().unwrap().rsplit(',').next().unwrap().to_owned();
    let by_id = app.get_abs(&graph(&app, &format!("drives/{d}/items/{restored}")), &token).await;
    assert_eq!(by_id.body["name"], "keep.txt");
    let proofs = app.store().restore_proofs(TENANT, &id).await.unwrap();
    assert_eq!(proofs.len(), 2);
    assert!(proofs.iter().all(|p| p.matches()), "{proofs:?}");
    // `sessions verify` names each artifact as Graph does: by its item key.
    let (ok, out, err) = crate::restores::verify(&app, &token, &id).await;
    assert!(ok, "{out}{err}");
    for key in [&docs, &kept] {
        assert!(out.lines().any(|l| l.starts_with(&format!("{key} match point="))), "{out}");
    }

    // A second session restores the same folder again into a folder of its own; the first stays.
    let again = app.post("sharePointRestoreSessions", &token, &json!({})).await;
    let again_id = again.body["id"].as_str().unwrap().to_owned();
    let delta = json!({"granularSiteRestoreArtifacts@delta": [{"browseSessionId": browse_id, "id": docs}]});
    let patched = app.patch(&format!("sharePointRestoreSessions/{again_id}"), &token, &delta).await;
    patched.expect(200);
    let echoed = &patched.body["granularSiteRestoreArtifacts@delta"][0];
    assert_eq!(
        (echoed["id"].as_str(), echoed["browseSessionId"].as_str()),
        (Some(docs.as_str()), Some(browse_id.as_str()))
    );
    // Removed by its key, then added back.
    let remove = json!({"granularSiteRestoreArtifacts@delta": [{"@removed": {"reason": "deleted"}, "id": docs}]});
    let r = app.patch(&format!("sharePointRestoreSessions/{again_id}"), &token, &remove).await;
    assert_eq!(r.body["granularSiteRestoreArtifacts@delta"][0]["@removed"]["reason"], "changed", "{}", r.body);
    app.patch(&format!("sharePointRestoreSessions/{again_id}"), &token, &delta).await.expect(200);
    app.advance_clock(&token, "2m").await;
    run(&app, &token, "sharePointRestoreSessions", &again_id).await;
    let second = app.get(&format!("sharePointRestoreSessions/{again_id}/granularSiteRestoreArtifacts"), &token).await;
    let second_path = second.body["value"][0]["restoredItemPath"].as_str().unwrap().to_owned();
    assert_ne!(second_path.rsplit_once('/').unwrap().1, folder);
    assert_eq!(content(&app, &token, &d, &format!("{folder}/Docs/plan.txt")).await.0, 200);
}

#[tokio::test]
async fn a_onedrives_file_comes_back_in_its_own_library() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 0, 0, 1, 1).await;
    let token = app.token(TENANT);
    let unit = seeded.protection_units.iter().find(|u| u.kind == "drive").unwrap();
    let user = unit.directory_object_id.clone().unwrap();
    let d = app.drive_of(&token, &format!("users/{user}")).await;
    app.put_file(&token, &d, "cv.docx", b"curriculum").await;
    let point = app.point_holding(&token, &d).await.1;
    app.put_file(&token, &d, "cv.docx", b"overwritten").await;
    let made = app.post("oneDriveForBusinessBrowseSessions", &token, &json!({"restorePointId": point})).await;
    let browse_id = made.body["id"].as_str().unwrap().to_owned();
    let browse = format!("oneDriveForBusinessBrowseSessions/{browse_id}/browse");
    let top = keys(&app, &token, &browse, None).await;
    let library = keys(&app, &token, &browse, Some(&top[0].1)).await;
    // The whole library, then one file of it.
    let files = keys(&app, &token, &browse, Some(&library[0].1)).await;
    let body = json!({"granularDriveRestoreArtifacts": [
        {"browseSessionId": browse_id, "id": library[0].1},
        {"browseSessionId": browse_id, "id": key_of(&files, "cv.docx")},
    ]});
    let created = app.post("oneDriveForBusinessRestoreSessions", &token, &body).await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    run(&app, &token, "oneDriveForBusinessRestoreSessions", &id).await;
    let listed =
        app.get(&format!("oneDriveForBusinessRestoreSessions/{id}/granularDriveRestoreArtifacts"), &token).await;
    let done = listed.body["value"].as_array().unwrap();
    assert_eq!(done[0]["directoryObjectId"], user.as_str());
    let folder = done[0]["restoredItemPath"].as_str().unwrap().rsplit_once('/').unwrap().1.to_owned();
    assert!(done[0]["restoredItemPath"].as_str().unwrap().contains("/Documents/Recovered Items "), "{}", listed.body);
    assert_eq!(content(&app, &token, &d, &format!("{folder}/Documents/cv.docx")).await, (200, "curriculum".into()));
    assert_eq!(content(&app, &token, &d, &format!("{folder}/cv.docx")).await, (200, "curriculum".into()));
    assert_eq!(content(&app, &token, &d, "cv.docx").await, (200, "overwritten".into()));
    assert!(app.store().restore_proofs(TENANT, &id).await.unwrap().iter().all(|p| p.matches()));
}

#[tokio::test]
async fn granular_refusals_are_in_graphs_envelope() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 2, 0, 0, 1).await;
    let token = app.token(TENANT);
    let mut browses = Vec::new();
    for unit in seeded.protection_units.iter().filter(|u| u.kind == "site") {
        let site_id = unit.site_id.clone().unwrap();
        let d = app.drive_of(&token, &format!("sites/{site_id}")).await;
        app.put_file(&token, &d, "a.txt", b"a").await;
        let point = app.point_holding(&token, &d).await.1;
        let made = app.post("sharePointBrowseSessions", &token, &json!({"restorePointId": point})).await;
        let id = made.body["id"].as_str().unwrap().to_owned();
        let browse = format!("sharePointBrowseSessions/{id}/browse");
        let top = keys(&app, &token, &browse, None).await;
        let library = keys(&app, &token, &browse, Some(&top[0].1)).await;
        let files = keys(&app, &token, &browse, Some(&library[0].1)).await;
        browses.push((id, files[0].1.clone(), point));
    }
    let (b0, k0, p0) = &browses[0];
    let (_, k1, _) = &browses[1];
    let create = |items: Value| json!({"granularSiteRestoreArtifacts": items});
    let sessions = "sharePointRestoreSessions";
    for (body, status, code) in [
        (create(json!([{"browseSessionId": "nope", "id": k0}])), 404, "BrowseSessionNotFound"),
        (create(json!([{"browseSessionId": b0, "id": k1}])), 400, "InvalidBrowseLocationItemKey"),
        (create(json!([{"browseSessionId": b0, "id": format!("{k0}x")}])), 400, "InvalidBrowseLocationItemKey"),
        (create(json!([{"browseSessionId": b0, "id": "a,b,c,d,e"}])), 400, "InvalidBrowseLocationItemKey"),
        (create(json!([{"id": k0}])), 400, "BadRequest"),
        (
            create(json!([{"browseSessionId": b0, "id": k0}, {"browseSessionId": b0, "id": k0}])),
            400,
            "DuplicateArtifactInList",
        ),
        (
            json!({"granularSiteRestoreArtifacts": [{"browseSessionId": b0, "id": k0}],
                   "siteRestoreArtifacts": [{"restorePoint": {"id": p0}, "destinationType": "new"}]}),
            400,
            "InvalidArtifactRequest",
        ),
    ] {
        app.post(sessions, &token, &body).await.expect_error(status, code);
    }
    // A OneDrive browse session does not hold a site's items; beta refuses a granular `inPlace`.
    app.post(
        "oneDriveForBusinessRestoreSessions",
        &token,
        &json!({"granularDriveRestoreArtifacts": [{"browseSessionId": b0, "id": k0}]}),
    )
    .await
    .expect_error(404, "BrowseSessionNotFound");
    let beta = format!("{}/beta/solutions/backupRestore/{sessions}", app.origin);
    let inplace = create(json!([{"browseSessionId": b0, "id": k0, "destinationType": "inPlace"}]));
    app.post_abs(&beta, &token, &inplace).await.expect_error(400, "InvalidPathType");

    // A standard session does not take granular artifacts, nor a granular one standard artifacts.
    let standard = app
        .post(
            sessions,
            &token,
            &json!({"siteRestoreArtifacts": [{"restorePoint": {"id": p0}, "destinationType": "new"}]}),
        )
        .await;
    let sid = standard.body["id"].as_str().unwrap();
    let delta = json!({"granularSiteRestoreArtifacts@delta": [{"browseSessionId": b0, "id": k0}]});
    app.patch(&format!("{sessions}/{sid}"), &token, &delta).await.expect_error(400, "InvalidArtifactRequest");
    let granular = app.post(sessions, &token, &create(json!([{"browseSessionId": b0, "id": k0}]))).await;
    let gid = granular.body["id"].as_str().unwrap();
    let add = json!({"siteRestoreArtifacts@delta": [{"restorePoint": {"id": p0}, "destinationType": "new"}]});
    app.patch(&format!("{sessions}/{gid}"), &token, &add).await.expect_error(400, "InvalidArtifactRequest");
    app.patch(&format!("{sessions}/{gid}"), &token, &delta).await.expect_error(400, "DuplicateArtifactInList");
    // In a delta, an add that cannot be resolved fails alone, as an unknown restore point does.
    let mixed = json!({"granularSiteRestoreArtifacts@delta": [
        {"browseSessionId": "nope", "id": k0},
        {"@removed": {"reason": "changed"}, "id": k0},
        {"browseSessionId": b0, "id": k1, "@contentId": "theirs"},
    ]});
    let r = app.patch(&format!("{sessions}/{gid}"), &token, &mixed).await;
    r.expect(200);
    let echo = r.body["granularSiteRestoreArtifacts@delta"].as_array().unwrap().clone();
    assert_eq!(echo.len(), 3, "{}", r.body);
    let failed = &echo[0]["@Core.DataModificationException"];
    assert_eq!((echo[0]["@contentId"].as_str(), echo[0]["id"].as_str()), (Some("0"), Some(k0.as_str())));
    assert_eq!(
        (failed["info"]["code"].as_str(), failed["responseCode"].as_i64()),
        (Some("BrowseSessionNotFound"), Some(404))
    );
    assert_eq!(echo[1]["@removed"]["reason"], "changed");
    assert_eq!(echo[2]["@contentId"], "theirs");
    assert_eq!(echo[2]["@Core.DataModificationException"]["info"]["code"], "InvalidBrowseLocationItemKey");
    let left = app.get(&format!("{sessions}/{gid}/granularSiteRestoreArtifacts"), &token).await;
    assert_eq!(left.body["value"], json!([]), "the removal applied, the refused adds did not");
    app.patch(&format!("{sessions}/{gid}"), &token, &delta).await.expect(200);
    app.get(&format!("{sessions}/{gid}/granularSiteRestoreArtifacts/{k1}"), &token)
        .await
        .expect_error(404, "ArtifactNotFound");
    app.get(&format!("{sessions}/{gid}/granularSiteRestoreArtifacts/{k0}/restorePoint"), &token).await.expect(404);
}

/// How many standard artifacts' rows hold something in a column only granular artifacts fill (a
/// page of standard artifacts neither reads nor shows those columns), and how many granular ones
/// hold a restored item.
async fn granular_columns(app: &TestApp) -> (i64, i64) {
    sqlx::any::install_default_drivers();
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    let standard = "SELECT COUNT(*) FROM restore_artifacts WHERE kind = 'standard' AND (browse_session_id IS NOT NULL \
        OR item_key IS NOT NULL OR search_response_id IS NOT NULL OR web_url IS NOT NULL \
        OR restored_item_key IS NOT NULL OR restored_item_path IS NOT NULL OR restored_item_web_url IS NOT NULL)";
    let granular = "SELECT COUNT(*) FROM restore_artifacts WHERE kind = 'granular' AND restored_item_key IS NOT NULL";
    let mut n = [0; 2];
    for (i, sql) in [standard, granular].into_iter().enumerate() {
        n[i] = sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.unwrap();
    }
    (n[0], n[1])
}

#[tokio::test]
async fn standard_artifacts_rows_hold_nothing_in_the_granular_columns_after_restores_of_both_kinds() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 1, 0, 0, 1).await;
    let token = app.token(TENANT);
    let site_id = seeded.protection_units[0].site_id.clone().unwrap();
    let d = app.drive_of(&token, &format!("sites/{site_id}")).await;
    app.put_file(&token, &d, "keep.txt", b"kept").await;
    let point = app.point_holding(&token, &d).await.1;
    let made = app.post("sharePointBrowseSessions", &token, &json!({"restorePointId": point})).await;
    let browse_id = made.body["id"].as_str().unwrap().to_owned();
    let browse = format!("sharePointBrowseSessions/{browse_id}/browse");
    let top = keys(&app, &token, &browse, None).await;
    let library = keys(&app, &token, &browse, Some(&top[0].1)).await;
    let kept = key_of(&keys(&app, &token, &browse, Some(&library[0].1)).await, "keep.txt").to_owned();

    let granular = json!({"granularSiteRestoreArtifacts": [{"browseSessionId": browse_id, "id": kept}]});
    let standard = [
        json!({"siteRestoreArtifacts": [{"restorePoint": {"id": point}, "destinationType": "new"}]}),
        json!({"siteRestoreArtifacts": [{"restorePoint": {"id": point}, "destinationType": "inPlace"}]}),
    ];
    for body in std::iter::once(&granular).chain(&standard) {
        let created = app.post("sharePointRestoreSessions", &token, body).await;
        created.expect(201);
        run(&app, &token, "sharePointRestoreSessions", created.body["id"].as_str().unwrap()).await;
    }
    let ids = app.get("sharePointRestoreSessions", &token).await;
    for s in ids.body["value"].as_array().unwrap() {
        let listed = app
            .get(&format!("sharePointRestoreSessions/{}/siteRestoreArtifacts", s["id"].as_str().unwrap()), &token)
            .await;
        for a in listed.body["value"].as_array().unwrap() {
            assert_eq!(a["status"], "succeeded", "{a}");
            assert!(a["restoredSiteId"].is_string(), "{a}");
        }
    }
    assert_eq!(granular_columns(&app).await, (0, 1));
}
