//! Protection policies against the real server: create with units, list and get (typed and
//! polymorphic), activate / deactivate settled by the engine, the units delta PATCH with its
//! per-item errors, delete, request-level refusals, offboarding, and the permissions.

use backstore_api::auth::CONFIGURATION_READ;
use backstore_domain::Workload;
use backstore_engine::EngineConfig;
use backstore_store::DirectoryResource;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

const PREFER_ALL: (&str, &str) = ("prefer", "include-unknown-enum-members");

/// A tenant directory with sites 1..=5 and mailboxes and drives of users 1..=3.
async fn directory(app: &TestApp) {
    let mut all: Vec<DirectoryResource> = (1..=5).map(site).collect();
    for w in [Workload::Exchange, Workload::OneDrive] {
        all.extend((1..=3).map(|n| user(w, n)));
    }
    app.register(TENANT, &all).await.unwrap();
}

async fn settle(app: &TestApp) {
    app.engine(EngineConfig::default()).run_until_idle(20).await.unwrap();
}

async fn create_sites(app: &TestApp, token: &str, sites: &[u32]) -> Value {
    let units: Vec<Value> = sites.iter().map(|n| json!({ "siteId": site_id(*n) })).collect();
    let r = app
        .post("sharePointProtectionPolicies", token, &json!({ "displayName": "Sites", "siteProtectionUnits": units }))
        .await;
    r.expect(201);
    r.body
}

/// The unit's restore points (the list answers at most five).
async fn points_of(app: &TestApp, token: &str, unit: &str) -> Vec<Value> {
    let until = (app.clock().now() + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = app
        .get(
            &format!(
                "restorePoints?$expand=protectionUnit($filter=id eq '{unit}')&$filter=protectionDateTime lt {until}"
            ),
            token,
        )
        .await;
    r.expect(200);
    r.body["value"].as_array().unwrap().clone()
}

async fn units_of(app: &TestApp, token: &str, policy: &str) -> Vec<Value> {
    let r = app
        .send(
            Method::GET,
            &app.url(&format!("sharePointProtectionPolicies/{policy}/siteProtectionUnits")),
            Some(token),
            None,
            &[PREFER_ALL],
        )
        .await;
    r.expect(200);
    r.body["value"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_policy_from_creation_to_deletion() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    directory(&app).await;

    let r = app
        .post(
            "sharePointProtectionPolicies",
            &token,
            &json!({ "displayName": "Marketing sites", "siteProtectionUnits": [
                { "siteId": site_id(1) }, { "siteId": site_id(2) }
            ]}),
        )
        .await;
    r.expect(201);
    let p = r.body.clone();
    let id = p["id"].as_str().unwrap().to_owned();
    assert!(r.header("location").unwrap().ends_with(&format!("/sharePointProtectionPolicies('{id}')")));
    assert_eq!(r.header("content-location"), r.header("location"));
    assert!(p["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("$metadata#solutions/backupRestore/sharePointProtectionPolicies/$entity"));
    assert_eq!(p["status"], "inactive");
    assert_eq!(p["isEnabled"], false);
    assert_eq!(p["displayName"], "Marketing sites");
    assert_eq!(p["protectionPolicyArtifactCount"], json!({"total": 2, "completed": 0, "inProgress": 0, "failed": 0}));
    assert_eq!(p["retentionSettings"][1], json!({"interval": "R/P1W", "period": "P1Y"}));
    assert!(p.get("siteProtectionUnits").is_none(), "navigations only when expanded");
    let units = units_of(&app, &token, &id).await;
    assert_eq!(units.len(), 2);
    assert!(units.iter().all(|u| u["status"] == "unprotected" && u["policyId"] == id.as_str()));

    // Read it back: typed, polymorphic with its type, and cast.
    let typed = app.get(&format!("sharePointProtectionPolicies/{id}"), &token).await;
    typed.expect(200);
    assert!(typed.body.get("@odata.type").is_none());
    let base = app.get(&format!("protectionPolicies('{id}')"), &token).await;
    assert_eq!(base.body["@odata.type"], "#microsoft.graph.sharePointProtectionPolicy");
    let list = app.get("protectionPolicies", &token).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1);
    let cast = app.get("protectionPolicies/microsoft.graph.exchangeProtectionPolicy", &token).await;
    assert_eq!(cast.body["value"], json!([]));
    app.get(&format!("exchangeProtectionPolicies/{id}"), &token).await.expect_error(404, "PolicyNotFound");

    // Activate: 202, updating, units wait for the engine; then active and protected.
    let r = app.post(&format!("sharePointProtectionPolicies/{id}/activate"), &token, &json!({})).await;
    r.expect(202);
    assert!(r.header("content-location").unwrap().ends_with(&format!("/protectionPolicies('{id}')")));
    assert_eq!(r.body["status"], "updating");
    assert_eq!(r.body["isEnabled"], true);
    assert!(units_of(&app, &token, &id).await.iter().all(|u| u["status"] == "protectRequested"));
    app.post(&format!("protectionPolicies/{id}/activate"), &token, &json!({}))
        .await
        .expect_error(403, "PolicyActionNotAllowed");
    settle(&app).await;
    let p = app.get(&format!("protectionPolicies/{id}"), &token).await.body;
    assert_eq!(p["status"], "active");
    assert_eq!(p["protectionPolicyArtifactCount"]["completed"], 2);
    let units = units_of(&app, &token, &id).await;
    assert!(units.iter().all(|u| u["status"] == "protected"));

    // Protected units get restore points on the cadence as the clock moves.
    app.advance_clock(&token, "30m").await;
    let unit = units[0]["id"].as_str().unwrap();
    let n = points_of(&app, &token, unit).await.len();
    assert!((2..=3).contains(&n), "points every 10 minutes since activation: {n}");

    // Only an inactive policy can be deleted.
    app.delete(&format!("protectionPolicies/{id}"), &token).await.expect_error(403, "PolicyActionNotAllowed");
    let r = app.post(&format!("protectionPolicies/{id}/deactivate"), &token, &json!({})).await;
    r.expect(202);
    assert_eq!(r.body["status"], "updating");
    assert!(units_of(&app, &token, &id).await.iter().all(|u| u["status"] == "unprotectRequested"));
    settle(&app).await;
    assert_eq!(app.get(&format!("protectionPolicies/{id}"), &token).await.body["status"], "inactive");
    app.post(&format!("protectionPolicies/{id}/deactivate"), &token, &json!({}))
        .await
        .expect_error(403, "PolicyActionNotAllowed");
    app.delete(&format!("sharePointProtectionPolicies/{id}"), &token).await.expect(204);
    app.get(&format!("protectionPolicies/{id}"), &token).await.expect_error(404, "PolicyNotFound");
    let unit = app.get(&format!("protectionUnits/{unit}"), &token).await;
    assert_eq!(unit.body["policyId"], Value::Null);
    assert_eq!(unit.body["status"], "unprotected");
    // Its restore points are still there to restore from.
    assert!(points_of(&app, &token, unit.body["id"].as_str().unwrap()).await.len() >= 2);
}

#[tokio::test]
async fn the_units_delta_applies_what_it_can_and_reports_the_rest() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    directory(&app).await;
    let p = create_sites(&app, &token, &[1, 2]).await;
    let id = p["id"].as_str().unwrap();
    app.post(&format!("protectionPolicies/{id}/activate"), &token, &json!({})).await.expect(202);
    settle(&app).await;
    let units = units_of(&app, &token, id).await;
    let first = units[0]["id"].as_str().unwrap().to_owned();

    let r = app
        .patch(
            &format!("sharePointProtectionPolicies/{id}"),
            &token,
            &json!({
                "displayName": "Renamed",
                "siteProtectionUnits@delta": [
                    { "siteId": site_id(3) },
                    { "siteId": "nowhere.sharepoint.com,0,0", "@contentId": "mine" },
                    { "@removed": { "reason": "changed" }, "id": first },
                    { "@removed": { "reason": "changed" }, "id": "not-a-unit" },
                ]
            }),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["displayName"], "Renamed");
    let echo = r.body["siteProtectionUnits@delta"].as_array().unwrap();
    assert_eq!(echo.len(), 4);
    assert_eq!(echo[0]["siteId"], site_id(3));
    assert_eq!(echo[0]["status"], "protectRequested");
    assert_eq!(echo[0]["policyId"], id);
    assert_eq!(echo[1]["@contentId"], "mine");
    assert_eq!(echo[1]["@Core.DataModificationException"]["info"]["code"], "ProtectionUnitNotFound");
    assert_eq!(echo[1]["@Core.DataModificationException"]["failedOperation"], "add");
    assert_eq!(echo[1]["@Core.DataModificationException"]["responseCode"], 404);
    assert_eq!(echo[2]["id"], first.as_str());
    assert_eq!(echo[2]["status"], "removeRequested");
    assert_eq!(echo[3]["@contentId"], "3");
    assert_eq!(echo[3]["@Core.DataModificationException"]["failedOperation"], "remove");
    assert_eq!(echo[3]["@Core.DataModificationException"]["responseCode"], 409);
    let p = app.get(&format!("protectionPolicies/{id}"), &token).await.body;
    assert_eq!(p["status"], "updating");
    assert_eq!(p["displayName"], "Renamed");

    settle(&app).await;
    let p = app.get(&format!("protectionPolicies/{id}"), &token).await.body;
    assert_eq!(p["status"], "active");
    assert_eq!(p["protectionPolicyArtifactCount"]["total"], 2, "site 2 and site 3");
    let removed = app.get(&format!("siteProtectionUnits/{first}"), &token).await.body;
    assert_eq!(removed["status"], "unprotected");
    assert_eq!(removed["policyId"], Value::Null);

    // A site in this policy cannot join another one; a removed one can come back.
    let r = app
        .patch(
            &format!("sharePointProtectionPolicies/{id}"),
            &token,
            &json!({
                "siteProtectionUnits@delta": [{ "siteId": site_id(2) }, { "siteId": site_id(1) }]
            }),
        )
        .await;
    r.expect(200);
    let echo = r.body["siteProtectionUnits@delta"].as_array().unwrap();
    assert_eq!(echo[0]["@Core.DataModificationException"]["info"]["code"], "ProtectionUnitAlreadyExists");
    assert_eq!(echo[0]["@Core.DataModificationException"]["responseCode"], 409);
    assert_eq!(echo[1]["id"], first.as_str(), "one unit per site, kept across removals");
    assert_eq!(echo[1]["status"], "protectRequested");

    // Request-level refusals change nothing.
    let patch = |body: Value| {
        let url = format!("sharePointProtectionPolicies/{id}");
        let token = token.clone();
        let app = &app;
        async move { app.patch(&url, &token, &body).await }
    };
    patch(json!({ "siteProtectionUnits@delta": [{ "siteId": site_id(4) }, { "siteId": site_id(4) }] }))
        .await
        .expect_error(400, "DuplicateProtectionUnitInList");
    let many: Vec<Value> = (0..51).map(|n| json!({ "siteId": format!("s{n}") })).collect();
    patch(json!({ "siteProtectionUnits@delta": many })).await.expect_error(413, "ProtectionUnitsLimitBreached");
    patch(json!({ "siteProtectionUnits@delta": [{ "site": "x" }] })).await.expect_error(400, "InvalidPatchRequest");
    patch(json!({ "status": "active" })).await.expect_error(400, "InvalidPatchRequest");
    patch(json!({ "displayName": "" })).await.expect_error(400, "InvalidDisplayName");
    app.patch("sharePointProtectionPolicies/nope", &token, &json!({ "displayName": "x" }))
        .await
        .expect_error(404, "PolicyNotFound");
    settle(&app).await;
    assert_eq!(
        app.get(&format!("protectionPolicies/{id}"), &token).await.body["protectionPolicyArtifactCount"]["total"],
        3
    );
}

#[tokio::test]
async fn creating_a_policy_is_all_or_nothing() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    directory(&app).await;
    let post = |body: Value| {
        let token = token.clone();
        let app = &app;
        async move { app.post("sharePointProtectionPolicies", &token, &body).await }
    };
    post(json!({ "siteProtectionUnits": [{ "siteId": site_id(1) }, { "siteId": "nowhere,0,0" }] }))
        .await
        .expect_error(400, "InvalidProtectionUnitId");
    post(json!({ "siteProtectionUnits": [{ "siteId": site_id(1) }, { "siteId": site_id(1) }] }))
        .await
        .expect_error(400, "DuplicateProtectionUnitInList");
    let many: Vec<Value> = (0..51).map(|n| json!({ "siteId": format!("s{n}") })).collect();
    post(json!({ "siteProtectionUnits": many })).await.expect_error(413, "ProtectionUnitsLimitBreached");
    post(Value::Null).await.expect_error(400, "InvalidCreateRequest");
    post(json!({ "displayName": "x".repeat(1025) })).await.expect_error(400, "InvalidDisplayName");
    post(json!({ "mailboxProtectionUnits": [] })).await.expect_error(400, "InvalidCreateRequest");
    assert_eq!(app.get("protectionPolicies", &token).await.body["value"], json!([]));
    assert_eq!(app.get("protectionUnits", &token).await.body["value"], json!([]), "no unit left behind");

    let first = create_sites(&app, &token, &[1]).await;
    post(json!({ "siteProtectionUnits": [{ "siteId": site_id(1) }] }))
        .await
        .expect_error(409, "ProtectionUnitAlreadyExists");
    app.post(&format!("protectionPolicies/{}/activate", first["id"].as_str().unwrap()), &token, &json!({}))
        .await
        .expect(202);
    post(json!({ "displayName": "Second" })).await.expect_error(409, "PolicyCreationNotAllowed");

    // The other workloads take directory object ids.
    let r = user_policy(&app, &token, Workload::Exchange, 1).await;
    r.expect(201);
    let r = user_policy(&app, &token, Workload::OneDrive, 2).await;
    r.expect(201);
    let drive_policy = r.body["id"].as_str().unwrap().to_owned();
    let units =
        app.get(&format!("oneDriveForBusinessProtectionPolicies/{drive_policy}/driveProtectionUnits"), &token).await;
    assert_eq!(
        units.body["value"][0]["directoryObjectId"],
        user(Workload::OneDrive, 2).resource.directory_object_id.unwrap()
    );
    let all = app.get("protectionPolicies", &token).await.body;
    let types: Vec<&str> =
        all["value"].as_array().unwrap().iter().map(|p| p["@odata.type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "#microsoft.graph.sharePointProtectionPolicy",
            "#microsoft.graph.exchangeProtectionPolicy",
            "#microsoft.graph.oneDriveForBusinessProtectionPolicy"
        ]
    );
}

#[tokio::test]
async fn offboarding_a_unit_outside_any_policy() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let user_token = app.token_with(TENANT, false, Some("admin-user"), 3600);
    directory(&app).await;
    let p = create_sites(&app, &token, &[1]).await;
    let id = p["id"].as_str().unwrap();
    app.post(&format!("protectionPolicies/{id}/activate"), &token, &json!({})).await.expect(202);
    settle(&app).await;
    let unit = units_of(&app, &token, id).await[0]["id"].as_str().unwrap().to_owned();
    let offboard = |t: &str, action: &str| {
        let url = app.url(&format!("protectionUnits/{unit}/{action}"));
        let t = t.to_owned();
        let app = &app;
        async move { app.send(Method::POST, &url, Some(&t), None, &[PREFER_ALL]).await }
    };
    offboard(&token, "offboard").await.expect_error(403, "accessDenied");
    offboard(&user_token, "offboard").await.expect_error(403, "OperationNotAllowed");

    app.patch(
        &format!("protectionPolicies/{id}"),
        &token,
        &json!({
            "siteProtectionUnits@delta": [{ "@removed": { "reason": "changed" }, "id": unit }]
        }),
    )
    .await
    .expect(200);
    settle(&app).await;
    offboard(&user_token, "cancelOffboard").await.expect_error(403, "OperationNotAllowed");
    let r = offboard(&user_token, "offboard").await;
    r.expect(200);
    assert_eq!(r.body["status"], "offboardRequested");
    assert!(r.body["offboardRequestedDateTime"].is_string());
    // Without the Prefer header the evolvable member is hidden.
    let plain = app.get(&format!("protectionUnits/{unit}"), &token).await;
    assert_eq!(plain.body["status"], "unknownFutureValue");
    let r = offboard(&user_token, "cancelOffboard").await;
    r.expect(200);
    assert_eq!(r.body["status"], "cancelOffboardRequested");
    app.engine(EngineConfig::default()).retention().await;
    let back =
        app.send(Method::GET, &app.url(&format!("protectionUnits/{unit}")), Some(&token), None, &[PREFER_ALL]).await;
    assert_eq!(back.body["status"], "unprotected");

    // Offboarding goes through after its grace period; the unit's backups go with it.
    offboard(&user_token, "offboard").await.expect(200);
    app.advance_clock(&token, "31d").await;
    let gone =
        app.send(Method::GET, &app.url(&format!("protectionUnits/{unit}")), Some(&token), None, &[PREFER_ALL]).await;
    assert_eq!(gone.body["status"], "offboarded");
    assert_eq!(points_of(&app, &token, &unit).await, Vec::<Value>::new());
    offboard(&user_token, "offboard").await.expect_error(403, "OperationNotAllowed");
    app.send(Method::POST, &app.url("protectionUnits/nope/offboard"), Some(&user_token), None, &[])
        .await
        .expect_error(404, "ProtectionUnitNotFound");
}

#[tokio::test]
async fn policies_need_the_configuration_permissions() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    directory(&app).await;
    let p = create_sites(&app, &token, &[1]).await;
    let id = p["id"].as_str().unwrap();
    let reader = app.token_for(TENANT, &[CONFIGURATION_READ], None, 3600);
    app.get("protectionPolicies", &reader).await.expect(200);
    app.get(&format!("sharePointProtectionPolicies/{id}/siteProtectionUnits"), &reader).await.expect(200);
    app.post("sharePointProtectionPolicies", &reader, &json!({})).await.expect_error(403, "accessDenied");
    app.patch(&format!("protectionPolicies/{id}"), &reader, &json!({"displayName": "x"}))
        .await
        .expect_error(403, "accessDenied");
    app.post(&format!("protectionPolicies/{id}/activate"), &reader, &json!({})).await.expect_error(403, "accessDenied");
    app.delete(&format!("protectionPolicies/{id}"), &reader).await.expect_error(403, "accessDenied");
    let restore_only = app.token_for(TENANT, &[backstore_api::auth::RESTORE_READ_WRITE], None, 3600);
    app.get("protectionPolicies", &restore_only).await.expect_error(403, "accessDenied");
}

#[tokio::test]
async fn seeded_tenants_are_protected_by_active_policies() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 2, 1, 1, 2).await;
    let list = app.get("protectionPolicies", &token).await.body;
    let policies = list["value"].as_array().unwrap();
    assert_eq!(policies.len(), 3);
    assert!(policies.iter().all(|p| p["status"] == "active" && p["isEnabled"] == true));
    assert_eq!(policies[0]["protectionPolicyArtifactCount"]["completed"], 2);
    let unit = app.get(&format!("protectionUnits/{}", seeded.protection_units[0].id), &token).await.body;
    assert_eq!(unit["policyId"], policies[0]["id"]);
    assert_eq!(unit["status"], "protected");
    // Seeding again changes nothing.
    let again = app.seed(TENANT, 2, 1, 1, 2).await;
    assert_eq!(
        again.protection_units.iter().map(|u| (&u.id, &u.restore_point_ids)).collect::<Vec<_>>(),
        seeded.protection_units.iter().map(|u| (&u.id, &u.restore_point_ids)).collect::<Vec<_>>()
    );
    assert_eq!(app.get("protectionPolicies", &token).await.body["value"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bulk_addition_jobs_turn_names_into_units() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    directory(&app).await;
    let p = create_sites(&app, &token, &[1]).await;
    let id = p["id"].as_str().unwrap().to_owned();
    app.post(&format!("protectionPolicies/{id}/activate"), &token, &json!({})).await.expect(202);
    settle(&app).await;
    // A policy of another workload, whose jobs stay apart.
    let r = user_policy(&app, &token, Workload::Exchange, 1).await;
    r.expect(201);

    let jobs = format!("sharePointProtectionPolicies/{id}/siteProtectionUnitsBulkAdditionJobs");
    let body = json!({
        "displayName": "More sites",
        "siteWebUrls": ["https://contoso.sharepoint.com/sites/site2/", "https://contoso.sharepoint.com/sites/ghost"],
        "siteIds": [site_id(3), site_id(1), "nowhere,0,0"],
    });
    let r = app.post(&jobs, &token, &body).await;
    r.expect(201);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["@odata.type"], "#microsoft.graph.siteProtectionUnitsBulkAdditionJob");
    let job = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.header("location").unwrap().ends_with(&format!("siteProtectionUnitsBulkAdditionJobs('{job}')")));

    settle(&app).await;
    let done = app.get(&format!("{jobs}/{job}"), &token).await;
    done.expect(200);
    assert_eq!(done.body["status"], "completedWithErrors");
    let details = done.body["error"]["details"].as_array().unwrap();
    let targets: Vec<&str> = details.iter().map(|d| d["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["https://contoso.sharepoint.com/sites/ghost", "nowhere,0,0"]);
    assert!(details.iter().all(|d| d["code"] == "ProtectionUnitNotFound"));
    let p = app.get(&format!("protectionPolicies/{id}"), &token).await.body;
    assert_eq!(p["status"], "active", "the engine settled the new units too");
    assert_eq!(p["protectionPolicyArtifactCount"]["total"], 3);
    assert!(units_of(&app, &token, &id).await.iter().all(|u| u["status"] == "protected"));

    // Listed under the policy and at the root, by workload.
    assert_eq!(app.get(&jobs, &token).await.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("siteProtectionUnitsBulkAdditionJobs", &token).await.body["value"][0]["id"], job.as_str());
    app.get(&format!("siteProtectionUnitsBulkAdditionJobs/{job}"), &token).await.expect(200);
    app.get("mailboxProtectionUnitsBulkAdditionJobs", &token).await.expect(200);
    app.get(&format!("driveProtectionUnitsBulkAdditionJobs/{job}"), &token).await.expect_error(404, "ResourceNotFound");

    let drive_policy =
        app.post("oneDriveForBusinessProtectionPolicies", &token, &json!({ "driveProtectionUnits": [] })).await;
    drive_policy.expect(201);
    let dp = drive_policy.body["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("oneDriveForBusinessProtectionPolicies/{dp}/driveProtectionUnitsBulkAdditionJobs"),
            &token,
            &json!({ "drives": ["USER2@contoso.onmicrosoft.com"], "directoryObjectIds": [user(Workload::OneDrive, 3).resource.directory_object_id] }),
        )
        .await;
    r.expect(201);
    settle(&app).await;
    let j = app.get(&format!("driveProtectionUnitsBulkAdditionJobs/{}", r.body["id"].as_str().unwrap()), &token).await;
    assert_eq!(j.body["status"], "completed");
    let units = app.get(&format!("oneDriveForBusinessProtectionPolicies/{dp}/driveProtectionUnits"), &token).await;
    assert_eq!(units.body["value"].as_array().unwrap().len(), 2);
    assert!(units.body["value"].as_array().unwrap().iter().all(|u| u["status"] == "unprotected"), "policy inactive");

    // A mailbox another policy protects is an error detail of its own.
    let second = app.post("exchangeProtectionPolicies", &token, &json!({ "mailboxProtectionUnits": [] })).await;
    second.expect(201);
    let r = app
        .post(
            &format!(
                "exchangeProtectionPolicies/{}/mailboxProtectionUnitsBulkAdditionJobs",
                second.body["id"].as_str().unwrap()
            ),
            &token,
            &json!({ "mailboxes": ["user1@contoso.onmicrosoft.com", "user2@contoso.onmicrosoft.com"] }),
        )
        .await;
    r.expect(201);
    settle(&app).await;
    let j =
        app.get(&format!("mailboxProtectionUnitsBulkAdditionJobs/{}", r.body["id"].as_str().unwrap()), &token).await;
    assert_eq!(j.body["status"], "completedWithErrors");
    assert_eq!(
        j.body["error"]["details"],
        json!([{
            "code": "ProtectionUnitAlreadyExists",
            "message": "'user1@contoso.onmicrosoft.com' is already protected by another protection policy.",
            "target": "user1@contoso.onmicrosoft.com",
        }])
    );

    // Refused up front: nothing named, malformed entries, unknown policy, the wrong method.
    app.post(&jobs, &token, &json!({ "displayName": "empty" })).await.expect_error(400, "InvalidCreateRequest");
    app.post(&jobs, &token, &json!({ "siteWebUrls": ["https: //contoso"] }))
        .await
        .expect_error(400, "InvalidCreateRequest");
    app.post(
        "sharePointProtectionPolicies/nope/siteProtectionUnitsBulkAdditionJobs",
        &token,
        &json!({ "siteIds": ["x"] }),
    )
    .await
    .expect_error(404, "PolicyNotFound");
    app.post("siteProtectionUnitsBulkAdditionJobs", &token, &json!({ "siteIds": ["x"] }))
        .await
        .expect_error(405, "MethodNotAllowed");
    let reader = app.token_for(TENANT, &[CONFIGURATION_READ], None, 3600);
    app.post(&jobs, &reader, &json!({ "siteIds": [site_id(4)] })).await.expect_error(403, "accessDenied");
}
