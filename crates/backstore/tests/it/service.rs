//! The tenant's service state: a tenant that has not enabled Microsoft 365 Backup is refused
//! everywhere but the root and `enable`; enabling turns everything on.

use backstore_api::auth::{CONTROL_READ, RESTORE_READ_WRITE};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

const OFF: &str = "tenant-off";

#[tokio::test]
async fn a_disabled_tenant_is_refused_until_it_enables_the_service() {
    let app = TestApp::spawn().await;
    let token = app.token(OFF);
    let root =
        app.send(Method::GET, &format!("{}/v1.0/solutions/backupRestore", app.origin), Some(&token), None, &[]).await;
    root.expect(200);
    assert!(root.body["@odata.context"].as_str().unwrap().ends_with("/v1.0/$metadata#solutions/backupRestore/$entity"));
    assert_eq!(root.body["serviceStatus"]["status"], "disabled");

    for (method, path, body) in [
        (Method::GET, "restoreSessions", None),
        (Method::POST, "sharePointRestoreSessions", Some(json!({}))),
        (Method::GET, "exchangeRestoreSessions/x/mailboxRestoreArtifacts", None),
        (Method::POST, "restoreSessions/x/activate", None),
        (Method::GET, "protectionUnits", None),
        (Method::GET, "restorePoints/x", None),
        (Method::POST, "restorePoints/search", Some(json!({}))),
    ] {
        let r = app.send(method, &app.url(path), Some(&token), body.as_ref(), &[]).await;
        r.expect_error(403, "BackupServiceNotEnabled");
    }

    let enable = app.url("enable");
    app.send(Method::POST, &enable, Some(&token), Some(&json!({})), &[])
        .await
        .expect_error(400, "InvalidAppOwnerTenantId");
    app.send(Method::POST, &enable, Some(&token), Some(&json!({"appOwnerTenantId": "  "})), &[])
        .await
        .expect_error(400, "InvalidAppOwnerTenantId");
    app.send(Method::POST, &enable, Some(&token), Some(&json!({"appOwnerTenantId": OFF, "x": 1})), &[])
        .await
        .expect_error(400, "BadRequest");
    let reader = app.token_for(OFF, &[CONTROL_READ, RESTORE_READ_WRITE], None, 600);
    app.send(Method::POST, &enable, Some(&reader), Some(&json!({"appOwnerTenantId": OFF})), &[])
        .await
        .expect_error(403, "accessDenied");

    let r = app
        .send(
            Method::POST,
            &app.url("microsoft.graph.enable"),
            Some(&token),
            Some(&json!({"appOwnerTenantId": "isv-tenant"})),
            &[],
        )
        .await;
    r.expect(200);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("$metadata#microsoft.graph.serviceStatus"));
    assert_eq!(r.body["status"], "enabled");
    assert_eq!(r.body["backupServiceConsumer"], "thirdparty");
    assert!(r.body["lastModifiedDateTime"].as_str().unwrap().ends_with('Z'));
    let own = app.send(Method::POST, &enable, Some(&token), Some(&json!({"appOwnerTenantId": OFF})), &[]).await;
    assert_eq!(own.body["backupServiceConsumer"], "firstparty");

    app.get("restoreSessions", &token).await.expect(200);
    let root =
        app.send(Method::GET, &format!("{}/beta/solutions/backupRestore", app.origin), Some(&reader), None, &[]).await;
    assert_eq!(root.body["serviceStatus"]["status"], "enabled");
    assert_eq!(root.body["serviceStatus"]["lastModifiedBy"]["application"]["id"], backstore_api::auth::DEFAULT_APP_ID);
    app.get("restoreSessions", &token).await.expect(200);
    let without_control = app.token_for(OFF, &[RESTORE_READ_WRITE], None, 600);
    let denied = app
        .send(Method::GET, &format!("{}/v1.0/solutions/backupRestore", app.origin), Some(&without_control), None, &[])
        .await;
    denied.expect_error(403, "accessDenied");
    assert_eq!(root.body["id"], Value::String(OFF.into()));
}

#[tokio::test]
async fn seed_enables_the_service() {
    let app = TestApp::spawn().await;
    let token = app.token("seeded-tenant");
    app.get("restoreSessions", &token).await.expect_error(403, "BackupServiceNotEnabled");
    app.seed("seeded-tenant", 1, 0, 0, 1).await;
    app.get("restoreSessions", &token).await.expect(200);
}

/// `POST /admin/<what>` with the caller's token.
async fn admin(app: &TestApp, what: &str, token: &str, body: Value) -> Resp {
    app.send(Method::POST, &format!("{}/admin/{what}", app.origin), Some(token), Some(&body), &[]).await
}

#[tokio::test]
async fn locked_service_states_stop_the_changes_they_cover() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    // The directory comes in through the admin endpoint, groups included.
    let r = admin(
        &app,
        "directory",
        &token,
        json!({ "resources": [
            { "kind": "site", "siteId": "contoso.sharepoint.com,a,b", "siteName": "Alpha", "webUrl": "https://contoso.sharepoint.com/sites/alpha" },
            { "kind": "mailbox", "directoryObjectId": "u-1", "displayName": "Ann", "email": "ann@contoso.com", "groups": ["g-1"] },
        ]}),
    )
    .await;
    r.expect(200);
    assert_eq!(r.body, json!({ "added": 2, "known": 0 }));
    admin(&app, "directory", &token, json!({ "resources": [{ "kind": "site" }] }))
        .await
        .expect_error(400, "BadRequest");
    admin(&app, "directory", &token, json!({ "resources": [{ "kind": "team", "siteId": "x" }] }))
        .await
        .expect_error(400, "BadRequest");
    let reader = app.token_for(TENANT, &[CONTROL_READ], None, 3600);
    admin(&app, "directory", &reader, json!({ "resources": [] })).await.expect_error(403, "accessDenied");

    let policy = json!({ "mailboxProtectionUnits": [{ "directoryObjectId": "u-1" }] });
    let r = app.post("exchangeProtectionPolicies", &token, &policy).await;
    r.expect(201);
    let id = r.body["id"].as_str().unwrap().to_owned();

    // protectionChangeLocked: no protection change, restores go on.
    let r = admin(&app, "service", &token, json!({ "status": "protectionChangeLocked" })).await;
    r.expect(200);
    assert_eq!(r.body["status"], "protectionChangeLocked");
    let root =
        app.send(Method::GET, &format!("{}/v1.0/solutions/backupRestore", app.origin), Some(&token), None, &[]).await;
    assert_eq!(root.body["serviceStatus"]["status"], "protectionChangeLocked");
    app.post("exchangeProtectionPolicies", &token, &policy)
        .await
        .expect_error(403, "BackupServiceProtectionChangeLocked");
    app.post(&format!("protectionPolicies/{id}/activate"), &token, &json!({}))
        .await
        .expect_error(403, "BackupServiceProtectionChangeLocked");
    app.post(
        &format!("exchangeProtectionPolicies/{id}/mailboxInclusionRules"),
        &token,
        &json!({ "mailboxExpression": "memberOf -any (group.id -in ['g-1'])" }),
    )
    .await
    .expect_error(403, "BackupServiceProtectionChangeLocked");
    app.get(&format!("protectionPolicies/{id}"), &token).await.expect(200);
    app.post("exchangeRestoreSessions", &token, &json!({})).await.expect(201);

    // restoreLocked: restores stop too; reading does not.
    admin(&app, "service", &token, json!({ "status": "restoreLocked" })).await.expect(200);
    app.post("exchangeRestoreSessions", &token, &json!({})).await.expect_error(403, "BackupServiceRestoreLocked");
    app.patch(&format!("exchangeProtectionPolicies/{id}"), &token, &json!({ "displayName": "x" }))
        .await
        .expect_error(403, "BackupServiceRestoreLocked");
    app.get("restoreSessions", &token).await.expect(200);

    // Back to enabled; disabled refuses everything again.
    admin(&app, "service", &token, json!({ "status": "enabled" })).await.expect(200);
    app.post(&format!("protectionPolicies/{id}/activate"), &token, &json!({})).await.expect(202);
    admin(&app, "service", &token, json!({ "status": "paused" })).await.expect_error(400, "BadRequest");
    admin(&app, "service", &reader, json!({ "status": "enabled" })).await.expect_error(403, "accessDenied");
    admin(&app, "service", &app.token("never-enabled"), json!({ "status": "enabled" }))
        .await
        .expect_error(403, "BackupServiceNotEnabled");
    let r = admin(&app, "service", &token, json!({ "status": "disabled" })).await;
    assert_eq!(r.body["disableReason"], "userRequested");
    app.get("restoreSessions", &token).await.expect_error(403, "BackupServiceNotEnabled");
}

/// A session's GET and the page of its artifacts pass the gate on the status read with their rows
/// (on PostgreSQL one statement reads both): each change of the status is seen by the very next
/// read, and the gate still answers before the caller's permissions and the query's options do.
#[tokio::test]
async fn the_reads_that_carry_the_status_see_each_change_of_it_at_once() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let report = app.seed(TENANT, 2, 0, 0, 1).await;
    let pts = points(&report, "site");
    let id = app.draft("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&pts[0][0], &pts[1][0]]).await;
    let reads = [
        format!("sharePointRestoreSessions/{id}"),
        format!("restoreSessions/{id}"),
        format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"),
        format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts?$top=1"),
    ];
    let bad_options = [
        format!("sharePointRestoreSessions/{id}?$select=nothing"),
        format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts?$orderby=nothing"),
    ];
    let missing = ["sharePointRestoreSessions/missing", "sharePointRestoreSessions/missing/siteRestoreArtifacts"];
    let no_restore_read = app.token_for(TENANT, &[CONTROL_READ], None, 3600);
    let enable = json!({ "appOwnerTenantId": TENANT });
    for round in 0..2 {
        for status in ["restoreLocked", "disabled", "enabled"] {
            if status == "enabled" {
                app.post("enable", &token, &enable).await.expect(200);
            } else {
                admin(&app, "service", &token, json!({ "status": status })).await.expect(200);
            }
            let refused = status == "disabled";
            for path in &reads {
                let r = app.get(path, &token).await;
                if refused {
                    r.expect_error(403, "BackupServiceNotEnabled");
                    app.get(path, &no_restore_read).await.expect_error(403, "BackupServiceNotEnabled");
                } else {
                    r.expect(200);
                    let items = r.body.get("value").map_or(1, |v| v.as_array().unwrap().len());
                    assert!(items >= 1, "round {round}, {status}: {path} read {}", r.body);
                    app.get(path, &no_restore_read).await.expect_error(403, "accessDenied");
                }
            }
            for path in &bad_options {
                let r = app.get(path, &token).await;
                if refused {
                    r.expect_error(403, "BackupServiceNotEnabled");
                } else {
                    assert_eq!(r.status, 400, "round {round}, {status}: {path} answered {}", r.body);
                }
            }
            for path in missing {
                let r = app.get(path, &token).await;
                if refused {
                    r.expect_error(403, "BackupServiceNotEnabled");
                } else {
                    r.expect(404);
                }
            }
        }
    }
}
