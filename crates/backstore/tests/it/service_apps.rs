//! Service apps and the e-mail notification setting against the real server: registration,
//! scheduled activation that takes effect with the server clock, the hand-over between apps,
//! deactivation, deletion, the delegated-only actions, and the notification setting's PATCH.

use backstore_api::auth::{CONTROL_READ, DEFAULT_APP_ID};
use serde_json::{json, Value};

use crate::support::*;

fn at(app: &TestApp, minutes: i64) -> String {
    (app.clock().now() + chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn status(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app.get(&format!("serviceApps/{id}"), token).await;
    r.expect(200);
    r.body["status"].clone()
}

#[tokio::test]
async fn service_apps_take_control_when_their_time_comes() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let user = app.token_with(TENANT, false, Some("admin-user"), 3600);
    assert_eq!(app.get("serviceApps", &token).await.body["value"], json!([]));

    // Registering: the calling app by default, or the one named.
    let r = app.post("serviceApps", &token, &json!({})).await;
    r.expect(201);
    let first = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["@odata.type"], "#microsoft.graph.serviceApp");
    assert_eq!(r.body["status"], "inactive");
    assert_eq!(r.body["application"]["id"], DEFAULT_APP_ID);
    assert_eq!(r.body["effectiveDateTime"], Value::Null);
    assert!(r.body["registrationDateTime"].as_str().unwrap().ends_with('Z'));
    assert!(r.header("content-location").unwrap().ends_with(&format!("/serviceApps/{first}")));
    app.post("serviceApps", &token, &json!({})).await.expect_error(409, "ServiceAppAlreadyExists");
    let r = app
        .post("serviceApps", &token, &json!({ "application": { "id": "vendor-app", "displayName": "Vendor backup" } }))
        .await;
    r.expect(201);
    let second = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["application"]["displayName"], "Vendor backup");
    assert_eq!(app.get("serviceApps", &token).await.body["value"].as_array().unwrap().len(), 2);

    // activate / deactivate take a user.
    let path = format!("serviceApps/{first}/activate");
    app.post(&path, &token, &json!({ "effectiveDateTime": at(&app, 60) })).await.expect_error(403, "accessDenied");
    app.post(&path, &user, &json!({})).await.expect_error(400, "BadRequest");
    app.post(&path, &user, &json!({ "effectiveDateTime": "tomorrow" })).await.expect_error(400, "BadRequest");
    app.post(&path, &user, &json!({ "effectiveDateTime": at(&app, -60) }))
        .await
        .expect_error(400, "ServiceAppActionNotAllowed");
    let r = app.post(&path, &user, &json!({ "effectiveDateTime": at(&app, 60) })).await;
    r.expect(202);
    assert_eq!(r.body["status"], "pendingActive");
    assert!(r.header("content-location").unwrap().ends_with(&format!("/serviceApps/{first}")));
    app.clock().advance(chrono::Duration::minutes(61));
    assert_eq!(status(&app, &token, &first).await, "active");
    app.post(&path, &user, &json!({ "effectiveDateTime": at(&app, 5) }))
        .await
        .expect_error(400, "ServiceAppActionNotAllowed");

    // The second app takes over: the first keeps control until then.
    let r = app
        .post(
            &format!("serviceApps/{second}/microsoft.graph.activate"),
            &user,
            &json!({ "effectiveDateTime": at(&app, 30) }),
        )
        .await;
    r.expect(202);
    assert_eq!(r.body["status"], "pendingActive");
    assert_eq!(status(&app, &token, &first).await, "pendingInactive");
    app.clock().advance(chrono::Duration::minutes(31));
    assert_eq!(status(&app, &token, &first).await, "inactive");
    assert_eq!(status(&app, &token, &second).await, "active");

    // Deactivating ends control now; twice is refused.
    app.post(&format!("serviceApps/{second}/deactivate"), &token, &json!({})).await.expect_error(403, "accessDenied");
    let deactivate = format!("serviceApps/{second}/deactivate");
    app.acts_once((&deactivate, &deactivate), &user, (202, "inactive"), "ServiceAppActionNotAllowed").await;

    // A cancelled hand-over gives control back.
    let r = app.post(&path, &user, &json!({ "effectiveDateTime": at(&app, 0) })).await;
    r.expect(202);
    assert_eq!(status(&app, &token, &first).await, "active");
    app.post(&format!("serviceApps/{second}/activate"), &user, &json!({ "effectiveDateTime": at(&app, 30) }))
        .await
        .expect(202);
    assert_eq!(status(&app, &token, &first).await, "pendingInactive");
    app.post(&format!("serviceApps/{second}/deactivate"), &user, &json!({})).await.expect(202);
    assert_eq!(status(&app, &token, &first).await, "active");

    // Delete; reading takes Control.Read, changing Control.ReadWrite.
    let reader = app.token_for(TENANT, &[CONTROL_READ], None, 3600);
    app.get("serviceApps", &reader).await.expect(200);
    app.delete(&format!("serviceApps/{second}"), &reader).await.expect_error(403, "accessDenied");
    app.delete(&format!("serviceApps/{second}"), &token).await.expect(204);
    app.get(&format!("serviceApps/{second}"), &token).await.expect_error(404, "ServiceAppNotFound");
    app.delete(&format!("serviceApps/{second}"), &token).await.expect_error(404, "ServiceAppNotFound");
    app.patch(&format!("serviceApps/{first}"), &token, &json!({})).await.expect_error(405, "MethodNotAllowed");
    // Each tenant has its own.
    let other = app.token(OTHER_TENANT);
    app.get(&format!("serviceApps/{first}"), &other).await.expect_error(404, "ServiceAppNotFound");
}

#[tokio::test]
async fn the_email_notification_setting_reads_and_updates() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let r = app.get("emailNotificationsSetting", &token).await;
    r.expect(200);
    assert!(r.body["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#solutions/backupRestore/emailNotificationsSetting/$entity"));
    assert_eq!(r.body["isEnabled"], false);
    assert_eq!(r.body["additionalEvents"], "none");
    assert_eq!(r.body["recipients"], json!({ "role": "none", "customRecipients": [] }));
    let id = r.body["id"].clone();

    let r = app
        .patch(
            "emailNotificationsSetting",
            &token,
            &json!({
                "isEnabled": true,
                "additionalEvents": "restoreAndPolicyUpdates",
                "recipients": {
                    "role": "custom, BackupAdmins",
                    "customRecipients": [{ "email": "ops@contoso.com", "displayName": "Ops" }]
                }
            }),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["recipients"]["role"], "backupAdmins,custom");
    let got = app.get("emailNotificationsSetting", &token).await;
    assert_eq!(got.body["isEnabled"], true);
    assert_eq!(got.body["additionalEvents"], "restoreAndPolicyUpdates");
    assert_eq!(
        got.body["recipients"]["customRecipients"],
        json!([{ "email": "ops@contoso.com", "displayName": "Ops" }])
    );

    // Refusals change nothing.
    for bad in [
        json!({ "recipients": { "role": "everyone" } }),
        json!({ "recipients": { "role": "none,custom" } }),
        json!({ "recipients": { "role": "globalAdmins" } }),
        json!({ "recipients": { "customRecipients": [{ "email": "not-an-address" }] } }),
        json!({ "isEnabled": "yes" }),
        json!({ "additionalEvents": 2 }),
        json!({ "colour": "blue" }),
    ] {
        app.patch("emailNotificationsSetting", &token, &bad).await.expect_error(400, "BadRequest");
    }
    assert_eq!(app.get("emailNotificationsSetting", &token).await.body, got.body);
    let reader = app.token_for(TENANT, &[CONTROL_READ], None, 3600);
    app.patch("emailNotificationsSetting", &reader, &json!({ "isEnabled": false }))
        .await
        .expect_error(403, "accessDenied");
    let other = app.get("emailNotificationsSetting", &app.token(OTHER_TENANT)).await;
    assert_eq!(other.body["isEnabled"], false);
}
