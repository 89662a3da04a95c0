//! Creating and reading sessions and artifacts: every kind, both versions, both reference forms,
//! the polymorphic set, `$expand`, `$top` paging, `$select`, and the create-time refusals.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn create_each_kind_and_read_it_back_by_both_paths() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 2, 2, 2, 3).await;
    for (set, nav, kind, odata_type) in KINDS {
        let pts = points(&seeded, kind);
        for (version, reference) in [("v1.0", "id"), ("beta", "@odata.id")] {
            let body = json!({ nav: [
                { "restorePoint": { reference: pts[0][0] }, "destinationType": "new" },
                { "restorePoint": { reference: pts[1][0] }, "destinationType": "new" },
            ]});
            let r = app.send(Method::POST, &app.versioned(version, set), Some(&token), Some(&body), &[]).await;
            r.expect(201);
            let s = &r.body;
            let id = s["id"].as_str().unwrap();
            assert_eq!(id.len(), 36, "lower-case GUID: {id}");
            assert_eq!(id, id.to_lowercase());
            assert_eq!(s["status"], "draft");
            assert_eq!(s["restoreJobType"], "standard");
            assert_eq!(
                s["restoreSessionArtifactCount"],
                json!({"total": 2, "completed": 0, "inProgress": 0, "failed": 0})
            );
            assert_eq!(s["createdBy"]["application"]["id"], backstore_api::auth::DEFAULT_APP_ID);
            assert_eq!(s["createdBy"]["user"], Value::Null);
            assert_eq!(s["completedDateTime"], Value::Null);
            assert_eq!(s["error"], Value::Null);
            assert!(s["createdDateTime"].as_str().unwrap().ends_with('Z'));
            assert!(s.get(nav).is_none(), "navigations are not embedded unless expanded");
            assert_eq!(
                s["@odata.context"],
                format!("{}/{version}/$metadata#solutions/backupRestore/{set}/$entity", app.origin)
            );
            let location = r.header("location").unwrap().to_owned();
            assert_eq!(location, app.versioned(version, &format!("{set}/{id}")));

            let typed = app.send(Method::GET, &location, Some(&token), None, &[]).await;
            typed.expect(200);
            assert!(typed.body.get("@odata.type").is_none());
            assert_eq!(typed.body["id"], id);
            let base = app.get(&format!("restoreSessions/{id}"), &token).await;
            base.expect(200);
            assert_eq!(base.body["@odata.type"], odata_type);
            assert_eq!(base.body["restoreSessionArtifactCount"]["total"], 2);

            // The artifacts, one artifact, and its restore point.
            let list = app.get(&format!("{set}/{id}/{nav}"), &token).await;
            list.expect(200);
            let items = list.body["value"].as_array().unwrap();
            assert_eq!(items.len(), 2);
            let a = &items[0];
            assert_eq!(a["status"], "added");
            assert_eq!(a["destinationType"], "new");
            assert_eq!(a["restorePoint"]["id"], pts[0][0].as_str());
            assert!(a["restorePoint"]["protectionDateTime"].is_string());
            assert!(a["restorePoint"]["expirationDateTime"].is_string());
            assert_eq!(a["startDateTime"], Value::Null);
            assert_eq!(a["completionDateTime"], Value::Null);
            let restored = if kind == "mailbox" { "restoredFolderId" } else { "restoredSiteWebUrl" };
            assert!(a.as_object().unwrap().contains_key(restored), "{a}");
            let aid = a["id"].as_str().unwrap();
            let one = app.get(&format!("{set}/{id}/{nav}/{aid}"), &token).await;
            one.expect(200);
            assert_eq!(one.body["id"], aid);
            let rp = app.get(&format!("{set}/{id}/{nav}/{aid}/restorePoint"), &token).await;
            rp.expect(200);
            assert_eq!(rp.body["id"], pts[0][0].as_str());
            assert!(rp.body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("#solutions/backupRestore/restorePoints/$entity"));
        }
    }
}

#[tokio::test]
async fn odata_id_may_be_a_url_and_bodies_may_carry_the_sdk_annotations() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 1, 0, 0, 2).await;
    let rp = &points(&seeded, "site")[0];
    let body = json!({
        "@odata.type": "#microsoft.graph.sharePointRestoreSession",
        "siteRestoreArtifacts": [
            { "@odata.type": "#microsoft.graph.siteRestoreArtifact",
              "restorePoint": { "@odata.id": format!("https://graph.microsoft.com/v1.0/solutions/backupRestore/restorePoints('{}')", rp[0]) },
              "destinationType": "inPlace" },
            { "restorePoint": { "@odata.type": "#microsoft.graph.restorePoint", "id": rp[1] }, "destinationType": "InPlace", "status": null }
        ]
    });
    let r = app.post("sharePointRestoreSessions", &token, &body).await;
    r.expect(201);
    assert_eq!(r.body["restoreSessionArtifactCount"]["total"], 2);
}

#[tokio::test]
async fn empty_creates_make_empty_drafts_and_null_is_refused() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    for body in [None, Some(json!({})), Some(json!({"driveRestoreArtifacts": []}))] {
        let r = app
            .send(Method::POST, &app.url("oneDriveForBusinessRestoreSessions"), Some(&token), body.as_ref(), &[])
            .await;
        r.expect(201);
        assert_eq!(r.body["restoreSessionArtifactCount"]["total"], 0);
        assert_eq!(r.body["status"], "draft");
    }
    app.post("oneDriveForBusinessRestoreSessions", &token, &json!({"driveRestoreArtifacts": null}))
        .await
        .expect_error(400, "InvalidArtifactRequest");
    let list = app.get("restoreSessions", &token).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn create_refusals_write_nothing() {
    let (app, token, mine) = TestApp::seeded(TENANT, 2, 1, 0, 2).await;
    let theirs = app.seed(OTHER_TENANT, 1, 0, 0, 1).await;
    let site = points(&mine, "site");
    let mailbox = points(&mine, "mailbox");
    let expired = app.expired_point(TENANT, backstore_domain::Workload::SharePoint).await;
    let other_tenant = points(&theirs, "site")[0][0].clone();
    let art = |rp: &str, d: &str| json!({"restorePoint": {"id": rp}, "destinationType": d});
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"siteRestoreArtifacts": [art(&site[0][0], "new"), art(&site[0][0], "new")]}),
            400,
            "DuplicateArtifactInList",
        ),
        (
            json!({"siteRestoreArtifacts": [art(&site[0][0], "new"), art(&site[1][0], "inPlace")]}),
            400,
            "DifferentRestoreDestinationType",
        ),
        (json!({"siteRestoreArtifacts": [art(&site[0][0], "sideways")]}), 400, "InvalidPathType"),
        (json!({"siteRestoreArtifacts": [{"restorePoint": {"id": site[0][0]}}]}), 400, "InvalidPathType"),
        (json!({"siteRestoreArtifacts": [{"destinationType": "new"}]}), 400, "InvalidRestorePoint"),
        (json!({"siteRestoreArtifacts": [art("", "new")]}), 400, "InvalidRestorePoint"),
        (
            json!({"siteRestoreArtifacts": [{"restorePoint": {"id": 17}, "destinationType": "new"}]}),
            400,
            "InvalidRestorePoint",
        ),
        (
            json!({"siteRestoreArtifacts": [art("2b014d8c-71fe-4d00-a01a-31850bc5b32", "new")]}),
            400,
            "InvalidRestorePoint",
        ),
        (json!({"siteRestoreArtifacts": [art(&mailbox[0][0], "new")]}), 400, "InvalidRestorePoint"),
        (json!({"siteRestoreArtifacts": [art(&expired, "new")]}), 400, "InvalidRestorePoint"),
        (json!({"siteRestoreArtifacts": [art(&other_tenant, "new")]}), 400, "InvalidRestorePoint"),
        (json!({"siteRestoreArtifacts": [art(&site[0][0], "new")], "mailboxRestoreArtifacts": []}), 400, "BadRequest"),
        (json!({"siteRestoreArtifacts": [art(&site[0][0], "new")], "status": "active"}), 400, "BadRequest"),
        (
            json!({"siteRestoreArtifacts": [art(&site[0][0], "new")], "@odata.type": "#microsoft.graph.exchangeRestoreSession"}),
            400,
            "BadRequest",
        ),
        (json!({"siteRestoreArtifacts": {"restorePoint": {"id": site[0][0]}}}), 400, "BadRequest"),
        (json!({"siteRestoreArtifacts": ["x"]}), 400, "BadRequest"),
        (json!({"siteRestoreArtifacts": [art(&site[0][0], "new")], "extra": 1}), 400, "BadRequest"),
    ];
    for (body, status, code) in cases {
        let r = app.post("sharePointRestoreSessions", &token, &body).await;
        assert_eq!(r.status.as_u16(), status, "{body} → {}", r.text);
        assert_eq!(r.error_code(), code, "{body} → {}", r.text);
    }
    let list = app.get("restoreSessions", &token).await;
    assert_eq!(list.body["value"], json!([]), "nothing was created");
}

#[tokio::test]
async fn fifty_artifacts_per_request_at_most() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 0, 51, 0, 1).await;
    let all: Vec<String> = points(&seeded, "mailbox").into_iter().map(|p| p[0].clone()).collect();
    let art = |rp: &String| json!({"restorePoint": {"id": rp}, "destinationType": "new"});
    let too_many: Vec<Value> = all.iter().map(art).collect();
    app.post("exchangeRestoreSessions", &token, &json!({"mailboxRestoreArtifacts": too_many}))
        .await
        .expect_error(413, "RestoreArtifactsLimitBreached");
    let fifty: Vec<Value> = all.iter().take(50).map(art).collect();
    let r = app.post("exchangeRestoreSessions", &token, &json!({"mailboxRestoreArtifacts": fifty})).await;
    r.expect(201);
    assert_eq!(r.body["restoreSessionArtifactCount"]["total"], 50);
}

#[tokio::test]
async fn polymorphic_list_types_every_item_and_typed_lists_filter() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 1, 1, 1, 1).await;
    for (set, nav, kind, _) in KINDS {
        app.create(set, nav, &token, &[&points(&seeded, kind)[0][0]]).await;
    }
    let all = app.get("restoreSessions", &token).await;
    all.expect(200);
    assert_eq!(
        all.body["@odata.context"],
        format!("{}/v1.0/$metadata#solutions/backupRestore/restoreSessions", app.origin)
    );
    let types: Vec<&str> =
        all.body["value"].as_array().unwrap().iter().map(|s| s["@odata.type"].as_str().unwrap()).collect();
    assert_eq!(types, KINDS.iter().map(|k| k.3).collect::<Vec<_>>());
    for (set, _, _, odata_type) in KINDS {
        let typed = app.get(set, &token).await;
        let items = typed.body["value"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{set}");
        assert!(items[0].get("@odata.type").is_none());
        let cast = app.get(&format!("restoreSessions/{}", &odata_type[1..]), &token).await;
        cast.expect(200);
        assert_eq!(cast.body["value"].as_array().unwrap().len(), 1);
        assert_eq!(cast.body["value"][0]["id"], items[0]["id"]);
    }
}

#[tokio::test]
async fn expand_embeds_the_artifacts() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 2, 1, 0, 1).await;
    let site = points(&seeded, "site");
    let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&site[0][0], &site[1][0]]).await;
    app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[&points(&seeded, "mailbox")[0][0]])
        .await;
    let id = s["id"].as_str().unwrap();

    let one = app.get(&format!("sharePointRestoreSessions/{id}?$expand=siteRestoreArtifacts"), &token).await;
    one.expect(200);
    assert_eq!(one.body["siteRestoreArtifacts"].as_array().unwrap().len(), 2);

    let list = app.get("restoreSessions?$expand=*", &token).await;
    list.expect(200);
    let v = list.body["value"].as_array().unwrap();
    assert_eq!(v[0]["siteRestoreArtifacts"].as_array().unwrap().len(), 2);
    assert_eq!(v[1]["mailboxRestoreArtifacts"].as_array().unwrap().len(), 1);

    let cast =
        app.get("restoreSessions?$expand=microsoft.graph.exchangeRestoreSession/mailboxRestoreArtifacts", &token).await;
    cast.expect(200);
    assert!(cast.body["value"][0].get("siteRestoreArtifacts").is_none());
    assert_eq!(cast.body["value"][1]["mailboxRestoreArtifacts"].as_array().unwrap().len(), 1);

    app.get(&format!("sharePointRestoreSessions/{id}?$expand=mailboxRestoreArtifacts"), &token)
        .await
        .expect_error(400, "BadRequest");
    let sel = app.get(&format!("sharePointRestoreSessions/{id}?$select=status,createdBy"), &token).await;
    sel.expect(200);
    let keys: Vec<&String> = sel.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["@odata.context", "id", "status", "createdBy"]);
    app.get("restoreSessions?$select=nonsense", &token).await.expect_error(400, "BadRequest");
}

#[tokio::test]
async fn top_pages_with_absolute_next_links_and_no_duplicates() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 0, 7, 0, 1).await;
    let mut created = Vec::new();
    let pts = points(&seeded, "mailbox");
    for p in &pts {
        created.push(
            app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[&p[0]]).await["id"].clone(),
        );
    }
    // Sessions, three at a time.
    let mut seen = Vec::new();
    let mut url = app.url("exchangeRestoreSessions?$top=3");
    let mut pages = 0;
    loop {
        let r = app.send(Method::GET, &url, Some(&token), None, &[]).await;
        r.expect(200);
        pages += 1;
        seen.extend(r.body["value"].as_array().unwrap().iter().map(|s| s["id"].clone()));
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&app.origin), "absolute: {next}");
                assert!(next.contains("$top=3") && next.contains("$skiptoken="), "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    // Artifacts, two at a time, in a session with seven of them.
    let all: Vec<&str> = pts.iter().map(|p| p[0].as_str()).collect();
    let s = app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &all).await;
    let mut url =
        app.url(&format!("exchangeRestoreSessions/{}/mailboxRestoreArtifacts?$top=2", s["id"].as_str().unwrap()));
    let mut ids = Vec::new();
    loop {
        let r = app.send(Method::GET, &url, Some(&token), None, &[]).await;
        r.expect(200);
        ids.extend(
            r.body["value"].as_array().unwrap().iter().map(|a| a["restorePoint"]["id"].as_str().unwrap().to_owned()),
        );
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(ids, all);
}

#[tokio::test]
async fn artifacts_can_be_added_one_by_one_while_draft() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 0, 0, 2, 1).await;
    let pts = points(&seeded, "drive");
    let id = &app.draft("oneDriveForBusinessRestoreSessions", "driveRestoreArtifacts", &token, &[]).await;
    let path = format!("oneDriveForBusinessRestoreSessions/{id}/driveRestoreArtifacts");
    let r = app.post(&path, &token, &json!({"restorePoint": {"id": pts[0][0]}, "destinationType": "new"})).await;
    r.expect(201);
    assert_eq!(r.body["status"], "added");
    assert!(r.header("location").unwrap().ends_with(&format!("{path}/{}", r.body["id"].as_str().unwrap())));
    app.post(&path, &token, &json!({"restorePoint": {"id": pts[0][0]}, "destinationType": "new"}))
        .await
        .expect_error(400, "DuplicateArtifactInList");
    app.post(&path, &token, &json!({"restorePoint": {"id": pts[1][0]}, "destinationType": "inPlace"}))
        .await
        .expect_error(400, "DifferentRestoreDestinationType");
    app.post(&path, &token, &json!({"restorePoint": {"id": "nope"}, "destinationType": "new"}))
        .await
        .expect_error(400, "InvalidRestorePoint");
    let s = app.get(&format!("restoreSessions/{id}"), &token).await;
    assert_eq!(s.body["restoreSessionArtifactCount"]["total"], 1);
}

#[tokio::test]
async fn segments_match_case_insensitively_and_keys_take_every_form() {
    let (app, token, _, s) = TestApp::site_draft(1).await;
    let id = s["id"].as_str().unwrap();
    for path in [
        format!("sharepointRestoreSessions/{id}"),
        format!("SharePointRestoreSessions('{id}')"),
        format!("sharePointRestoreSessions({id})"),
        format!("RESTORESESSIONS('{id}')"),
        format!("restoreSessions/{id}/microsoft.graph.sharePointRestoreSession"),
    ] {
        let r = app.get(&path, &token).await;
        r.expect(200);
        assert_eq!(r.body["id"], id, "{path}");
    }
    let r = app.get(&format!("sharePointRestoreSessions('{id}')/SITERESTOREARTIFACTS"), &token).await;
    r.expect(200);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
}

/// On a SQLite file a create checks its restore points before its write's turn; a point deleted
/// between that check and the write (here by another process holding the write lock meanwhile) is
/// refused as any missing point is, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_deleted_between_the_check_and_the_write_is_refused_and_nothing_is_created() {
    if on_postgres() {
        return; // PostgreSQL checks inside the write's transaction.
    }
    let (app, token, mine) = TestApp::seeded(TENANT, 2, 0, 0, 1).await;
    let app = std::sync::Arc::new(app);
    let site = points(&mine, "site");
    let other = rusqlite::Connection::open(app.data_dir().join("backstore.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let body = json!({"siteRestoreArtifacts": [
        {"restorePoint": {"id": site[0][0]}, "destinationType": "new"},
        {"restorePoint": {"id": site[1][0]}, "destinationType": "new"},
    ]});
    let (a, t, b) = (app.clone(), token.clone(), body.clone());
    let create = tokio::spawn(async move { a.post("sharePointRestoreSessions", &t, &b).await });
    // The create has read its points and waits for the write lock.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!create.is_finished());
    other.execute("DELETE FROM restore_points WHERE id = ?", [&site[1][0]]).unwrap();
    other.execute_batch("COMMIT").unwrap();
    let r = create.await.unwrap();
    assert_eq!((r.status.as_u16(), r.error_code()), (400, "InvalidRestorePoint"), "{}", r.text);
    assert!(r.text.contains(&site[1][0]), "{}", r.text);
    assert_eq!(app.get("restoreSessions", &token).await.body["value"], json!([]), "nothing was created");
}

/// How many artifacts and restore points of the database are not joined, by their row keys, to their
/// own restore point and unit (what every page of artifacts reads through).
pub async fn rows_keyed_wrong(app: &TestApp) -> i64 {
    sqlx::any::install_default_drivers();
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.db.url).await.unwrap();
    let mut wrong = 0;
    for sql in [
        "SELECT COUNT(*) FROM restore_artifacts a LEFT JOIN restore_points rp ON rp.seq = a.point_seq \
         WHERE rp.id IS NULL OR rp.tenant_id <> a.tenant_id OR rp.id <> a.restore_point_id",
        "SELECT COUNT(*) FROM restore_points rp LEFT JOIN protection_units pu ON pu.seq = rp.unit_seq \
         WHERE pu.id IS NULL OR pu.tenant_id <> rp.tenant_id OR pu.id <> rp.protection_unit_id",
    ] {
        wrong += sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.unwrap();
    }
    wrong
}

#[tokio::test]
async fn every_way_in_keys_an_artifact_to_its_own_restore_point_and_unit() {
    // Another tenant's units and points first, so row keys and tenants do not line up.
    let app = TestApp::spawn().await;
    app.seed(OTHER_TENANT, 3, 0, 0, 2).await;
    let mine = app.seed(TENANT, 3, 0, 0, 2).await;
    let token = app.token(TENANT);
    let site = points(&mine, "site");
    let id = &app.draft("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&site[0][1]]).await;
    let path = format!("sharePointRestoreSessions/{id}");
    let delta = json!({"siteRestoreArtifacts@delta": [{"restorePoint": {"id": site[1][0]}, "destinationType": "new"}]});
    app.patch(&path, &token, &delta).await.expect(200);
    app.add_site_artifact(id, &token, &site[2][1]).await.expect(201);
    let listed = app.get(&format!("{path}/siteRestoreArtifacts"), &token).await;
    let shown: Vec<&str> =
        listed.body["value"].as_array().unwrap().iter().map(|a| a["restorePoint"]["id"].as_str().unwrap()).collect();
    assert_eq!(shown, [&site[0][1], &site[1][0], &site[2][1]]);
    assert_eq!(rows_keyed_wrong(&app).await, 0);
}
