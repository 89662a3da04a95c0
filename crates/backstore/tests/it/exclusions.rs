//! beta's full-service protection: a `fullServiceBackup` policy protects every resource of its
//! workload in the directory that no other policy holds, its `…ExclusionUnits@delta` leaves
//! resources out (and lets them back in), resources the directory learns later join it, and the
//! exclusion units are listed and read at the root, by workload and under the policy.

use backstore_domain::Workload;
use backstore_engine::EngineConfig;
use serde_json::{json, Value};

use crate::support::*;

fn beta(app: &TestApp, path: &str) -> String {
    app.versioned("beta", path)
}

async fn settle(app: &TestApp) {
    app.engine(EngineConfig::default()).run_until_idle(20).await.unwrap();
}

/// The site ids of a policy's units, sorted.
async fn policy_sites(app: &TestApp, token: &str, policy: &str) -> Vec<String> {
    let r = app.get_abs(&beta(app, &format!("sharePointProtectionPolicies/{policy}/siteProtectionUnits")), token).await;
    r.expect(200);
    let mut sites: Vec<String> =
        r.body["value"].as_array().unwrap().iter().map(|u| u["siteId"].as_str().unwrap().to_owned()).collect();
    sites.sort();
    sites
}

fn ids(page: &Value) -> Vec<&str> {
    page["value"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_full_service_policy_protects_the_directory_but_what_it_excludes() {
    let app = TestApp::spawn().await;
    let token = app.token(TENANT);
    app.register(TENANT, &(1..=5).map(site).collect::<Vec<_>>()).await.unwrap();
    app.register(TENANT, &[user(Workload::OneDrive, 1)]).await.unwrap();

    // Site 1 is in a standard policy; the full-service one takes the other four.
    let standard = app
        .post_abs(
            &beta(&app, "sharePointProtectionPolicies"),
            &token,
            &json!({ "displayName": "One", "siteProtectionUnits": [{ "siteId": site_id(1) }] }),
        )
        .await;
    standard.expect(201);
    let standard = standard.body["id"].as_str().unwrap().to_owned();
    let body = json!({ "displayName": "All sites", "protectionMode": "fullServiceBackup" });
    let made = app.post_abs(&beta(&app, "sharePointProtectionPolicies"), &token, &body).await;
    made.expect(201);
    assert_eq!(made.body["protectionMode"], "fullServiceBackup");
    assert_eq!(made.body["protectionPolicyArtifactCount"]["total"], 4, "{}", made.text);
    let policy = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(policy_sites(&app, &token, &policy).await, (2..=5).map(site_id).collect::<Vec<_>>());

    // One full-service policy per workload; it lists no units of its own; the mode stays.
    app.post_abs(&beta(&app, "sharePointProtectionPolicies"), &token, &body)
        .await
        .expect_error(409, "PolicyCreationNotAllowed");
    let listed = json!({ "protectionMode": "fullServiceBackup", "siteProtectionUnits": [{ "siteId": site_id(1) }] });
    app.post_abs(&beta(&app, "sharePointProtectionPolicies"), &token, &listed)
        .await
        .expect_error(400, "InvalidCreateRequest");
    let at = beta(&app, &format!("sharePointProtectionPolicies/{policy}"));
    app.patch_abs(&at, &token, &json!({ "protectionMode": "standard" })).await.expect(400);
    let units_delta = json!({ "siteProtectionUnits@delta": [{ "@removed": {}, "id": "x" }] });
    app.patch_abs(&at, &token, &units_delta).await.expect_error(400, "InvalidPatchRequest");
    let exclude_on_standard = json!({ "siteExclusionUnits@delta": [{ "siteId": site_id(1) }] });
    app.patch_abs(&beta(&app, &format!("sharePointProtectionPolicies/{standard}")), &token, &exclude_on_standard)
        .await
        .expect_error(400, "InvalidPatchRequest");

    // Exclude sites 2 and 3 (and one the directory does not have): their units leave the policy.
    let delta = json!({ "siteExclusionUnits@delta": [
        { "siteId": site_id(2) },
        { "siteId": "contoso.sharepoint.com,nope,nope" },
        { "siteId": site_id(3), "@contentId": "three" },
    ]});
    let r = app.patch_abs(&at, &token, &delta).await;
    r.expect(200);
    let echo = r.body["siteExclusionUnits@delta"].as_array().unwrap();
    assert_eq!(echo.len(), 3, "{}", r.text);
    assert_eq!(
        (echo[0]["siteId"].as_str(), echo[0]["policyId"].as_str()),
        (Some(site_id(2).as_str()), Some(policy.as_str()))
    );
    assert_eq!(echo[1]["@Core.DataModificationException"]["responseCode"], 404, "{}", r.text);
    assert_eq!(echo[1]["@Core.DataModificationException"]["failedOperation"], "add");
    assert_eq!(echo[2]["@contentId"], "three");
    let ex3 = echo[2]["id"].as_str().unwrap().to_owned();
    settle(&app).await;
    assert_eq!(policy_sites(&app, &token, &policy).await, [site_id(4), site_id(5)]);
    let again = app.patch_abs(&at, &token, &json!({ "siteExclusionUnits@delta": [{ "siteId": site_id(2) }] })).await;
    again.expect(200);
    assert_eq!(again.body["siteExclusionUnits@delta"][0]["@Core.DataModificationException"]["responseCode"], 409);

    // The exclusion units: by workload, every workload's (typed), the policy's, counted, one by id.
    let typed = app.get_abs(&beta(&app, "siteExclusionUnits?$count=true"), &token).await;
    typed.expect(200);
    assert_eq!(typed.body["@odata.count"], 2);
    assert_eq!(typed.body["value"][0]["siteId"], site_id(2).as_str());
    assert!(typed.body["value"][0].get("@odata.type").is_none());
    let all = app.get_abs(&beta(&app, "exclusionUnits"), &token).await;
    assert_eq!(ids(&all.body), ids(&typed.body));
    assert_eq!(all.body["value"][1]["@odata.type"], "#microsoft.graph.siteExclusionUnit");
    let of_policy = app.get_abs(&format!("{at}/siteExclusionUnits"), &token).await;
    assert_eq!(ids(&of_policy.body), ids(&typed.body));
    assert_eq!(app.get_abs(&format!("{at}/siteExclusionUnits/$count"), &token).await.text, "2");
    let one = app.get_abs(&beta(&app, &format!("siteExclusionUnits/{ex3}")), &token).await;
    one.expect(200);
    assert_eq!((one.body["siteId"].as_str(), one.body["error"].clone()), (Some(site_id(3).as_str()), Value::Null));
    app.get_abs(&beta(&app, &format!("driveExclusionUnits/{ex3}")), &token).await.expect(404);
    app.get_abs(&beta(&app, "driveExclusionUnits"), &token).await.expect(200);
    // Every shape here is what beta's $metadata says it is.
    let shapes: serde_json::Map<String, Value> = [
        ("policy", &made.body),
        ("delta", &r.body),
        ("typed", &typed.body),
        ("all", &all.body),
        ("of-policy", &of_policy.body),
        ("one", &one.body),
    ]
    .into_iter()
    .map(|(name, body)| (name.to_owned(), json!({ "body": body })))
    .collect();
    let prefix = format!("{}/beta/$metadata#", app.origin);
    crate::metadata::check_answers(&app, "beta", &Value::Object(shapes), &prefix, 6).await;

    // Dropping site 3's exclusion protects it again; a new site of the directory joins on its own.
    let back = json!({ "siteExclusionUnits@delta": [{ "@removed": { "reason": "changed" }, "id": ex3 }] });
    let r = app.patch_abs(&at, &token, &back).await;
    r.expect(200);
    assert_eq!(r.body["siteExclusionUnits@delta"][0]["@removed"]["reason"], "changed", "{}", r.text);
    let gone = json!({ "siteExclusionUnits@delta": [{ "@removed": {}, "id": ex3 }] });
    let r = app.patch_abs(&at, &token, &gone).await;
    assert_eq!(r.body["siteExclusionUnits@delta"][0]["@Core.DataModificationException"]["failedOperation"], "remove");
    app.register(TENANT, &[site(6)]).await.unwrap();
    settle(&app).await;
    assert_eq!(policy_sites(&app, &token, &policy).await, [site_id(3), site_id(4), site_id(5), site_id(6)]);

    // A bulk addition job excludes sites by URL (one the directory does not have is reported).
    let jobs = format!("{at}/siteExclusionUnitsBulkAdditionJobs");
    let site4_url = site(4).resource.site_web_url.unwrap();
    let body =
        json!({ "displayName": "Leave out", "siteWebUrls": [site4_url, "https://contoso.sharepoint.com/sites/nope"] });
    let job = app.post_abs(&jobs, &token, &body).await;
    job.expect(201);
    assert_eq!(
        (job.body["status"].as_str(), job.body["@odata.type"].as_str()),
        (Some("active"), Some("#microsoft.graph.siteExclusionUnitsBulkAdditionJob"))
    );
    let job_id = job.body["id"].as_str().unwrap().to_owned();
    settle(&app).await;
    let done = app.get_abs(&beta(&app, &format!("siteExclusionUnitsBulkAdditionJobs/{job_id}")), &token).await;
    done.expect(200);
    assert_eq!(done.body["status"], "completedWithErrors", "{}", done.text);
    let details = done.body["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0]["target"], "https://contoso.sharepoint.com/sites/nope");
    assert_eq!(policy_sites(&app, &token, &policy).await, [site_id(3), site_id(5), site_id(6)]);
    let listed = app.get_abs(&format!("{jobs}?$count=true"), &token).await;
    assert_eq!((listed.body["@odata.count"].as_i64(), ids(&listed.body)), (Some(1), vec![job_id.as_str()]));
    let standard_jobs =
        beta(&app, &format!("sharePointProtectionPolicies/{standard}/siteExclusionUnitsBulkAdditionJobs"));
    app.post_abs(&standard_jobs, &token, &body).await.expect_error(400, "InvalidCreateRequest");
    app.post_abs(&jobs, &token, &json!({ "siteWebUrls": [] })).await.expect_error(400, "InvalidCreateRequest");
    app.post_abs(&jobs, &token, &json!({ "siteWebUrls": ["x"], "siteIds": [] }))
        .await
        .expect_error(400, "InvalidCreateRequest");
    let shapes: serde_json::Map<String, Value> = [("job", &job.body), ("done", &done.body), ("jobs", &listed.body)]
        .into_iter()
        .map(|(name, body)| (name.to_owned(), json!({ "body": body })))
        .collect();
    crate::metadata::check_answers(&app, "beta", &Value::Object(shapes), &prefix, 3).await;

    // Other tenants see none of it; v1.0 has no exclusion units.
    let other = app.token(OTHER_TENANT);
    assert!(ids(&app.get_abs(&beta(&app, "exclusionUnits"), &other).await.body).is_empty());
    app.get_abs(&beta(&app, &format!("siteExclusionUnits/{ex3}")), &other).await.expect(404);
    app.get_abs(&beta(&app, &format!("siteExclusionUnitsBulkAdditionJobs/{job_id}")), &other).await.expect(404);
    app.get_abs(&app.versioned("v1.0", "siteExclusionUnits"), &token).await.expect(404);
    app.get_abs(&app.versioned("v1.0", "siteExclusionUnitsBulkAdditionJobs"), &token).await.expect(404);

    // An inactive full-service policy deleted takes its exclusions with it.
    app.send(reqwest::Method::DELETE, &at, Some(&token), None, &[]).await.expect(204);
    assert!(ids(&app.get_abs(&beta(&app, "exclusionUnits"), &token).await.body).is_empty());
}

/// Answers of beta's own surface in `tenant`, by name (each `{"body"}`): a full-service policy, its
/// exclusions delta, exclusion units and bulk jobs, the activity logs they made and the policy's
/// report (what the SDKs' model round trip reads besides the wire recording).
#[allow(dead_code)] // read by the SDK tests, which only the SQLite suite has
pub async fn beta_answers(app: &TestApp, tenant: &str) -> serde_json::Map<String, Value> {
    let token = app.token(tenant);
    app.register(tenant, &(1..=3).map(site).collect::<Vec<_>>()).await.unwrap();
    let mut answers = serde_json::Map::new();
    let mut keep = |name: &str, r: &Resp, status: u16| {
        r.expect(status);
        answers.insert(name.to_owned(), json!({ "body": r.body }));
    };
    let body = json!({ "displayName": "All sites", "protectionMode": "fullServiceBackup" });
    let made = app.post_abs(&beta(app, "sharePointProtectionPolicies"), &token, &body).await;
    keep("full-service-policy", &made, 201);
    let at = beta(app, &format!("sharePointProtectionPolicies/{}", made.body["id"].as_str().unwrap()));
    let delta = json!({ "siteExclusionUnits@delta": [{ "siteId": site_id(1) }, { "siteId": "nope" }] });
    keep("exclusions-delta", &app.patch_abs(&at, &token, &delta).await, 200);
    let url = site(2).resource.site_web_url.unwrap();
    let jobs = format!("{at}/siteExclusionUnitsBulkAdditionJobs");
    keep("exclusion-job", &app.post_abs(&jobs, &token, &json!({ "siteWebUrls": [url] })).await, 201);
    settle(app).await;
    keep("exclusion-jobs", &app.get_abs(&jobs, &token).await, 200);
    keep("exclusion-units", &app.get_abs(&beta(app, "exclusionUnits"), &token).await, 200);
    keep("site-exclusion-units", &app.get_abs(&format!("{at}/siteExclusionUnits"), &token).await, 200);
    keep("activity-logs", &app.get_abs(&beta(app, "activityLogs"), &token).await, 200);
    let id = made.body["id"].as_str().unwrap();
    let report = beta(app, &format!("reports/getStatisticsByPolicy(policyId='{id}')"));
    keep("report", &app.get_abs(&report, &token).await, 200);
    answers
}
