//! Browse sessions over HTTP (SQLite here, PostgreSQL in `it_pg`): a site's fast-restore point
//! opened for browsing shows the point's tree (not the live one) level by level, site → library →
//! folders, filtered by name, in four orders, paged through both next-page forms; a OneDrive's
//! too; and every refusal in Graph's envelope.

use serde_json::{json, Value};

use crate::support::*;

fn graph(app: &TestApp, path: &str) -> String {
    format!("{}/v1.0/{path}", app.origin)
}

fn names(page: &Value) -> Vec<&str> {
    page["value"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_sites_point_is_browsed_level_by_level_as_it_was() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 1, 0, 1, 1).await;
    let token = app.token(TENANT);
    let unit = seeded.protection_units.iter().find(|u| u.kind == "site").unwrap();
    let site_id = unit.site_id.clone().unwrap();
    let d = app.drive_of(&token, &format!("sites/{site_id}")).await;
    for (parent, name) in [("root", "Docs"), ("root:/Docs:", "Deep"), ("root", "Many")] {
        let url = graph(&app, &format!("drives/{d}/{parent}/children"));
        app.post_abs(&url, &token, &json!({"name": name, "folder": {}})).await.expect(201);
    }
    app.put_file(&token, &d, "Docs/plan.txt", b"the plan").await;
    app.put_file(&token, &d, "Docs/Deep/notes.md", b"# notes").await;
    app.put_file(&token, &d, "keep.txt", b"kept").await;
    for n in 0..130 {
        app.put_file(&token, &d, &format!("Many/file {n:03}.txt"), format!("file {n}").as_bytes()).await;
    }
    let point = app.point_holding(&token, &d).await.1;
    // Changed after the point: browsing shows the point's tree, not this.
    let keep = app.get_abs(&graph(&app, &format!("drives/{d}/root:/keep.txt")), &token).await;
    let keep_url = graph(&app, &format!("drives/{d}/items/{}", keep.body["id"].as_str().unwrap()));
    app.send(reqwest::Method::DELETE, &keep_url, Some(&token), None, &[]).await.expect(204);

    let made = app.post("sharePointBrowseSessions", &token, &json!({"restorePointId": point})).await;
    made.expect(201);
    let s = &made.body;
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["@odata.type"], "#microsoft.graph.sharePointBrowseSession");
    assert_eq!((s["status"].as_str(), s["siteId"].as_str()), (Some("created"), Some(site_id.as_str())));
    assert_eq!(s["restorePointId"], point.as_str());
    let bytes: usize = 8 + 7 + 4 + (0..130).map(|n: usize| format!("file {n}").len()).sum::<usize>();
    assert_eq!(s["backupSizeInBytes"], bytes.to_string().as_str());
    let created = chrono::DateTime::parse_from_rfc3339(s["createdDateTime"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(s["expirationDateTime"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, chrono::Duration::days(3));
    assert!(s["restorePointDateTime"].is_string());
    let got = app.get(&format!("sharePointBrowseSessions/{id}"), &token).await;
    assert_eq!(got.body["id"], id.as_str());
    let all = app.get("browseSessions?$count=true", &token).await;
    assert_eq!(all.body["value"].as_array().unwrap().len(), 1, "{}", all.body);
    assert_eq!(all.body["@odata.count"], 1);
    for (path, n) in [("browseSessions/$count", "1"), ("oneDriveForBusinessBrowseSessions/$count", "0")] {
        let r = app.get(path, &token).await;
        assert_eq!((r.status.as_u16(), r.text.as_str()), (200, n), "{path}");
    }
    assert_eq!(all.body["value"][0]["@odata.type"], "#microsoft.graph.sharePointBrowseSession");
    let none = app.get("oneDriveForBusinessBrowseSessions", &token).await;
    assert_eq!(none.body["value"], json!([]));
    app.get(&format!("oneDriveForBusinessBrowseSessions/{id}"), &token)
        .await
        .expect_error(404, "BrowseSessionNotFound");

    // The top level is the site, then its library, then the library's folders and files.
    let browse = format!("sharePointBrowseSessions/{id}/browse");
    let top = app.post(&browse, &token, &json!({})).await;
    top.expect(200);
    assert_eq!(top.body["@odata.count"], 1);
    let site = &top.body["value"][0];
    assert_eq!((site["type"].as_str(), site["webUrl"].as_str()), (Some("site"), unit.site_web_url.as_deref()));
    assert_eq!(site["itemKey"].as_str().unwrap().split(',').count(), 2);
    let libraries = app
        .post(&browse, &token, &json!({"browseLocationItemKey": site["itemKey"], "browseResourceType": "site"}))
        .await;
    let library = &libraries.body["value"][0];
    assert_eq!(
        (library["type"].as_str(), library["name"].as_str()),
        (Some("documentLibrary"), Some("Shared Documents"))
    );
    assert_eq!(library["itemsCount"], 3);
    let in_library = app.post(&browse, &token, &json!({"browseLocationItemKey": library["itemKey"]})).await;
    assert_eq!(names(&in_library.body), ["Docs", "keep.txt", "Many"], "the deleted file is in the point");
    let docs = &in_library.body["value"][0];
    assert_eq!(
        (docs["type"].as_str(), docs["itemsCount"].as_u64(), docs["sizeInBytes"].as_str()),
        (Some("folder"), Some(2), Some("15"))
    );
    assert_eq!(docs["itemKey"].as_str().unwrap().split(',').count(), 4);
    let in_docs = app
        .post(
            &browse,
            &token,
            &json!({"browseLocationItemKey": docs["itemKey"], "browseResourceType": "folder", "orderBy": "nameDsc"}),
        )
        .await;
    assert_eq!(names(&in_docs.body), ["plan.txt", "Deep"]);
    let plan = &in_docs.body["value"][0];
    let web = format!("{}/Shared%20Documents/Docs/plan.txt", unit.site_web_url.as_deref().unwrap());
    assert_eq!(
        (plan["type"].as_str(), plan["webUrl"].as_str(), plan["sizeInBytes"].as_str()),
        (Some("file"), Some(web.as_str()), Some("8"))
    );
    let filtered = app
        .post(&browse, &token, &json!({"browseLocationItemKey": library["itemKey"], "filter": "(name -contains 'EE')"}))
        .await;
    assert_eq!(names(&filtered.body), ["keep.txt"]);

    // 130 files: a page of 100, then the rest through the nextLink and through nextFetchToken.
    let many = &in_library.body["value"][2];
    let first =
        app.post(&browse, &token, &json!({"browseLocationItemKey": many["itemKey"], "orderBy": "pathDsc"})).await;
    assert_eq!((first.body["@odata.count"].as_u64(), first.body["value"].as_array().unwrap().len()), (Some(130), 100));
    assert_eq!(names(&first.body)[0], "file 129.txt");
    let next = first.body["@odata.nextLink"].as_str().expect("a next page").to_owned();
    assert!(next.contains("/browse?$skiptoken="), "{next}");
    let rest = app.get_abs(&next, &token).await;
    rest.expect(200);
    assert_eq!(names(&rest.body).len(), 30);
    assert_eq!(*names(&rest.body).last().unwrap(), "file 000.txt");
    assert!(rest.body.get("@odata.nextLink").is_none());
    let token_text = next.split("$skiptoken=").nth(1).unwrap();
    let by_function = app.get(&format!("{browse}(nextFetchToken='{token_text}')"), &token).await;
    assert_eq!(by_function.body["value"], rest.body["value"]);

    // Beta shows who made and changed each item, and when.
    let beta = app
        .post_abs(
            &format!("{}/beta/solutions/backupRestore/{browse}", app.origin),
            &token,
            &json!({"browseLocationItemKey": library["itemKey"]}),
        )
        .await;
    assert!(beta.body["value"][1]["lastModifiedDateTime"].is_string(), "{}", beta.body);
    assert!(in_library.body["value"][1].get("lastModifiedDateTime").is_none(), "v1.0 has no such member");

    // Refusals, in Graph's envelope.
    app.post("sharePointBrowseSessions/nope/browse", &token, &json!({}))
        .await
        .expect_error(404, "BrowseSessionNotFound");
    let foreign = "11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222";
    let refused = app.post(&browse, &token, &json!({"browseLocationItemKey": foreign})).await;
    refused.expect_error(400, "InvalidBrowseLocationItemKey");
    let refused = app.post(&browse, &token, &json!({"browseLocationItemKey": plan["itemKey"]})).await;
    refused.expect_error(400, "InvalidBrowseLocationItemKey");
    let refused = app
        .post(
            &browse,
            &token,
            &json!({"browseLocationItemKey": docs["itemKey"], "browseResourceType": "documentLibrary"}),
        )
        .await;
    refused.expect_error(400, "InvalidBrowseLocationItemKey");
    let refused =
        app.post(&browse, &token, &json!({"browseLocationItemKey": library["itemKey"], "filter": "name eq 'x'"})).await;
    refused.expect_error(400, "BadRequest");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("position 5"), "{}", refused.body);
    app.post(&browse, &token, &json!({"orderBy": "sideways"})).await.expect_error(400, "BadRequest");
    app.post("sharePointBrowseSessions", &token, &json!({})).await.expect_error(400, "InvalidRestorePoint");
    app.post("sharePointBrowseSessions", &token, &json!({"restorePointId": "nope"}))
        .await
        .expect_error(400, "InvalidRestorePoint");
    let drive_unit = seeded.protection_units.iter().find(|u| u.kind == "drive").unwrap();
    let drive_point = &drive_unit.restore_point_ids[0];
    let refused = app.post("sharePointBrowseSessions", &token, &json!({"restorePointId": drive_point})).await;
    refused.expect_error(400, "InvalidRestorePoint");
    app.post("browseSessions", &token, &json!({"restorePointId": point})).await.expect_error(405, "MethodNotAllowed");
    let reader = app.token_with(TENANT, true, None, 3600);
    app.get("browseSessions", &reader).await.expect_error(403, "accessDenied");

    // Three days on, the session is gone, and the point is no longer a fast-restore one.
    app.advance_clock(&token, "3d").await;
    app.get(&format!("sharePointBrowseSessions/{id}"), &token).await.expect_error(404, "BrowseSessionNotFound");
    app.advance_clock(&token, "12d").await;
    app.engine(backstore_engine::EngineConfig::default()).retention().await;
    let stale = app.post("sharePointBrowseSessions", &token, &json!({"restorePointId": point})).await;
    stale.expect_error(400, "InvalidRestorePoint");
}

#[tokio::test]
async fn a_onedrives_point_is_browsed_from_its_personal_site() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 0, 0, 1, 1).await;
    let token = app.token(TENANT);
    let unit = seeded.protection_units.iter().find(|u| u.kind == "drive").unwrap();
    let user = unit.directory_object_id.clone().unwrap();
    let d = app.drive_of(&token, &format!("users/{user}")).await;
    app.put_file(&token, &d, "cv.docx", b"curriculum").await;
    let point = app.point_holding(&token, &d).await.1;
    let made = app.post("oneDriveForBusinessBrowseSessions", &token, &json!({"restorePointId": point})).await;
    made.expect(201);
    assert_eq!(made.body["directoryObjectId"], user.as_str());
    assert_eq!(made.body["@odata.type"], "#microsoft.graph.oneDriveForBusinessBrowseSession");
    let browse = format!("oneDriveForBusinessBrowseSessions/{}/browse", made.body["id"].as_str().unwrap());
    let top = app.post(&browse, &token, &json!({})).await;
    assert_eq!(top.body["value"][0]["type"], "site");
    let library = app.post(&browse, &token, &json!({"browseLocationItemKey": top.body["value"][0]["itemKey"]})).await;
    assert_eq!(library.body["value"][0]["name"], "Documents");
    let files = app.post(&browse, &token, &json!({"browseLocationItemKey": library.body["value"][0]["itemKey"]})).await;
    assert_eq!(names(&files.body), ["cv.docx"]);
    let site = unit.site_web_url.as_deref().unwrap();
    assert_eq!(files.body["value"][0]["webUrl"], format!("{site}/Documents/cv.docx").as_str());
}
