//! Bad input of every kind: a Graph error envelope with the right status, and no change to any data.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn paths_methods_and_options() {
    let (app, token, _, s) = TestApp::site_draft(1).await;
    let id = s["id"].as_str().unwrap();
    let root = |p: &str| format!("{}/{p}", app.origin);

    for url in [
        root("v2.0/solutions/backupRestore/restoreSessions"),
        root("v1.0/solutions/other"),
        app.url("restoreSession"),
        app.url(&format!("sharePointRestoreSessions/{id}/mailboxRestoreArtifacts")),
        app.url(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts/a/b/c")),
        app.url(&format!("restoreSessions/{id}/nothing")),
    ] {
        app.send(Method::GET, &url, Some(&token), None, &[]).await.expect_error(404, "ResourceNotFound");
    }
    for (method, path, allow) in [
        (Method::PUT, format!("restoreSessions/{id}"), "GET, PATCH, DELETE"),
        (Method::POST, "restoreSessions".to_owned(), "GET"),
        (Method::DELETE, "sharePointRestoreSessions".to_owned(), "GET, POST"),
        (Method::GET, format!("restoreSessions/{id}/activate"), "POST"),
        (Method::DELETE, format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts/x"), "GET"),
        // Granular artifacts are added through their session, not posted to their collection.
        (Method::POST, format!("sharePointRestoreSessions/{id}/granularSiteRestoreArtifacts"), "GET"),
    ] {
        let r = app.send(method, &app.url(&path), Some(&token), None, &[]).await;
        r.expect_error(405, "MethodNotAllowed");
        assert_eq!(r.header("allow"), Some(allow));
    }
    // Beta's root navigations not served yet: 501 on beta; v1.0 does not have them.
    for path in ["reports"] {
        let beta = format!("{}/beta/solutions/backupRestore/{path}", app.origin);
        app.get_abs(&beta, &token).await.expect_error(501, "notImplemented");
        app.get(path, &token).await.expect_error(404, "ResourceNotFound");
    }
    for path in [
        "protectionPolicies?$filter=status eq 'active'",
        "serviceApps?$orderby=registrationDateTime",
        "restoreSessions?$search=marketing",
    ] {
        app.get(path, &token).await.expect_error(501, "notImplemented");
    }
    app.get("protectionUnits/some-unit/offboard", &token).await.expect_error(405, "MethodNotAllowed");
    for path in [
        "restoreSessions?$top=-1",
        "restoreSessions?$top=abc",
        "restoreSessions?$skiptoken=zzz",
        "restoreSessions?$top=1&$top=2",
    ] {
        app.get(path, &token).await.expect_error(400, "BadRequest");
    }
    app.get(&format!("restoreSessions/{id}?$top=1"), &token).await.expect_error(400, "BadRequest");
    // The restore point list needs its documented options.
    app.get("restorePoints", &token).await.expect_error(400, "BadRequest");
    // A $top over the maximum is capped, not refused; the option name is case-insensitive, `$` optional.
    app.get("restoreSessions?$TOP=100000", &token).await.expect(200);
    assert_eq!(app.get("restoreSessions?top=0", &token).await.body["value"], json!([]));
}

#[tokio::test]
async fn bodies_that_cannot_be_read_change_nothing() {
    let (app, token, site, s) = TestApp::site_draft(2).await;
    let id = s["id"].as_str().unwrap();
    let create = app.url("sharePointRestoreSessions");
    let session = app.url(&format!("sharePointRestoreSessions/{id}"));
    let json_body =
        json!({"siteRestoreArtifacts@delta": [{"restorePoint": {"id": site[1][0]}, "destinationType": "new"}]})
            .to_string();

    let big = vec![b' '; backstore_api::MAX_BODY_BYTES + 1];
    app.raw(Method::POST, &create, &token, Some("application/json"), big.clone())
        .await
        .expect_error(413, "RequestEntityTooLarge");
    app.raw(Method::PATCH, &session, &token, Some("application/json"), big)
        .await
        .expect_error(413, "RequestEntityTooLarge");
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        app.raw(Method::PATCH, &session, &token, ct, json_body.clone().into())
            .await
            .expect_error(415, "UnsupportedMediaType");
        app.raw(Method::POST, &create, &token, ct, b"{}".to_vec()).await.expect_error(415, "UnsupportedMediaType");
    }
    for bad in ["{", "{\"siteRestoreArtifacts@delta\": [}", "nul", "\u{0}", "{\"a\":1}}"] {
        app.raw(Method::PATCH, &session, &token, Some("application/json"), bad.into())
            .await
            .expect_error(400, "BadRequest");
        app.raw(Method::POST, &create, &token, Some("application/json"), bad.into())
            .await
            .expect_error(400, "BadRequest");
    }
    // Deep nesting is refused, not a crash.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    app.raw(Method::PATCH, &session, &token, Some("application/json; charset=utf-8"), deep.into())
        .await
        .expect_error(400, "BadRequest");
    app.raw(Method::POST, &create, &token, Some("application/json"), b"[]".to_vec())
        .await
        .expect_error(400, "BadRequest");

    let after = app.get(&format!("restoreSessions/{id}"), &token).await;
    assert_eq!(after.body["restoreSessionArtifactCount"]["total"], 1);
    assert_eq!(after.body["lastModifiedDateTime"], s["lastModifiedDateTime"]);
    assert_eq!(app.get("restoreSessions", &token).await.body["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn request_ids_are_sent_and_client_ids_echoed() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let r = app
        .send(Method::GET, &app.url("restoreSessions"), Some(&token), None, &[("client-request-id", "abc-123")])
        .await;
    r.expect(200);
    assert_eq!(r.header("client-request-id"), Some("abc-123"));
    assert!(r.header("request-id").is_some_and(|v| v.len() == 36));
    assert!(r.header("content-type").unwrap().starts_with("application/json"));
    assert_eq!(r.header("odata-version"), Some("4.0"));
    let e = app
        .send(Method::GET, &app.url("restoreSessions/nope"), Some(&token), None, &[("client-request-id", "xyz")])
        .await;
    e.expect_error(404, "RestoreSessionNotFound");
    assert_eq!(e.body["error"]["innerError"]["client-request-id"], "xyz");
}
