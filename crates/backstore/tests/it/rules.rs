//! Inclusion rules against the real server: created on a policy, applied by the engine over the
//! tenant directory (display names, URLs, e-mail addresses, group membership), `run` again,
//! `deleteAndUnprotect`, delete, their refusals and permissions.

use backstore_api::auth::CONFIGURATION_READ;
use backstore_domain::Workload;
use backstore_engine::EngineConfig;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

async fn settle(app: &TestApp) {
    app.engine(EngineConfig::default()).run_until_idle(20).await.unwrap();
}

async fn site_policy(app: &TestApp, token: &str, sites: &[u32]) -> String {
    let units: Vec<Value> = sites.iter().map(|n| json!({ "siteId": site_id(*n) })).collect();
    let r = app.post("sharePointProtectionPolicies", token, &json!({ "siteProtectionUnits": units })).await;
    r.expect(201);
    r.body["id"].as_str().unwrap().to_owned()
}

/// The sites in a policy as `site<n>`, sorted.
async fn sites_in(app: &TestApp, token: &str, policy: &str) -> Vec<String> {
    let r = app.get(&format!("sharePointProtectionPolicies/{policy}/siteProtectionUnits"), token).await;
    r.expect(200);
    let mut urls: Vec<String> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| format!("site{}", u["siteId"].as_str().unwrap().rsplit("web").next().unwrap()))
        .collect();
    urls.sort();
    urls
}

#[tokio::test]
async fn a_site_rule_from_creation_to_delete_and_unprotect() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    app.register(TENANT, &(1..=5).map(site).collect::<Vec<_>>()).await.unwrap();
    let policy = site_policy(&app, &token, &[1]).await;
    let other = site_policy(&app, &token, &[4]).await;

    let rules = format!("sharePointProtectionPolicies/{policy}/siteInclusionRules");
    let body = json!({
        "@odata.type": "#microsoft.graph.siteProtectionRule",
        "siteExpression": "(displayName -contains 'Site 2') -or (webUrl -endsWith '/SITE3')",
        "isAutoApplyEnabled": null,
        "status": null,
    });
    let r = app.post(&rules, &token, &body).await;
    r.expect(201);
    let first = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["@odata.type"], "#microsoft.graph.siteProtectionRule");
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["isAutoApplyEnabled"], false);
    assert_eq!(r.body["error"], Value::Null);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with(&format!(
        "$metadata#solutions/backupRestore/sharePointProtectionPolicies('{policy}')/siteInclusionRules/$entity"
    )));
    assert!(r.header("content-location").unwrap().ends_with(&format!("/siteInclusionRules('{first}')")));

    settle(&app).await;
    let got = app.get(&format!("{rules}/{first}"), &token).await;
    got.expect(200);
    assert_eq!(got.body["status"], "completed");
    assert_eq!(sites_in(&app, &token, &policy).await, ["site1", "site2", "site3"]);

    // A wider rule: site 4 belongs to another policy (an error detail), site 5 joins.
    let r = app
        .post(
            &rules,
            &token,
            &json!({ "siteExpression": "webUrl -startsWith 'https://contoso.sharepoint.com/sites/'" }),
        )
        .await;
    r.expect(201);
    let second = r.body["id"].as_str().unwrap().to_owned();
    settle(&app).await;
    let got = app.get(&format!("siteInclusionRules/{second}"), &token).await;
    got.expect(200);
    assert_eq!(got.body["status"], "completedWithErrors");
    let details = got.body["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 1, "{}", got.body);
    assert_eq!(details[0]["code"], "ProtectionUnitAlreadyExists");
    assert_eq!(details[0]["target"], "https://contoso.sharepoint.com/sites/site4");
    assert_eq!(sites_in(&app, &token, &policy).await, ["site1", "site2", "site3", "site5"]);
    assert_eq!(sites_in(&app, &token, &other).await, ["site4"]);

    // Listed under the policy and at the root; the other policy has none.
    assert_eq!(app.get(&rules, &token).await.body["value"].as_array().unwrap().len(), 2);
    assert_eq!(app.get("siteInclusionRules", &token).await.body["value"].as_array().unwrap().len(), 2);
    let none = app.get(&format!("sharePointProtectionPolicies/{other}/siteInclusionRules"), &token).await;
    assert_eq!(none.body["value"], json!([]));
    app.get(&format!("sharePointProtectionPolicies/{other}/siteInclusionRules/{first}"), &token)
        .await
        .expect_error(404, "ProtectionRuleNotFound");
    app.get(&format!("mailboxInclusionRules/{first}"), &token).await.expect_error(404, "ProtectionRuleNotFound");

    // Static rules cannot be updated; isAutoApplyEnabled is fixed at creation.
    app.patch(&format!("{rules}/{first}"), &token, &json!({ "siteExpression": "displayName -eq 'x'" }))
        .await
        .expect_error(400, "PatchNotAllowedForStaticRule");
    app.patch(&format!("{rules}/{first}"), &token, &json!({ "isAutoApplyEnabled": true }))
        .await
        .expect_error(400, "InvalidProtectionRulePatchRequest");
    app.patch(&format!("{rules}/{first}"), &token, &json!({ "siteExpression": "displayName -like 'x'" }))
        .await
        .expect_error(400, "InvalidRuleExpression");

    // run applies it again; while it is being applied it can be neither run nor deleted.
    let (run, run_again) = (format!("{rules}/{second}/run"), format!("{rules}/{second}/microsoft.graph.run"));
    app.acts_once((&run, &run_again), &token, (200, "active"), "ProtectionRuleActionNotAllowed").await;
    app.delete(&format!("{rules}/{second}"), &token).await.expect_error(400, "InvalidProtectionRuleStatusForDeletion");
    settle(&app).await;

    // deleteAndUnprotect takes out the units the rule brought in, then the rule itself.
    let r = app.post(&format!("siteInclusionRules('{first}')/deleteAndUnprotect"), &token, &json!({})).await;
    r.expect(200);
    assert_eq!(r.body["status"], "unknownFutureValue", "deleteRequested is evolvable");
    let r = app
        .send(
            Method::GET,
            &app.url(&format!("{rules}/{first}")),
            Some(&token),
            None,
            &[("prefer", "include-unknown-enum-members")],
        )
        .await;
    assert_eq!(r.body["status"], "deleteRequested");
    settle(&app).await;
    app.get(&format!("{rules}/{first}"), &token).await.expect_error(404, "ProtectionRuleNotFound");
    assert_eq!(sites_in(&app, &token, &policy).await, ["site1", "site5"]);
    let units = app.get("siteProtectionUnits", &token).await;
    let site2 = units.body["value"].as_array().unwrap().iter().find(|u| u["siteId"] == site_id(2)).unwrap().clone();
    assert_eq!(site2["policyId"], Value::Null);
    assert_eq!(site2["status"], "unprotected");

    // Deleting a rule keeps its units.
    app.delete(&format!("{rules}/{second}"), &token).await.expect(204);
    app.get(&format!("siteInclusionRules/{second}"), &token).await.expect_error(404, "ProtectionRuleNotFound");
    assert_eq!(sites_in(&app, &token, &policy).await, ["site1", "site5"]);

    // A deleted policy takes its rules with it.
    let r = app.post(&rules, &token, &json!({ "siteExpression": "displayName -eq 'Site 1'" })).await;
    r.expect(201);
    settle(&app).await;
    app.delete(&format!("protectionPolicies/{policy}"), &token).await.expect(204);
    assert_eq!(app.get("siteInclusionRules", &token).await.body["value"], json!([]));
}

#[tokio::test]
async fn a_group_rule_protects_the_members_mailboxes_on_an_active_policy() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let mut users: Vec<_> = (1..=4).map(|n| user(Workload::Exchange, n)).collect();
    users[0].groups = vec!["g-finance".into()];
    users[1].groups = vec!["g-legal".into(), "g-finance".into()];
    users[2].groups = vec!["g-legal".into()];
    app.register(TENANT, &users).await.unwrap();
    let r = app
        .post(
            "exchangeProtectionPolicies",
            &token,
            &json!({ "mailboxProtectionUnits": [{ "directoryObjectId": users[3].resource.directory_object_id }] }),
        )
        .await;
    r.expect(201);
    let policy = r.body["id"].as_str().unwrap().to_owned();
    app.post(&format!("protectionPolicies/{policy}/activate"), &token, &json!({})).await.expect(202);
    settle(&app).await;

    let r = app
        .post(
            &format!("exchangeProtectionPolicies/{policy}/mailboxInclusionRules"),
            &token,
            &json!({ "mailboxExpression": "memberOf -any (group.id -in ['G-FINANCE'])" }),
        )
        .await;
    r.expect(201);
    assert_eq!(r.body["mailboxExpression"], "memberOf -any (group.id -in ['G-FINANCE'])");
    let rule = r.body["id"].as_str().unwrap().to_owned();
    settle(&app).await;
    assert_eq!(app.get(&format!("mailboxInclusionRules/{rule}"), &token).await.body["status"], "completed");
    let units = app.get(&format!("exchangeProtectionPolicies/{policy}/mailboxProtectionUnits"), &token).await;
    let mut owners: Vec<(String, String)> = units.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["directoryObjectId"].as_str().unwrap().to_owned(), u["status"].as_str().unwrap().to_owned()))
        .collect();
    owners.sort();
    let want: Vec<(String, String)> = [0, 1, 3]
        .iter()
        .map(|i| (users[*i].resource.directory_object_id.clone().unwrap(), "protected".to_owned()))
        .collect();
    assert_eq!(owners, want);
    let p = app.get(&format!("protectionPolicies/{policy}"), &token).await;
    assert_eq!(p.body["status"], "active");
}

#[tokio::test]
async fn rule_requests_that_are_refused() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    app.register(TENANT, &[site(1), user(Workload::OneDrive, 1)]).await.unwrap();
    let policy = site_policy(&app, &token, &[1]).await;
    let rules = format!("sharePointProtectionPolicies/{policy}/siteInclusionRules");

    let r =
        app.post(&rules, &token, &json!({ "siteExpression": "displayName -contains 'a' -and (webUrl -eq 'b'" })).await;
    r.expect_error(400, "InvalidRuleExpression");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("position 46"), "{}", r.text);
    app.post(&rules, &token, &json!({ "siteExpression": "mail -eq 'a@b.c'" }))
        .await
        .expect_error(400, "InvalidRuleExpression");
    app.post(&rules, &token, &json!({})).await.expect_error(400, "InvalidInclusionRuleCreateRequest");
    app.post(&rules, &token, &json!({ "siteExpression": "displayName -eq 'a'", "isAutoApplyEnabled": true }))
        .await
        .expect_error(400, "InvalidInclusionRuleCreateRequest");
    app.post(&rules, &token, &json!({ "siteExpression": "displayName -eq 'a'", "status": "completed" }))
        .await
        .expect_error(400, "InvalidInclusionRuleCreateRequest");
    app.post(&rules, &token, &json!({ "mailboxExpression": "displayName -eq 'a'" }))
        .await
        .expect_error(400, "InvalidInclusionRuleCreateRequest");
    app.post(&rules, &token, &json!([])).await.expect_error(400, "InvalidInclusionRuleCreateRequest");
    app.raw(Method::POST, &app.url(&rules), &token, Some("application/json"), b"{".to_vec())
        .await
        .expect_error(400, "BadRequest");

    let groups: Vec<String> = (0..101).map(|i| format!("'g{i}'")).collect();
    let r = user_policy(&app, &token, Workload::OneDrive, 1).await;
    r.expect(201);
    let drives = r.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("oneDriveForBusinessProtectionPolicies/{drives}/driveInclusionRules"),
        &token,
        &json!({ "driveExpression": format!("memberOf -any (group.id -in [{}])", groups.join(",")) }),
    )
    .await
    .expect_error(413, "InvalidRuleExpressionGroupLimitExceeded");

    app.post(
        "sharePointProtectionPolicies/nope/siteInclusionRules",
        &token,
        &json!({ "siteExpression": "displayName -eq 'a'" }),
    )
    .await
    .expect_error(404, "PolicyNotFound");
    app.get("sharePointProtectionPolicies/nope/siteInclusionRules", &token).await.expect_error(404, "PolicyNotFound");
    app.post("siteInclusionRules", &token, &json!({ "siteExpression": "displayName -eq 'a'" }))
        .await
        .expect_error(405, "MethodNotAllowed");
    app.get(&format!("sharePointProtectionPolicies/{policy}/driveInclusionRules"), &token)
        .await
        .expect_error(404, "ResourceNotFound");
    app.post("siteInclusionRules/nope/run", &token, &json!({})).await.expect_error(404, "ProtectionRuleNotFound");
    app.delete("siteInclusionRules/nope", &token).await.expect_error(404, "ProtectionRuleNotFound");

    // Permissions: reading takes Configuration.Read, everything else Configuration.ReadWrite.
    let reader = app.token_for(TENANT, &[CONFIGURATION_READ], None, 3600);
    app.get(&rules, &reader).await.expect(200);
    app.post(&rules, &reader, &json!({ "siteExpression": "displayName -eq 'a'" }))
        .await
        .expect_error(403, "accessDenied");
    // Nothing above was created.
    assert_eq!(app.get("siteInclusionRules", &token).await.body["value"], json!([]));
}
