//! The server clock and restore point retention: advancing the clock by 15 days thins SharePoint and
//! OneDrive points to weekly ones past 14 days but keeps Exchange's every 10 minutes; 366 days expire
//! what was there, and expired points are gone and refused by sessions.

use backstore_api::auth::CONTROL_READ;
use backstore_domain::retention;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

/// Restore points of a unit before `before`, newest first (at most five).
async fn before(app: &TestApp, token: &str, unit: &str, before: chrono::DateTime<chrono::Utc>) -> Vec<Value> {
    let t = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = app
        .get(
            &format!("restorePoints?$expand=protectionUnit($filter=id eq '{unit}')&$filter=protectionDateTime lt {t}"),
            token,
        )
        .await;
    r.expect(200);
    r.body["value"].as_array().unwrap().clone()
}

fn time(p: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(p["protectionDateTime"].as_str().unwrap()).unwrap().into()
}

#[tokio::test]
async fn advancing_the_clock_thins_and_expires_restore_points() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 1, 1, 1, 3).await;
    let (site, mailbox, drive) =
        (&seeded.protection_units[0], &seeded.protection_units[1], &seeded.protection_units[2]);
    let old_site = site.restore_point_ids[0].clone();
    let old_mail = mailbox.restore_point_ids[0].clone();
    let draft = app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[&old_mail]).await;
    let start = app.clock().now();

    let c = app.advance_clock(&token, "15d").await;
    assert_eq!(c["offsetSeconds"], 15 * 86400);
    let now = app.clock().now();
    assert!(now - start >= chrono::Duration::days(15));
    for unit in [site, mailbox, drive] {
        let newest = before(&app, &token, &unit.id, now).await;
        assert_eq!(newest.len(), 5, "new points every 10 minutes up to now");
        // The pass ran at or after `start` + 15 days (not `now`: a slot may begin between the two).
        assert!(start + chrono::Duration::days(15) - time(&newest[0]) < chrono::Duration::minutes(10));
        assert_eq!(time(&newest[0]) - time(&newest[1]), chrono::Duration::minutes(10));
        let fast = if unit.kind == "mailbox" { "none" } else { "fastRestore" };
        assert_eq!(newest[0]["tags"], fast);
        // Past 14 days: weekly points only for SharePoint and OneDrive, every 10 minutes for Exchange.
        let old = before(&app, &token, &unit.id, now - chrono::Duration::days(14)).await;
        if unit.kind == "mailbox" {
            assert_eq!(old.len(), 5);
            assert_eq!(time(&old[0]) - time(&old[1]), chrono::Duration::minutes(10));
        } else {
            assert!(old.iter().all(|p| retention::is_weekly(time(p))), "{}: {old:?}", unit.kind);
            assert!(old.iter().all(|p| p["tags"] == "none"));
        }
    }
    let site_point = app.get(&format!("restorePoints/{old_site}"), &token).await;
    if retention::is_weekly(retention::slot_floor(start)) {
        site_point.expect(200);
    } else {
        site_point.expect_error(404, "RestorePointNotFound");
    }
    app.get(&format!("restorePoints/{old_mail}"), &token).await.expect(200);
    assert_eq!(crate::sessions::rows_keyed_wrong(&app).await, 0, "the points retention took are keyed to their units");

    let before_year = app.clock().now();
    app.advance_clock(&token, "351d").await;
    app.get(&format!("restorePoints/{old_mail}"), &token).await.expect_error(404, "RestorePointNotFound");
    let body = json!({"mailboxRestoreArtifacts": [{"restorePoint": {"id": old_mail}, "destinationType": "new"}]});
    app.post("exchangeRestoreSessions", &token, &body).await.expect_error(400, "InvalidRestorePoint");
    // A session made before the point expired: its restore fails for the restore time.
    let id = draft["id"].as_str().unwrap();
    app.activate(id, &token).await.expect(200);
    app.drain().await;
    let a = app.get(&format!("exchangeRestoreSessions/{id}/mailboxRestoreArtifacts"), &token).await;
    assert_eq!(a.body["value"][0]["status"], "failed");
    assert_eq!(a.body["value"][0]["error"]["code"], "InvalidRestoreTime");
    assert_eq!(a.body["value"][0]["restorePoint"]["id"], old_mail.as_str(), "the artifact still shows its point");
    // Nothing older than a year is left; the newest points are fresh.
    let newest = before(&app, &token, &mailbox.id, app.clock().now()).await;
    assert!(before_year + chrono::Duration::days(351) - time(&newest[0]) < chrono::Duration::minutes(10));
}

#[tokio::test]
async fn the_admin_clock_needs_control_permissions() {
    let app = TestApp::spawn().await;
    let url = format!("{}/admin/clock", app.origin);
    app.send(Method::GET, &url, None, None, &[]).await.expect_error(401, "InvalidAuthenticationToken");
    let reader = app.token_for(TENANT, &[CONTROL_READ], None, 600);
    let shown = app.send(Method::GET, &url, Some(&reader), None, &[]).await;
    shown.expect(200);
    assert_eq!(shown.body["offsetSeconds"], 0);
    let advance = format!("{url}/advance");
    app.send(Method::POST, &advance, Some(&reader), Some(&json!({"by": "1d"})), &[])
        .await
        .expect_error(403, "accessDenied");
    let admin = app.token(TENANT);
    app.send(Method::POST, &advance, Some(&admin), Some(&json!({"by": "soon"})), &[])
        .await
        .expect_error(400, "BadRequest");
    app.send(Method::POST, &advance, Some(&admin), Some(&json!({})), &[]).await.expect_error(400, "BadRequest");
}
