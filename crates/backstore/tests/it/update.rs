//! The delta PATCH: the seeds' exact request bodies, the Rulings' request-level and item-level
//! errors, read-only properties, and the base-type path.

use serde_json::{json, Value};

use crate::support::*;

/// The seeds' restore point that has 35 hex digits: accepted as an id, then not found.
const SHORT_ID: &str = "2b014d8c-71fe-4d00-a01a-31850bc5b32";

/// The body of seeds 000–002 (Update sharePoint/exchange/oneDriveForBusinessRestoreSession), comments
/// removed, ids replaced by seeded ones except the 35-digit one: four adds with `destination`,
/// referenced by `reference` (`@odata.id`, or `id` as on v1.0), and three removals, the first of a
/// real artifact and two of the seed's own ids.
fn seed_body(nav: &str, reference: &str, destination: &str, rp: [&str; 3], removed: [&str; 3]) -> Value {
    let adds = [rp[0], SHORT_ID, rp[1], rp[2]]
        .map(|id| json!({ "restorePoint": { reference: id }, "destinationType": destination }));
    let removes = removed.map(|id| json!({ "@removed": { "reason": "changed" }, "id": id }));
    json!({ format!("{nav}@delta"): adds.into_iter().chain(removes).collect::<Vec<_>>() })
}

fn seed_000(rp: [&str; 3], removed: &str) -> Value {
    let theirs = ["959ba739-70b5-43c4-8c90-b2c22014f18b", "959ba739-70b5-43c4-8c90-b2c22014f18c"];
    seed_body("siteRestoreArtifacts", "@odata.id", "new", rp, [removed, theirs[0], theirs[1]])
}

fn seed_001(rp: [&str; 3], removed: &str) -> Value {
    seed_body("mailboxRestoreArtifacts", "@odata.id", "inPlace", rp, [removed, THEIRS[0], THEIRS[1]])
}

fn seed_002(rp: [&str; 3], removed: &str) -> Value {
    seed_body("driveRestoreArtifacts", "id", "new", rp, [removed, THEIRS[0], THEIRS[1]])
}

/// The artifact ids seeds 001 and 002 remove.
const THEIRS: [&str; 2] = ["4267e382-71a9-4c07-bef7-bda97e09c0d2", "3667e382-71a9-4c07-bef7-bda97e09c0d2"];

#[tokio::test]
async fn the_seeds_bodies_apply_item_by_item() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 5, 5, 5, 1).await;
    let bodies: [fn([&str; 3], &str) -> Value; 3] = [seed_000, seed_001, seed_002];
    for ((set, nav, kind, _), body) in KINDS.into_iter().zip(bodies) {
        let pts = points(&seeded, kind);
        let id = &app.draft(set, nav, &token, &[&pts[4][0]]).await;
        let existing =
            app.get(&format!("{set}/{id}/{nav}"), &token).await.body["value"][0]["id"].as_str().unwrap().to_owned();
        // inPlace is the Exchange body's destination: the session must not mix, so start it empty.
        let (id, existing) = if kind == "mailbox" {
            let s = app.create(set, nav, &token, &[]).await;
            (s["id"].as_str().unwrap().to_owned(), "3467e382-0000-0000-0000-000000000000".to_owned())
        } else {
            (id.to_owned(), existing)
        };
        let r = app.patch(&format!("{set}/{id}"), &token, &body([&pts[0][0], &pts[1][0], &pts[2][0]], &existing)).await;
        r.expect(200);
        assert_eq!(r.body["id"], id.as_str());
        assert!(r.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with(&format!("#solutions/backupRestore/{set}/$entity")));
        let echo = r.body[format!("{nav}@delta")].as_array().unwrap_or_else(|| panic!("{}", r.text));
        assert_eq!(echo.len(), 7);
        for (i, rp) in [(0, &pts[0][0]), (2, &pts[1][0]), (3, &pts[2][0])] {
            let e = &echo[i];
            assert_eq!(e["status"], "added", "{e}");
            assert_eq!(e["restorePoint"]["id"], rp.as_str());
            assert!(e["id"].as_str().is_some_and(|s| s.len() == 36));
            assert!(e["createdDateTime"].as_str().unwrap().ends_with('Z'));
            assert!(e.get("@Core.DataModificationException").is_none());
        }
        let short = &echo[1];
        assert_eq!(short["@contentId"], "1");
        assert_eq!(short["@Core.DataModificationException"]["info"]["code"], "InvalidRestorePoint");
        assert_eq!(short["@Core.DataModificationException"]["failedOperation"], "add");
        assert_eq!(short["@Core.DataModificationException"]["responseCode"], 404);
        assert_eq!(short["restorePoint"]["id"], SHORT_ID);
        if kind == "mailbox" {
            assert_eq!(echo[4]["@Core.DataModificationException"]["responseCode"], 409);
        } else {
            assert_eq!(echo[4], json!({"id": existing, "@removed": {"reason": "changed"}}));
        }
        for (i, e) in echo.iter().enumerate().skip(5) {
            assert_eq!(e["@contentId"], i.to_string());
            let x = &e["@Core.DataModificationException"];
            assert_eq!(x["info"]["code"], "Invalid");
            assert_eq!(x["info"]["message"], "The identifier to be removed from the Restore Session does not exist");
            assert_eq!(x["failedOperation"], "remove");
            assert_eq!(x["responseCode"], 409);
        }
        let after = app.get(&format!("{set}/{id}/{nav}"), &token).await;
        let rps: Vec<&str> =
            after.body["value"].as_array().unwrap().iter().map(|a| a["restorePoint"]["id"].as_str().unwrap()).collect();
        assert_eq!(rps, [pts[0][0].as_str(), &pts[1][0], &pts[2][0]], "{kind}");
        let s = app.get(&format!("restoreSessions/{id}"), &token).await;
        assert_eq!(s.body["restoreSessionArtifactCount"]["total"], 3);
    }
}

#[tokio::test]
async fn the_seeds_bodies_with_their_comments_are_not_json() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[]).await;
    let body = r#"{
  "siteRestoreArtifacts@delta": [
    {
      "restorePoint": { "@odata.id": "1b014d8c-71fe-4d00-a01a-31850bc5b32c" }, //Create a new site restore artifact and add it under the Restore Session.
      "destinationType": "new"
    }
  ]
}"#;
    let url = app.url(&format!("sharePointRestoreSessions/{}", s["id"].as_str().unwrap()));
    app.raw(reqwest::Method::PATCH, &url, &token, Some("application/json"), body.into())
        .await
        .expect_error(400, "BadRequest");
}

#[tokio::test]
async fn item_level_failures_leave_the_other_items_applied() {
    let (app, token, mine) = TestApp::seeded(TENANT, 3, 1, 0, 1).await;
    let theirs = app.seed(OTHER_TENANT, 1, 0, 0, 1).await;
    let site = points(&mine, "site");
    let expired = app.expired_point(TENANT, backstore_domain::Workload::SharePoint).await;
    let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[]).await;
    let id = s["id"].as_str().unwrap();
    let add = |rp: &str| json!({"restorePoint": {"id": rp}, "destinationType": "new"});
    let body = json!({"siteRestoreArtifacts@delta": [
        add(&site[0][0]),
        add(&points(&theirs, "site")[0][0]),
        add(&expired),
        add(&points(&mine, "mailbox")[0][0]),
        {"restorePoint": {"id": site[1][0]}, "destinationType": "new", "@contentId": "mine-7"},
    ]});
    let r = app.patch(&format!("sharePointRestoreSessions/{id}"), &token, &body).await;
    r.expect(200);
    let echo = r.body["siteRestoreArtifacts@delta"].as_array().unwrap();
    assert_eq!(echo[0]["status"], "added");
    for (i, needle) in [(1, "was not found"), (2, "has expired"), (3, "mailbox protection unit")] {
        let x = &echo[i]["@Core.DataModificationException"];
        assert_eq!(x["info"]["code"], "InvalidRestorePoint", "{}", echo[i]);
        assert!(x["info"]["message"].as_str().unwrap().contains(needle), "{}", echo[i]);
        assert_eq!(x["responseCode"], 404);
        assert_eq!(echo[i]["@contentId"], i.to_string());
    }
    assert_eq!(echo[4]["@contentId"], "mine-7");
    assert_eq!(echo[4]["status"], "added");
    let s = app.get(&format!("restoreSessions/{id}"), &token).await;
    assert_eq!(s.body["restoreSessionArtifactCount"]["total"], 2);
}

#[tokio::test]
async fn request_level_refusals_apply_nothing() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 0, 0, 52, 1).await;
    let pts: Vec<String> = points(&seeded, "drive").into_iter().map(|p| p[0].clone()).collect();
    let s = app.create("oneDriveForBusinessRestoreSessions", "driveRestoreArtifacts", &token, &[&pts[0]]).await;
    let id = s["id"].as_str().unwrap();
    let path = format!("oneDriveForBusinessRestoreSessions/{id}");
    let add = |rp: &str, d: &str| json!({"restorePoint": {"id": rp}, "destinationType": d});
    let delta = |items: Vec<Value>| json!({"driveRestoreArtifacts@delta": items});
    let too_many: Vec<Value> = pts[1..].iter().map(|p| add(p, "new")).collect();
    assert_eq!(too_many.len(), 51);
    let cases: Vec<(Value, &str)> = vec![
        (delta(too_many), "RestoreArtifactsLimitBreached"),
        (delta(vec![add(&pts[1], "new"), add(&pts[1], "new")]), "DuplicateArtifactInList"),
        (delta(vec![add(&pts[1], "new"), add(&pts[0], "new")]), "DuplicateArtifactInList"),
        (delta(vec![add(&pts[1], "new"), add(&pts[2], "inPlace")]), "DifferentRestoreDestinationType"),
        (delta(vec![add(&pts[1], "inPlace")]), "DifferentRestoreDestinationType"),
        (delta(vec![add(&pts[1], "new"), add("", "new")]), "InvalidRestorePoint"),
        (
            delta(vec![add(&pts[1], "new"), json!({"restorePoint": {}, "destinationType": "new"})]),
            "InvalidRestorePoint",
        ),
        (delta(vec![add(&pts[1], "new"), add(&pts[2], "upstairs")]), "InvalidPathType"),
        (delta(vec![add(&pts[1], "new"), json!("x")]), "InvalidPatchRequest"),
        (delta(vec![add(&pts[1], "new"), json!({"@removed": {}, "id": ""})]), "InvalidPatchRequest"),
        (delta(vec![add(&pts[1], "new"), json!({"@removed": "changed", "id": "a"})]), "InvalidPatchRequest"),
        (json!({"driveRestoreArtifacts@delta": null}), "InvalidArtifactRequest"),
        (json!({"driveRestoreArtifacts@delta": []}), "InvalidArtifactRequest"),
        (json!({"driveRestoreArtifacts@delta": {}}), "InvalidPatchRequest"),
        (json!({"driveRestoreArtifacts": [add(&pts[1], "new")]}), "InvalidPatchRequest"),
        (json!({"siteRestoreArtifacts@delta": [add(&pts[1], "new")]}), "InvalidPatchRequest"),
        (json!({"nonsense": true}), "InvalidPatchRequest"),
        (json!({"@odata.type": "#microsoft.graph.exchangeRestoreSession"}), "InvalidPatchRequest"),
        (json!({"status": "active"}), "InvalidPatchRequest"),
        (json!([1, 2]), "InvalidPatchRequest"),
    ];
    for (body, code) in cases {
        let r = app.patch(&path, &token, &body).await;
        assert_eq!(r.status.as_u16(), 400, "{body} → {}", r.text);
        assert_eq!(r.error_code(), code, "{body} → {}", r.text);
    }
    let after = app.get(&format!("restoreSessions/{id}"), &token).await;
    assert_eq!(after.body["restoreSessionArtifactCount"]["total"], 1);
    assert_eq!(after.body["lastModifiedDateTime"], s["lastModifiedDateTime"], "nothing was stamped either");
}

#[tokio::test]
async fn removes_and_adds_may_share_a_restore_point_in_one_request() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 1, 0, 0, 1).await;
    let rp = &points(&seeded, "site")[0][0];
    let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[rp]).await;
    let id = s["id"].as_str().unwrap();
    let a = app.get(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), &token).await.body["value"][0]
        ["id"]
        .clone();
    let body = json!({"siteRestoreArtifacts@delta": [
        {"@removed": {"reason": "changed"}, "id": a},
        {"restorePoint": {"id": rp}, "destinationType": "inPlace"}
    ]});
    let r = app.patch(&format!("sharePointRestoreSessions/{id}"), &token, &body).await;
    r.expect(200);
    let list = app.get(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), &token).await;
    let items = list.body["value"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["destinationType"], "inPlace");
    assert_ne!(items[0]["id"], a);
}

#[tokio::test]
async fn read_only_properties_may_only_be_echoed() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 0, 2, 0, 1).await;
    let mb = points(&seeded, "mailbox");
    let s = app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[&mb[0][0]]).await;
    let id = s["id"].as_str().unwrap();
    // What the SDKs send back: the type, the current values, datetimes with +00:00.
    let created = chrono::DateTime::parse_from_rfc3339(s["createdDateTime"].as_str().unwrap()).unwrap();
    let mut echo = json!({
        "@odata.type": "#microsoft.graph.exchangeRestoreSession",
        "id": id,
        "status": "draft",
        "restoreJobType": "standard",
        "createdDateTime": created.format("%Y-%m-%dT%H:%M:%S%.f+00:00").to_string(),
        "createdBy": {"@odata.type": "#microsoft.graph.identitySet", "application": s["createdBy"]["application"]},
        "completedDateTime": null,
        "error": null,
        "restoreSessionArtifactCount": s["restoreSessionArtifactCount"],
        "mailboxRestoreArtifacts@delta": [{"restorePoint": {"id": mb[1][0]}, "destinationType": "new"}]
    });
    let r = app.patch(&format!("exchangeRestoreSessions/{id}"), &token, &echo).await;
    r.expect(200);
    assert_eq!(r.body["mailboxRestoreArtifacts@delta"][0]["status"], "added");
    for (name, value) in [
        ("status", json!("active")),
        ("id", json!("another")),
        ("createdDateTime", json!("2015-06-19T12:01:03.45Z")),
        ("completedDateTime", json!("2015-06-19T12-01-03.45Z")),
        ("restoreJobType", json!("bulk")),
        ("createdBy", json!({"user": {"id": "someone"}})),
        ("error", json!({"code": "x"})),
        ("restoreSessionArtifactCount", json!({"total": 99})),
    ] {
        echo = json!({ name: value });
        let r = app.patch(&format!("exchangeRestoreSessions/{id}"), &token, &echo).await;
        r.expect_error(400, "InvalidPatchRequest");
        assert!(r.body["error"]["message"].as_str().unwrap().contains(&format!("'{name}'")), "{}", r.text);
    }
    // The base-type page's own example body (seed 003).
    let seed_003 = json!({
        "@odata.type": "#microsoft.graph.restoreSessionBase",
        "status": "String",
        "createdBy": { "@odata.type": "microsoft.graph.identitySet" },
        "completedDateTime": "String (timestamp)",
        "error": { "@odata.type": "microsoft.graph.publicError" }
    });
    let r = app.patch(&format!("restoreSessions/{id}"), &token, &seed_003).await;
    r.expect_error(400, "InvalidPatchRequest");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("'status'"));
}

#[tokio::test]
async fn the_base_path_patches_like_the_typed_one() {
    let (app, token, site, s) = TestApp::site_draft(2).await;
    let id = s["id"].as_str().unwrap();
    let body = json!({
        "@odata.type": "#microsoft.graph.sharePointRestoreSession",
        "siteRestoreArtifacts@delta": [{"restorePoint": {"id": site[1][0]}, "destinationType": "new"}]
    });
    let r = app.patch(&format!("restoreSessions('{id}')"), &token, &body).await;
    r.expect(200);
    assert_eq!(r.body["siteRestoreArtifacts@delta"][0]["status"], "added");
    let wrong_kind =
        json!({"mailboxRestoreArtifacts@delta": [{"restorePoint": {"id": site[1][0]}, "destinationType": "new"}]});
    app.patch(&format!("restoreSessions/{id}"), &token, &wrong_kind).await.expect_error(400, "InvalidPatchRequest");
    app.patch(&format!("exchangeRestoreSessions/{id}"), &token, &body)
        .await
        .expect_error(404, "RestoreSessionNotFound");
    let after = app.get(&format!("restoreSessions/{id}"), &token).await;
    assert_eq!(after.body["restoreSessionArtifactCount"]["total"], 2);
    assert_ne!(after.body["lastModifiedDateTime"], s["lastModifiedDateTime"]);
}
