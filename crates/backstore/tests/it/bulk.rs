//! Restore artifact bulk addition requests: created `active` on an empty draft, resolved by the
//! engine after activation into artifacts (restore point by preference, window and tags), ending
//! `completed` or `completedWithErrors`; the rules and codes of the service.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

const NAV: &str = "mailboxRestoreArtifactsBulkAdditionRequests";

#[tokio::test]
async fn a_bulk_request_resolves_into_artifacts_after_activation() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 0, 3, 0, 4).await;
    let m: Vec<_> = seeded.protection_units.iter().collect();
    let id = &app.draft("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[]).await;
    let body = json!({
        "@odata.type": "#microsoft.graph.mailboxRestoreArtifactsBulkAdditionRequest",
        "displayName": "EXO-BulkRestore",
        "mailboxes": [m[0].email.as_deref().unwrap().to_uppercase(), "nobody@contoso.onmicrosoft.com"],
        "directoryObjectIds": [m[1].directory_object_id, m[0].directory_object_id],
        "destinationType": "new",
        "restorePointPreference": "oldest",
        "protectionTimePeriod": {"startDateTime": "2020-01-01T00:00:00Z", "endDateTime": null},
    });
    let r = app.post(&format!("exchangeRestoreSessions/{id}/{NAV}"), &token, &body).await;
    r.expect(201);
    let request_id = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.header("location").unwrap().ends_with(&format!("{NAV}/{request_id}")));
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["displayName"], "EXO-BulkRestore");
    assert_eq!(r.body["mailboxes"], json!([]), "the big list is returned empty, as the service does");
    assert_eq!(r.body["directoryObjectIds"], json!([m[1].directory_object_id, m[0].directory_object_id]));
    assert_eq!(r.body["restorePointPreference"], "oldest");
    let session = app.get(&format!("restoreSessions/{id}"), &token).await;
    assert_eq!(session.body["restoreJobType"], "bulk");

    // A bulk session's artifacts come from its request only, and it takes one request.
    let delta = json!({"mailboxRestoreArtifacts@delta": [{"restorePoint": {"id": m[2].restore_point_ids[0]}, "destinationType": "new"}]});
    let mailboxes = ("exchangeRestoreSessions", "mailboxRestoreArtifacts");
    app.refuses_delta(mailboxes, id, &token, &delta, (400, "InvalidPatchRequest")).await;
    app.post(&format!("exchangeRestoreSessions/{id}/{NAV}"), &token, &body)
        .await
        .expect_error(400, "BulkRestoreInvalidCreateRequest");
    app.delete(&format!("exchangeRestoreSessions/{id}/{NAV}/{request_id}"), &token)
        .await
        .expect_error(403, "InvalidStateForBulkRequestDeletion");

    let activated = app.activate(id, &token).await;
    activated.expect(200);
    assert_eq!(activated.body["status"], "activating");
    assert_eq!(activated.body["restoreSessionArtifactCount"]["total"], 0);
    app.drain().await;

    let done = app.get(&format!("exchangeRestoreSessions/{id}/{NAV}/{request_id}"), &token).await;
    done.expect(200);
    assert_eq!(done.body["status"], "completedWithErrors");
    let details = done.body["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0]["target"], "nobody@contoso.onmicrosoft.com");
    assert_eq!(details[0]["code"], "ProtectionUnitNotFound");
    let arts = app.get(&format!("exchangeRestoreSessions/{id}/mailboxRestoreArtifacts"), &token).await;
    let points: Vec<&str> =
        arts.body["value"].as_array().unwrap().iter().map(|a| a["restorePoint"]["id"].as_str().unwrap()).collect();
    // One artifact per unit (the first mailbox named twice), each at its oldest point.
    assert_eq!(points, [m[0].restore_point_ids[3].as_str(), m[1].restore_point_ids[3].as_str()]);
    assert!(arts.body["value"].as_array().unwrap().iter().all(|a| a["status"] == "succeeded"));
    let session = app.get(&format!("restoreSessions/{id}"), &token).await;
    assert_eq!(session.body["status"], "completed");
    assert_eq!(session.body["restoreSessionArtifactCount"]["total"], 2);

    let list = app.get(&format!("exchangeRestoreSessions/{id}/{NAV}?$count=true"), &token).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["@odata.count"], 1);
    let count = app.get(&format!("exchangeRestoreSessions/{id}/{NAV}/$count"), &token).await;
    assert_eq!((count.status.as_u16(), count.text.as_str()), (200, "1"));
    app.get(&format!("exchangeRestoreSessions/nope/{NAV}/$count"), &token)
        .await
        .expect_error(404, "RestoreSessionNotFound");
    app.get(&format!("exchangeRestoreSessions/{id}/{NAV}/not-a-guid"), &token)
        .await
        .expect_error(400, "InvalidBulkRestoreArtifactId");
    app.get(&format!("exchangeRestoreSessions/{id}/{NAV}/{}", uuid::Uuid::new_v4()), &token)
        .await
        .expect_error(404, "BulkRestoreArtifactsNotFound");
    app.delete(&format!("exchangeRestoreSessions/{id}/{NAV}/{request_id}"), &token).await.expect(204);
    assert_eq!(app.get(&format!("exchangeRestoreSessions/{id}/{NAV}"), &token).await.body["value"], json!([]));
    assert_eq!(crate::sessions::rows_keyed_wrong(&app).await, 0, "the request's artifacts are keyed to their points");
}

#[tokio::test]
async fn sites_and_drives_resolve_by_url_email_and_id() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 2, 0, 1, 2).await;
    let (s0, s1, d0) = (&seeded.protection_units[0], &seeded.protection_units[1], &seeded.protection_units[2]);
    let site_session = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[]).await;
    let sid = site_session["id"].as_str().unwrap();
    let site_guid = s1.site_id.as_deref().unwrap().split(',').nth(1).unwrap();
    let body = json!({"siteWebUrls": [format!("{}/", s0.site_web_url.as_deref().unwrap())], "siteIds": [site_guid],
                      "destinationType": "inPlace", "tags": "fastRestore"});
    app.post(&format!("sharePointRestoreSessions/{sid}/siteRestoreArtifactsBulkAdditionRequests"), &token, &body)
        .await
        .expect(201);
    let drive_session = app.create("oneDriveForBusinessRestoreSessions", "driveRestoreArtifacts", &token, &[]).await;
    let did = drive_session["id"].as_str().unwrap();
    let body = json!({"drives": [d0.email], "destinationType": "new"});
    let r = app
        .post(
            &format!("oneDriveForBusinessRestoreSessions/{did}/driveRestoreArtifactsBulkAdditionRequests"),
            &token,
            &body,
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["drives"], json!([]));
    app.activate(sid, &token).await.expect(200);
    app.activate(did, &token).await.expect(200);
    app.drain().await;
    let sites = app.get(&format!("sharePointRestoreSessions/{sid}/siteRestoreArtifacts"), &token).await;
    let points: Vec<&str> =
        sites.body["value"].as_array().unwrap().iter().map(|a| a["restorePoint"]["id"].as_str().unwrap()).collect();
    assert_eq!(points, [s0.restore_point_ids[0].as_str(), s1.restore_point_ids[0].as_str()], "latest by default");
    assert!(sites.body["value"].as_array().unwrap().iter().all(|a| a["destinationType"] == "inPlace"));
    let drives = app.get(&format!("oneDriveForBusinessRestoreSessions/{did}/driveRestoreArtifacts"), &token).await;
    assert_eq!(drives.body["value"][0]["restorePoint"]["id"], d0.restore_point_ids[0].as_str());
    assert_eq!(drives.body["value"][0]["status"], "succeeded");
}

#[tokio::test]
async fn a_request_that_resolves_nothing_fails_the_session() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    app.seed(TENANT, 0, 1, 0, 1).await;
    let id = &app.draft("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[]).await;
    let body = json!({"mailboxes": ["ghost@contoso.onmicrosoft.com"], "directoryObjectIds": ["no-such-user"], "destinationType": "new"});
    app.post(&format!("exchangeRestoreSessions/{id}/{NAV}"), &token, &body).await.expect(201);
    app.activate(id, &token).await.expect(200);
    app.drain().await;
    let prefer = [("Prefer", "include-unknown-enum-members")];
    let session = app.send(Method::GET, &app.url(&format!("restoreSessions/{id}")), Some(&token), None, &prefer).await;
    assert_eq!(session.body["status"], "failed");
    let requests = app.get(&format!("exchangeRestoreSessions/{id}/{NAV}"), &token).await;
    assert_eq!(requests.body["value"][0]["status"], "completedWithErrors");
    assert_eq!(requests.body["value"][0]["error"]["details"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bulk_requests_are_refused_as_the_service_refuses_them() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 0, 1, 0, 1).await;
    let m = &seeded.protection_units[0];
    let empty = app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[]).await;
    let path = format!("exchangeRestoreSessions/{}/{NAV}", empty["id"].as_str().unwrap());
    let many: Vec<String> = (0..10_001).map(|i| format!("u{i}@contoso.com")).collect();
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({}), 400, "BulkRestoreInvalidCreateRequest"),
        (json!({"mailboxes": [], "destinationType": "new"}), 400, "BulkRestoreInvalidCreateRequest"),
        (
            json!({"mailboxes": ["not-an-address"], "destinationType": "new"}),
            400,
            "BulkRestoreInvalidCreateRequestUserEmail",
        ),
        (json!({"mailboxes": ["a@b.com"]}), 400, "InvalidPathType"),
        (json!({"mailboxes": ["a@b.com"], "destinationType": "sideways"}), 400, "InvalidPathType"),
        (json!({"mailboxes": many, "destinationType": "new"}), 400, "BulkRestoreRestorationResourcesCountExceedsLimit"),
        (
            json!({"mailboxes": ["a@b.com"], "destinationType": "new", "protectionUnitIds": [m.id]}),
            400,
            "BulkRestoreInvalidCreateRequest",
        ),
        (
            json!({"siteWebUrls": ["https://contoso.sharepoint.com"], "destinationType": "new"}),
            400,
            "BulkRestoreInvalidCreateRequest",
        ),
        (
            json!({"mailboxes": ["a@b.com"], "destinationType": "new", "status": "completed"}),
            400,
            "BulkRestoreInvalidCreateRequest",
        ),
        (
            json!({"mailboxes": ["a@b.com"], "destinationType": "new", "restorePointPreference": "middle"}),
            400,
            "BulkRestoreInvalidCreateRequest",
        ),
    ];
    for (body, status, code) in cases {
        let r = app.post(&path, &token, &body).await;
        assert_eq!(r.status.as_u16(), status, "{}: {}", body.to_string().chars().take(120).collect::<String>(), r.text);
        assert_eq!(r.error_code(), code, "{}", r.text);
    }
    let raw = app.raw(Method::POST, &app.url(&path), &token, Some("application/json"), Vec::new()).await;
    raw.expect_error(400, "BulkRestoreInvalidCreateRequest");
    // Site URLs are checked as such (the docs' own example has a space in it).
    let site = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[]).await;
    let site_path =
        format!("sharePointRestoreSessions/{}/siteRestoreArtifactsBulkAdditionRequests", site["id"].as_str().unwrap());
    app.post(
        &site_path,
        &token,
        &json!({"siteWebUrls": ["https: //contoso1.sharepoint.com"], "destinationType": "new"}),
    )
    .await
    .expect_error(400, "BulkRestoreInvalidCreateRequestSiteUrl");
    // Manual artifacts and a bulk request do not mix; an active session takes none.
    let manual =
        app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[&m.restore_point_ids[0]]).await;
    let manual_path = format!("exchangeRestoreSessions/{}/{NAV}", manual["id"].as_str().unwrap());
    let ok = json!({"mailboxes": [m.email], "destinationType": "new"});
    app.post(&manual_path, &token, &ok).await.expect_error(400, "BulkRestoreInvalidCreateRequest");
    app.activate(manual["id"].as_str().unwrap(), &token).await.expect(200);
    app.post(&manual_path, &token, &ok).await.expect_error(403, "RestoreSessionActionNotAllowed");
    app.post(&format!("exchangeRestoreSessions/nope/{NAV}"), &token, &ok)
        .await
        .expect_error(404, "RestoreSessionNotFound");
    assert_eq!(app.get(&path, &token).await.body["value"], json!([]), "nothing was created");
    // Reading needs Restore.Read, creating Restore.ReadWrite; other tenants see nothing.
    let reader = app.token_with(TENANT, true, None, 600);
    app.get(&path, &reader).await.expect(200);
    app.post(&path, &reader, &ok).await.expect_error(403, "accessDenied");
    app.get(&path, &app.token(OTHER_TENANT)).await.expect_error(404, "RestoreSessionNotFound");
}
