//! beta `reports/getStatisticsByPolicy(policyId='…')` over HTTP: a policy's units counted by where
//! their protection stands, as a change moves through the engine; and its refusals.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_policys_statistics_follow_its_units() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 3, 1, 0, 1).await;
    let sp = app.get("sharePointProtectionPolicies", &token).await;
    let policy = sp.body["value"][0]["id"].as_str().unwrap().to_owned();
    let url =
        |p: &str| format!("{}/beta/solutions/backupRestore/reports/getStatisticsByPolicy(policyId='{p}')", app.origin);
    let stats = app.get_abs(&url(&policy), &token).await;
    stats.expect(200);
    assert_eq!(
        stats.body["@odata.context"],
        format!("{}/beta/$metadata#microsoft.graph.backupPolicyReport", app.origin)
    );
    assert_eq!(stats.body["backupPolicyId"], policy.as_str());
    assert_eq!(stats.body["displayName"], sp.body["value"][0]["displayName"]);
    let c = &stats.body["countStatistics"];
    assert!(c["lastComputedDateTime"].is_string(), "{c}");
    assert_eq!((c["total"].as_i64(), c["protectedCompleted"].as_i64()), (Some(3), Some(3)), "{c}");
    assert_eq!((c["protectedInProgress"].as_i64(), c["removed"].as_i64()), (Some(0), Some(0)), "{c}");

    // A unit removed: waiting, then gone from the policy once the engine settles it.
    let unit = seeded.protection_units.iter().find(|u| u.kind == "site").unwrap().id.clone();
    let delta = json!({"siteProtectionUnits@delta": [{"@removed": {"reason": "changed"}, "id": unit}]});
    app.patch(&format!("sharePointProtectionPolicies/{policy}"), &token, &delta).await.expect(200);
    let c = app.get_abs(&url(&policy), &token).await.body["countStatistics"].clone();
    assert_eq!(
        (c["total"].as_i64(), c["removed"].as_i64(), c["protectedCompleted"].as_i64()),
        (Some(3), Some(1), Some(2)),
        "{c}"
    );
    app.drain().await;
    let c = app.get_abs(&url(&policy), &token).await.body["countStatistics"].clone();
    assert_eq!(
        (c["total"].as_i64(), c["removed"].as_i64(), c["protectedCompleted"].as_i64()),
        (Some(2), Some(0), Some(2)),
        "{c}"
    );

    // The cast form, a reader's token; refusals in Graph's envelope.
    let cast = format!(
        "{}/beta/solutions/backupRestore/reports/microsoft.graph.getStatisticsByPolicy(policyId='{policy}')",
        app.origin
    );
    let reader = app.token_with(TENANT, true, None, 3600);
    app.get_abs(&cast, &reader).await.expect(200);
    app.get_abs(&url("nope"), &token).await.expect_error(404, "PolicyNotFound");
    let bad = format!("{}/beta/solutions/backupRestore/reports/getStatisticsByPolicy(id='{policy}')", app.origin);
    app.get_abs(&bad, &token).await.expect_error(400, "BadRequest");
    let v1 = format!("{}/v1.0/solutions/backupRestore/reports/getStatisticsByPolicy(policyId='{policy}')", app.origin);
    app.get_abs(&v1, &token).await.expect_error(404, "ResourceNotFound");
    let other = app.token(OTHER_TENANT);
    // Another tenant does not see the policy.
    app.get_abs(&url(&policy), &other).await.expect_error(404, "PolicyNotFound");
}
