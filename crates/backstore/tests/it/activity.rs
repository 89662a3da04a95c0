//! beta `activityLogs` over HTTP (SQLite here, PostgreSQL in `it_pg`): a scripted run of changes —
//! policies created and activated by the seed, one renamed and changed, a restore session activated
//! and finished — read back in order, filtered, cast, sorted, counted and paged.

use serde_json::{json, Value};

use crate::support::*;

fn types(page: &Value) -> Vec<String> {
    page["value"].as_array().unwrap().iter().map(|a| a["activityType"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn policy_and_restore_activity_is_logged_and_read_back_filtered() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 2, 0, 0, 1).await;
    let beta = |q: &str| format!("{}/beta/solutions/backupRestore/activityLogs{q}", app.origin);
    let start = app.get_abs(&beta(""), &token).await;
    start.expect(200);
    assert_eq!(types(&start.body), ["backupPolicyCreated", "backupPolicyActivated"], "{}", start.body);
    let created = &start.body["value"][0];
    assert_eq!(created["@odata.type"], "#microsoft.graph.backupPolicyActivityLog");
    assert_eq!(
        (created["serviceType"].as_str(), created["resultStatus"].as_str()),
        (Some("sharePoint"), Some("succeeded"))
    );
    assert_eq!(created["protectionUnitDetails"]["requestedToAddCount"], 2, "{created}");
    assert!(created["eventDateTime"].is_string() && created["severity"] == "low");

    // Renamed, and one unit removed.
    let policy = created["policyId"].as_str().unwrap().to_owned();
    let unit = seeded.protection_units[0].id.clone();
    let patch = json!({"displayName": "Renamed sites",
                       "siteProtectionUnits@delta": [{"@removed": {"reason": "changed"}, "id": unit}]});
    app.patch(&format!("sharePointProtectionPolicies/{policy}"), &token, &patch).await.expect(200);
    // A restore session activated and finished.
    let point = points(&seeded, "site")[1][0].clone();
    let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&point]).await;
    let sid = s["id"].as_str().unwrap().to_owned();
    app.activate(&sid, &token).await.expect(200);
    app.drain().await;

    let all = app.get_abs(&beta("?$count=true"), &token).await;
    let expected = [
        "backupPolicyCreated",
        "backupPolicyActivated",
        "backupPolicyRenamed",
        "backupPolicyModified",
        "restoreTaskCreated",
        "restoreTaskCompleted",
    ];
    assert_eq!(types(&all.body), expected, "{}", all.body);
    assert_eq!(all.body["@odata.count"], 6);
    let v = all.body["value"].as_array().unwrap();
    assert_eq!(
        (v[2]["oldPolicyName"].as_str(), v[2]["policyName"].as_str()),
        (Some("backstore seed: site"), Some("Renamed sites")),
        "{}",
        v[2]
    );
    assert_eq!(v[3]["protectionUnitDetails"]["requestedToRemoveCount"], 1);
    assert_eq!(v[4]["@odata.type"], "#microsoft.graph.restoreTaskActivityLog");
    assert_eq!(
        (v[4]["restoreSessionId"].as_str(), v[4]["destinationType"].as_str()),
        (Some(sid.as_str()), Some("new"))
    );
    assert_eq!(v[5]["restoreSessionStatus"], "completed");
    assert_eq!(v[5]["restoreArtifactDetails"], json!({"failedCount": 0, "restoredCount": 1, "totalArtifactsCount": 1}));
    assert!(v[5]["restoreCompletionDateTime"].is_string());

    // Filtered, cast, sorted, paged.
    let done = app.get_abs(&beta("?$filter=activityType eq 'restoreTaskCompleted'"), &token).await;
    assert_eq!(types(&done.body), ["restoreTaskCompleted"]);
    let restores =
        app.get_abs(&beta("?$filter=isof('microsoft.graph.restoreTaskActivityLog')&$count=true"), &token).await;
    assert_eq!(restores.body["@odata.count"], 2);
    let counted = app.get_abs(&beta("/$count?$filter=isof('microsoft.graph.restoreTaskActivityLog')"), &token).await;
    assert_eq!((counted.status.as_u16(), counted.text.as_str()), (200, "2"));
    let after = v[2]["eventDateTime"].as_str().unwrap();
    let since =
        app.get_abs(&beta(&format!("?$filter=eventDateTime ge {after} and resultStatus eq 'succeeded'")), &token).await;
    assert_eq!(types(&since.body).len(), 4, "{}", since.body);
    let newest = app.get_abs(&beta("?$orderby=eventDateTime desc&$top=1"), &token).await;
    assert_eq!(types(&newest.body), ["restoreTaskCompleted"]);
    let first = app.get_abs(&beta("?$top=4"), &token).await;
    assert_eq!(types(&first.body).len(), 4);
    let next = first.body["@odata.nextLink"].as_str().unwrap().to_owned();
    assert_eq!(types(&app.get_abs(&next, &token).await.body), ["restoreTaskCreated", "restoreTaskCompleted"]);

    // Refusals; v1.0 has no activity logs; another tenant sees none of these.
    app.get_abs(&beta("?$filter=nothing eq 1"), &token).await.expect_error(400, "BadRequest");
    app.get("activityLogs", &token).await.expect_error(404, "ResourceNotFound");
    let other = app.token(OTHER_TENANT);
    let theirs = app.get_abs(&beta(""), &other).await;
    assert!(types(&theirs.body).iter().all(|t| t.starts_with("backupPolicy")) && types(&theirs.body).len() <= 2);
}

#[tokio::test]
async fn rule_runs_deletions_and_offboarding_are_logged() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 3, 0, 0, 1).await;
    let beta = |q: &str| format!("{}/beta/solutions/backupRestore/activityLogs{q}", app.origin);
    let policy =
        app.get("sharePointProtectionPolicies", &token).await.body["value"][0]["id"].as_str().unwrap().to_owned();
    let sites: Vec<String> = seeded.protection_units.iter().map(|u| u.id.clone()).collect();
    // Two units leave the policy; a rule over every site brings one of them back.
    let removed = json!({"siteProtectionUnits@delta": [
        {"@removed": {"reason": "changed"}, "id": sites[0]},
        {"@removed": {"reason": "changed"}, "id": sites[1]},
    ]});
    app.patch(&format!("sharePointProtectionPolicies/{policy}"), &token, &removed).await.expect(200);
    app.drain().await;
    let url0 = seeded.protection_units[0].site_web_url.clone().unwrap();
    let rules = format!("sharePointProtectionPolicies/{policy}/siteInclusionRules");
    let rule = app.post(&rules, &token, &json!({"siteExpression": format!("webUrl -eq '{url0}'")})).await;
    rule.expect(201);
    app.drain().await;
    let rule_id = rule.body["id"].as_str().unwrap();
    app.send(reqwest::Method::DELETE, &app.url(&format!("{rules}/{rule_id}")), Some(&token), None, &[])
        .await
        .expect(204);
    // The other is offboarded (by a user, as the service requires).
    let user = app.token_with(TENANT, false, Some("admin-user"), 3600);
    let offboard = app.url(&format!("protectionUnits/{}/offboard", sites[1]));
    app.send(reqwest::Method::POST, &offboard, Some(&user), None, &[]).await.expect(200);

    let rules_log = app.get_abs(&beta("?$filter=isof('microsoft.graph.dynamicRuleActivityLog')"), &token).await;
    assert_eq!(types(&rules_log.body), ["dynamicRuleExecution", "dynamicRuleDeletion"], "{}", rules_log.body);
    let run = &rules_log.body["value"][0];
    assert_eq!((run["policyId"].as_str(), run["resultStatus"].as_str()), (Some(policy.as_str()), Some("succeeded")));
    assert_eq!(run["protectionUnitDetails"]["requestedToAddCount"], 1, "{run}");
    let off = app.get_abs(&beta("?$filter=activityType eq 'protectionUnitLevelOffboarding'"), &token).await;
    let entry = &off.body["value"][0];
    assert_eq!(entry["@odata.type"], "#microsoft.graph.offboardingActivityLog");
    assert_eq!(entry["performedBy"], "User admin-user");
    assert!(entry["offboardingDetails"].as_str().unwrap().contains(&sites[1]), "{entry}");
}
