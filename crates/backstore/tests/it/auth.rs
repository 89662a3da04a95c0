//! Who may do what: 401 for every token defect, 403 for read-only tokens on writes, and tenants that
//! cannot see each other's sessions, artifacts or restore points.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn every_path_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    let foreign = TestApp::spawn().await; // another data dir: another signing key
    let good = app.token(TENANT);
    let expired = app.token_with(TENANT, false, None, -3600);
    let wrong_key = foreign.token(TENANT);
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    let paths = [
        "restoreSessions",
        "sharePointRestoreSessions/x",
        "exchangeRestoreSessions/x/mailboxRestoreArtifacts",
        "restorePoints",
        "no-such-thing",
    ];
    let bad: [(Option<&str>, Option<&str>); 6] = [
        (None, None),
        (Some("Basic dXNlcjpwYXNz"), None),
        (Some("Bearer not-a-jwt"), None),
        (None, Some(expired.as_str())),
        (None, Some(wrong_key.as_str())),
        (None, Some(tampered.as_str())),
    ];
    for path in paths {
        for (header, token) in &bad {
            let headers: Vec<(&str, &str)> = header.iter().map(|h| ("authorization", *h)).collect();
            let r = app.send(Method::GET, &app.url(path), *token, None, &headers).await;
            r.expect_error(401, "InvalidAuthenticationToken");
            assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
        }
    }
    let r = app.send(Method::GET, &app.url("restoreSessions"), Some(&expired), None, &[]).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("expired"));
    app.get("restoreSessions", &good).await.expect(200);
    foreign.stop().await;
}

#[tokio::test]
async fn read_only_tokens_read_but_do_not_write() {
    let app = TestApp::spawn().await;
    let writer = app.token(TENANT);
    let seeded = app.seed(TENANT, 2, 0, 0, 1).await;
    let site = points(&seeded, "site");
    let id = &app.draft("sharePointRestoreSessions", "siteRestoreArtifacts", &writer, &[&site[0][0]]).await;
    for reader in [app.token_with(TENANT, true, None, 600), app.token_with(TENANT, true, Some("user-1"), 600)] {
        app.get("restoreSessions", &reader).await.expect(200);
        app.get(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), &reader).await.expect(200);
        let add = json!({"siteRestoreArtifacts": [{"restorePoint": {"id": site[1][0]}, "destinationType": "new"}]});
        app.post("sharePointRestoreSessions", &reader, &add).await.expect_error(403, "accessDenied");
        let delta =
            json!({"siteRestoreArtifacts@delta": [{"restorePoint": {"id": site[1][0]}, "destinationType": "new"}]});
        let sites = ("sharePointRestoreSessions", "siteRestoreArtifacts");
        app.refuses_delta(sites, id, &reader, &delta, (403, "accessDenied")).await;
        app.activate(id, &reader).await.expect_error(403, "accessDenied");
        app.delete(&format!("restoreSessions/{id}"), &reader).await.expect_error(403, "accessDenied");
    }
    let after = app.get(&format!("restoreSessions/{id}"), &writer).await;
    assert_eq!(after.body["status"], "draft");
    assert_eq!(after.body["restoreSessionArtifactCount"]["total"], 1);
    assert_eq!(app.get("restoreSessions", &writer).await.body["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn delegated_tokens_record_the_user() {
    let app = TestApp::spawn().await;
    let token = app.token_with(TENANT, false, Some("3f2a4c5e-0000-4000-8000-000000000001"), 600);
    let s = app.create("exchangeRestoreSessions", "mailboxRestoreArtifacts", &token, &[]).await;
    assert_eq!(s["createdBy"]["user"]["id"], "3f2a4c5e-0000-4000-8000-000000000001");
    assert_eq!(s["createdBy"]["application"]["id"], backstore_api::auth::DEFAULT_APP_ID);
    assert_eq!(s["lastModifiedBy"], s["createdBy"]);
}

#[tokio::test]
async fn tenants_cannot_see_or_touch_each_other() {
    let app = TestApp::spawn().await;
    let a = app.token(TENANT);
    let b = app.token(OTHER_TENANT);
    let mine = app.seed(TENANT, 2, 0, 0, 1).await;
    app.seed(OTHER_TENANT, 1, 0, 0, 1).await;
    let site = points(&mine, "site");
    let id = &app.draft("sharePointRestoreSessions", "siteRestoreArtifacts", &a, &[&site[0][0]]).await;
    let aid = app.get(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), &a).await.body["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(app.get("restoreSessions", &b).await.body["value"], json!([]));
    assert_eq!(app.get("sharePointRestoreSessions", &b).await.body["value"], json!([]));
    for path in [
        format!("restoreSessions/{id}"),
        format!("sharePointRestoreSessions/{id}"),
        format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"),
        format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts/{aid}"),
        format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts/{aid}/restorePoint"),
    ] {
        app.get(&path, &b).await.expect_error(404, "RestoreSessionNotFound");
    }
    let delta = json!({"siteRestoreArtifacts@delta": [{"@removed": {"reason": "changed"}, "id": aid}]});
    app.patch(&format!("sharePointRestoreSessions/{id}"), &b, &delta).await.expect_error(404, "RestoreSessionNotFound");
    app.add_site_artifact(id, &b, &site[1][0]).await.expect_error(404, "RestoreSessionNotFound");
    app.activate(id, &b).await.expect_error(404, "RestoreSessionNotFound");
    app.delete(&format!("restoreSessions/{id}"), &b).await.expect_error(404, "RestoreSessionNotFound");
    // Tenant A's restore points do not exist for tenant B.
    let body = json!({"siteRestoreArtifacts": [{"restorePoint": {"id": site[1][0]}, "destinationType": "new"}]});
    app.post("sharePointRestoreSessions", &b, &body).await.expect_error(400, "InvalidRestorePoint");

    let after = app.get(&format!("restoreSessions/{id}"), &a).await;
    assert_eq!(after.body["status"], "draft");
    assert_eq!(after.body["restoreSessionArtifactCount"]["total"], 1);
}

/// Every kind of thing tenant A has, addressed by id with tenant B's token, read and written
/// through every verb the path takes: always a 404, and A's things unchanged.
#[tokio::test]
async fn another_tenant_gets_404_on_every_path_by_id() {
    let app = TestApp::spawn().await;
    let a = app.token(TENANT);
    let b = app.token(OTHER_TENANT);
    let b_user = app.token_with(OTHER_TENANT, false, Some("user-b"), 600);
    let mine = app.seed(TENANT, 3, 1, 1, 1).await;
    app.seed(OTHER_TENANT, 1, 1, 1, 1).await;
    let unit = mine.protection_units[0].id.clone();
    let point = mine.protection_units[0].restore_point_ids[0].clone();
    let policy = app.get("sharePointProtectionPolicies", &a).await.body["value"][0]["id"].as_str().unwrap().to_owned();
    let rule = app
        .post(
            &format!("sharePointProtectionPolicies/{policy}/siteInclusionRules"),
            &a,
            &json!({ "siteExpression": "displayName -eq 'x'" }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = app
        .post(
            &format!("sharePointProtectionPolicies/{policy}/siteProtectionUnitsBulkAdditionJobs"),
            &a,
            &json!({ "displayName": "j", "siteIds": [site_id(2)] }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let app_id = app.post("serviceApps", &a, &json!({})).await.body["id"].as_str().unwrap().to_owned();
    let session = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &a, &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bulk = app
        .post(
            &format!("sharePointRestoreSessions/{session}/siteRestoreArtifactsBulkAdditionRequests"),
            &a,
            &json!({ "siteIds": [site_id(1)], "destinationType": "new" }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let gets = [
        format!("protectionPolicies/{policy}"),
        format!("sharePointProtectionPolicies/{policy}"),
        format!("sharePointProtectionPolicies/{policy}/siteProtectionUnits"),
        format!("sharePointProtectionPolicies/{policy}/siteInclusionRules"),
        format!("sharePointProtectionPolicies/{policy}/siteInclusionRules/{rule}"),
        format!("siteInclusionRules/{rule}"),
        format!("sharePointProtectionPolicies/{policy}/siteProtectionUnitsBulkAdditionJobs/{job}"),
        format!("siteProtectionUnitsBulkAdditionJobs/{job}"),
        format!("protectionUnits/{unit}"),
        format!("siteProtectionUnits/{unit}"),
        format!("restorePoints/{point}"),
        format!("restorePoints/{point}/protectionUnit"),
        format!("serviceApps/{app_id}"),
        format!("sharePointRestoreSessions/{session}/siteRestoreArtifactsBulkAdditionRequests/{bulk}"),
    ];
    for path in &gets {
        let r = app.get(path, &b).await;
        r.expect(404);
        r.error_code();
    }
    let writes: Vec<(Method, String, Value)> = vec![
        (Method::PATCH, format!("sharePointProtectionPolicies/{policy}"), json!({ "displayName": "taken" })),
        (Method::DELETE, format!("protectionPolicies/{policy}"), Value::Null),
        (Method::POST, format!("protectionPolicies/{policy}/activate"), json!({})),
        (Method::POST, format!("protectionPolicies/{policy}/deactivate"), json!({})),
        (
            Method::POST,
            format!("sharePointProtectionPolicies/{policy}/siteInclusionRules"),
            json!({ "siteExpression": "displayName -eq 'y'" }),
        ),
        (Method::POST, format!("siteInclusionRules/{rule}/run"), json!({})),
        (Method::POST, format!("siteInclusionRules/{rule}/deleteAndUnprotect"), json!({})),
        (Method::DELETE, format!("siteInclusionRules/{rule}"), Value::Null),
        (
            Method::POST,
            format!("sharePointProtectionPolicies/{policy}/siteProtectionUnitsBulkAdditionJobs"),
            json!({ "displayName": "j", "siteIds": [site_id(3)] }),
        ),
        (Method::DELETE, format!("serviceApps/{app_id}"), Value::Null),
        (
            Method::DELETE,
            format!("sharePointRestoreSessions/{session}/siteRestoreArtifactsBulkAdditionRequests/{bulk}"),
            Value::Null,
        ),
    ];
    for (method, path, body) in &writes {
        let body = (!body.is_null()).then_some(body);
        let r = app.send(method.clone(), &app.url(path), Some(&b), body, &[]).await;
        assert_eq!(r.status.as_u16(), 404, "{method} {path}: {}", r.text);
        r.error_code();
    }
    // The delegated-only actions (service apps, offboarding), with a user of tenant B.
    let delegated = [
        format!("serviceApps/{app_id}/activate"),
        format!("serviceApps/{app_id}/deactivate"),
        format!("protectionUnits/{unit}/offboard"),
        format!("protectionUnits/{unit}/cancelOffboard"),
    ];
    for path in &delegated {
        let body = json!({ "effectiveDateTime": "2030-01-01T00:00:00Z" });
        let body = path.ends_with("/activate").then_some(&body);
        let r = app.send(Method::POST, &app.url(path), Some(&b_user), body, &[]).await;
        assert_eq!(r.status.as_u16(), 404, "{path}: {}", r.text);
    }
    // Nothing of A's moved.
    for path in &gets {
        app.get(path, &a).await.expect(200);
    }
    assert_eq!(app.get(&format!("siteInclusionRules/{rule}"), &a).await.body["siteExpression"], "displayName -eq 'x'");
}
