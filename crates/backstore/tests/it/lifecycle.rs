//! Delete, activate, the engine carrying sessions to a terminal status, the status rules with the
//! Prefer header, and the limit of 25 running sessions per tenant.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use backstore_engine::FaultRules;

use crate::support::*;

#[tokio::test]
async fn delete_drafts_by_either_path_and_nothing_else() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 3, 0, 0, 1).await;
    let site = points(&seeded, "site");
    for path in ["sharePointRestoreSessions", "restoreSessions"] {
        let id = &app.draft("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&site[0][0]]).await;
        let artifacts = || async { app.store().count_artifacts((TENANT, id, false), None).await.unwrap() };
        assert_eq!(artifacts().await, 1);
        let r = app.delete(&format!("{path}/{id}"), &token).await;
        r.expect(204);
        // Its artifacts go with it (on PostgreSQL a trigger's work, on SQLite the foreign key's).
        assert_eq!(artifacts().await, 0);
        assert!(r.text.is_empty());
        app.get(&format!("restoreSessions/{id}"), &token).await.expect_error(404, "RestoreSessionNotFound");
        app.get(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), &token)
            .await
            .expect_error(404, "RestoreSessionNotFound");
        app.delete(&format!("{path}/{id}"), &token).await.expect_error(404, "RestoreSessionNotFound");
    }
    let id = &app.draft("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&site[1][0]]).await;
    app.delete(&format!("exchangeRestoreSessions/{id}"), &token).await.expect_error(404, "RestoreSessionNotFound");
    app.activate(id, &token).await.expect(200);
    app.delete(&format!("restoreSessions/{id}"), &token).await.expect_error(403, "RestoreSessionActionNotAllowed");
    app.get(&format!("restoreSessions/{id}"), &token).await.expect(200);
    assert_eq!(app.store().count_artifacts((TENANT, id, false), None).await.unwrap(), 1);
}

#[tokio::test]
async fn activation_freezes_the_session_and_the_engine_finishes_it() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 2, 1, 1, 1).await;
    let site = points(&seeded, "site");
    let id = &app.draft("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&site[0][0], &site[1][0]]).await;

    // The qualified action name works too; the Python SDK sends no body, the JavaScript one `{}`.
    let r = app
        .send(
            Method::POST,
            &app.url(&format!("sharePointRestoreSessions/{id}/microsoft.graph.activate")),
            Some(&token),
            Some(&json!({})),
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["status"], "activating");
    assert_eq!(r.body["@odata.type"], "#microsoft.graph.sharePointRestoreSession");
    assert_eq!(
        r.body["restoreSessionArtifactCount"],
        json!({"total": 2, "completed": 0, "inProgress": 2, "failed": 0})
    );
    let list = app.get(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), &token).await;
    assert!(list.body["value"].as_array().unwrap().iter().all(|a| a["status"] == "scheduling"));

    app.activate(id, &token).await.expect_error(403, "RestoreSessionActionNotAllowed");
    let patch = json!({"siteRestoreArtifacts@delta": [{"@removed": {"reason": "changed"}, "id": "x"}]});
    app.patch(&format!("sharePointRestoreSessions/{id}"), &token, &patch)
        .await
        .expect_error(403, "RestoreSessionActionNotAllowed");
    app.add_site_artifact(id, &token, &site[0][0]).await.expect_error(403, "RestoreSessionActionNotAllowed");

    app.drain().await;
    let done = app.get(&format!("restoreSessions/{id}?$expand=siteRestoreArtifacts"), &token).await;
    assert_eq!(done.body["status"], "completed");
    assert_eq!(
        done.body["restoreSessionArtifactCount"],
        json!({"total": 2, "completed": 2, "inProgress": 0, "failed": 0})
    );
    assert!(done.body["completedDateTime"].is_string());
    for a in done.body["siteRestoreArtifacts"].as_array().unwrap() {
        assert_eq!(a["status"], "succeeded");
        assert!(a["startDateTime"].is_string() && a["completionDateTime"].is_string());
        assert!(a["restoredSiteWebUrl"].as_str().unwrap().ends_with("R0"), "{a}");
        assert!(a["restoredSiteName"].is_string());
        assert_eq!(a["error"], Value::Null);
    }

    // A second `new` restore of the same site gets the next suffix; `inPlace` keeps the original URL.
    let again = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&site[0][0]]).await;
    let body = json!({"siteRestoreArtifacts": [{"restorePoint": {"id": site[1][0]}, "destinationType": "inPlace"}]});
    let in_place = app.post("sharePointRestoreSessions", &token, &body).await.body;
    let mb = json!({"mailboxRestoreArtifacts": [{"restorePoint": {"id": points(&seeded, "mailbox")[0][0]}, "destinationType": "new"}]});
    let mailbox = app.post("exchangeRestoreSessions", &token, &mb).await.body;
    for s in [&again, &in_place, &mailbox] {
        app.activate(s["id"].as_str().unwrap(), &token).await.expect(200);
    }
    app.drain().await;
    let url = |s: &Value, set: &str, nav: &str| format!("{set}/{}/{nav}", s["id"].as_str().unwrap());
    let a = &app.get(&url(&again, "sharePointRestoreSessions", "siteRestoreArtifacts"), &token).await.body["value"][0];
    assert!(a["restoredSiteWebUrl"].as_str().unwrap().ends_with("R1"), "{a}");
    let unit =
        seeded.protection_units.iter().find(|u| u.kind == "site" && u.restore_point_ids[0] == site[1][0]).unwrap();
    let b =
        &app.get(&url(&in_place, "sharePointRestoreSessions", "siteRestoreArtifacts"), &token).await.body["value"][0];
    assert_eq!(b["restoredSiteWebUrl"].as_str(), unit.site_web_url.as_deref());
    assert_eq!(b["restoredSiteId"].as_str(), unit.site_id.as_deref());
    let m =
        &app.get(&url(&mailbox, "exchangeRestoreSessions", "mailboxRestoreArtifacts"), &token).await.body["value"][0];
    assert!(m["restoredFolderName"].as_str().unwrap().starts_with("Restored Items "), "{m}");
    assert!(m["restoredFolderId"].is_string());
    assert!(m["restoredItemCount"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn empty_drafts_cannot_be_activated_and_actions_take_no_parameters() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let id = &app.draft("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[]).await;
    app.activate(id, &token).await.expect_error(400, "InvalidArtifactRequest");
    app.send(
        Method::POST,
        &app.url(&format!("restoreSessions/{id}/activate")),
        Some(&token),
        Some(&json!({"force": true})),
        &[],
    )
    .await
    .expect_error(400, "BadRequest");
    app.activate("no-such-session", &token).await.expect_error(404, "RestoreSessionNotFound");
}

/// Activated sessions whose artifacts end as given; returns the session ids.
async fn finished_sessions(app: &TestApp, token: &str, outcomes: &[&[bool]]) -> Vec<String> {
    let seeded = app.seed(TENANT, 0, 12, 0, 1).await;
    let mut pts = points(&seeded, "mailbox").into_iter().map(|p| p[0].clone());
    let mut ids = Vec::new();
    let mut failing = Vec::new();
    for outcome in outcomes {
        let mine: Vec<String> = outcome.iter().map(|_| pts.next().unwrap()).collect();
        let refs: Vec<&str> = mine.iter().map(String::as_str).collect();
        let s = app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", token, &refs).await;
        let id = s["id"].as_str().unwrap().to_owned();
        app.activate(&id, token).await.expect(200);
        for (rp, ok) in mine.iter().zip(outcome.iter()) {
            if !ok {
                failing.push(serde_json::json!({"restorePointId": rp, "action": "fail"}));
            }
        }
        ids.push(id);
    }
    let rules: FaultRules = serde_json::from_value(serde_json::json!({ "rules": failing })).unwrap();
    app.drain_with(rules).await;
    ids
}

#[tokio::test]
async fn status_rules_for_every_mix_and_the_prefer_header() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let ids = finished_sessions(&app, &token, &[&[true, true], &[false, false], &[true, false]]).await;
    let prefer = [("Prefer", "include-unknown-enum-members")];
    let expected = [
        ("completed", "completed", 2, 0),
        ("unknownFutureValue", "failed", 0, 2),
        ("completedWithError", "completedWithError", 1, 1),
    ];
    for (id, (plain, preferred, ok, failed)) in ids.iter().zip(expected) {
        let url = app.url(&format!("restoreSessions/{id}"));
        let r = app.send(Method::GET, &url, Some(&token), None, &[]).await;
        assert_eq!(r.body["status"], plain, "{}", r.text);
        assert!(r.header("preference-applied").is_none());
        assert_eq!(
            r.body["restoreSessionArtifactCount"],
            json!({"total": 2, "completed": ok, "inProgress": 0, "failed": failed})
        );
        assert!(r.body["completedDateTime"].is_string());
        let p = app.send(Method::GET, &url, Some(&token), None, &prefer).await;
        assert_eq!(p.body["status"], preferred);
        assert_eq!(p.header("preference-applied"), Some("include-unknown-enum-members"));
        if failed > 0 {
            assert_eq!(r.body["error"]["code"], "ArtifactCannotBeRestored");
            assert!(r.body["error"]["message"].as_str().unwrap().contains(&format!("{failed} of 2")));
        } else {
            assert_eq!(r.body["error"], Value::Null);
        }
        // An artifact's `failed` precedes unknownFutureValue: it is always sent as is.
        let arts = app.get(&format!("exchangeRestoreSessions/{id}/mailboxRestoreArtifacts"), &token).await;
        let statuses: Vec<&str> =
            arts.body["value"].as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == "failed").count(), failed);
        if failed > 0 {
            let f = arts.body["value"].as_array().unwrap().iter().find(|a| a["status"] == "failed").unwrap();
            assert_eq!(f["error"]["code"], "ArtifactCannotBeRestored");
            assert!(f["completionDateTime"].is_string());
        }
    }
    // The list carries the same rule.
    let list = app.get("exchangeRestoreSessions", &token).await;
    let statuses: Vec<&str> =
        list.body["value"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["completed", "unknownFutureValue", "completedWithError"]);
}

#[tokio::test]
async fn at_most_25_running_sessions_per_tenant() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let other = app.token(OTHER_TENANT);
    let seeded = app.seed(TENANT, 26, 0, 0, 1).await;
    let theirs = app.seed(OTHER_TENANT, 1, 0, 0, 1).await;
    let mut ids = Vec::new();
    for p in points(&seeded, "site") {
        let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&p[0]]).await;
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    for id in &ids[..25] {
        app.activate(id, &token).await.expect(200);
    }
    app.activate(&ids[25], &token).await.expect_error(500, "TooManyActiveRestoreSessions");
    let s = app.get(&format!("restoreSessions/{}", ids[25]), &token).await;
    assert_eq!(s.body["status"], "draft", "the refused session stays a draft");
    // Another tenant has its own allowance.
    let t = app
        .create("sharePointRestoreSessions", "siteRestoreArtifacts", &other, &[&points(&theirs, "site")[0][0]])
        .await;
    app.activate(t["id"].as_str().unwrap(), &other).await.expect(200);
    // Once the running ones finish, there is room again.
    app.drain().await;
    app.activate(&ids[25], &token).await.expect(200);
}

#[tokio::test]
async fn a_running_server_finishes_sessions_by_itself() {
    let app = TestApp::spawn_with_engine().await;
    let token = app.token(TENANT);
    let seeded = app.seed(TENANT, 1, 1, 1, 1).await;
    let mut ids = Vec::new();
    for (set, nav, kind, _) in KINDS {
        let s = app.create(set, nav, &token, &[&points(&seeded, kind)[0][0]]).await;
        ids.push(s["id"].as_str().unwrap().to_owned());
        app.activate(ids.last().unwrap(), &token).await.expect(200);
    }
    // Poll as a client would (bounded); the engine ticks every 20 ms.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for id in &ids {
        loop {
            let s = app.get(&format!("restoreSessions/{id}"), &token).await;
            if s.body["status"] == "completed" {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "session {id} did not finish: {}", s.text);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Every page of `list` (following its nextLinks), each item next to the artifact's own GET (which
/// reads the artifact's record: the page writes each row out as it reads it).
async fn pages_match_single_reads(app: &TestApp, token: &str, base: &str, query: &str, total: usize) {
    let mut url = app.url(&format!("{base}?{query}"));
    let mut seen = 0;
    loop {
        let page = app.send(Method::GET, &url, Some(token), None, &[]).await;
        page.expect(200);
        assert_eq!(page.body["@odata.count"], total, "{}", page.text);
        for item in page.body["value"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            let select = query.split('&').find(|q| q.starts_with("$select=")).unwrap_or_default();
            let mut one = app.get(&format!("{base}/{id}?{select}"), token).await;
            one.expect(200);
            one.body.as_object_mut().unwrap().remove("@odata.context");
            assert_eq!(item, &one.body, "{base}?{query}");
            seen += 1;
        }
        let Some(next) = page.body["@odata.nextLink"].as_str() else { break };
        url = next.to_owned();
    }
    assert_eq!(seen, total, "{base}?{query}");
}

#[tokio::test]
async fn pages_of_finished_artifacts_show_each_as_its_own_read_does_in_every_workload() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let seeded = app.seed(TENANT, 5, 5, 5, 1).await;
    let mut failing = Vec::new();
    let mut sessions = Vec::new();
    for (set, nav, kind, _) in KINDS {
        let pts: Vec<String> = points(&seeded, kind).into_iter().map(|p| p[0].clone()).collect();
        let refs: Vec<&str> = pts.iter().map(String::as_str).collect();
        let id = app.draft(set, nav, &token, &refs).await;
        app.activate(&id, &token).await.expect(200);
        failing.push(json!({"restorePointId": pts[1], "action": "fail"}));
        sessions.push(format!("{set}/{id}/{nav}"));
    }
    app.drain_with(serde_json::from_value(json!({ "rules": failing })).unwrap()).await;
    for base in &sessions {
        let listed = app.get(base, &token).await;
        let statuses: Vec<&str> =
            listed.body["value"].as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == "failed").count(), 1, "{}", listed.text);
        assert_eq!(statuses.iter().filter(|s| **s == "succeeded").count(), 4, "{}", listed.text);
        let restored = |a: &Value| a["restoredSiteId"].is_string() || a["restoredFolderId"].is_string();
        assert!(listed.body["value"].as_array().unwrap().iter().any(restored), "{}", listed.text);
        for query in
            ["$top=2&$count=true", "$top=3&$count=true&$select=status,error", "$count=true&$orderby=status desc&$top=4"]
        {
            pages_match_single_reads(&app, &token, base, query, 5).await;
        }
    }
}
