//! The protection side as far as it is served: protection units (polymorphic and typed), the restore
//! point list with its required options, one restore point, and `restorePoints/search`; with the
//! permission each needs and tenant isolation.

use backstore_api::auth::{CONFIGURATION_READ, RESTORE_READ, RESTORE_READ_WRITE, SEARCH_READ};
use serde_json::{json, Value};

use crate::support::*;

fn ids(v: &Value) -> Vec<String> {
    v["value"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn protection_units_polymorphic_typed_and_one() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 2, 1, 1, 1).await;
    app.seed(OTHER_TENANT, 1, 0, 0, 1).await;
    let all = app.get("protectionUnits", &token).await;
    all.expect(200);
    assert!(all.body["@odata.context"].as_str().unwrap().ends_with("#solutions/backupRestore/protectionUnits"));
    let types: Vec<&str> =
        all.body["value"].as_array().unwrap().iter().map(|u| u["@odata.type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "#microsoft.graph.siteProtectionUnit",
            "#microsoft.graph.siteProtectionUnit",
            "#microsoft.graph.mailboxProtectionUnit",
            "#microsoft.graph.driveProtectionUnit"
        ]
    );
    let expected: Vec<String> = seeded.protection_units.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids(&all.body), expected, "only this tenant's units, in creation order");
    let site = &all.body["value"][0];
    assert_eq!(site["status"], "protected");
    assert!(site["policyId"].is_string());
    assert_eq!(site["protectionSources"], "manual");
    assert_eq!(site["siteId"].as_str(), seeded.protection_units[0].site_id.as_deref());
    assert_eq!(site["siteName"], Value::Null, "names are for delegated callers only");
    assert_eq!(site["createdBy"]["application"]["displayName"], "backstore seed");

    for (set, cast, n) in [
        ("siteProtectionUnits", "microsoft.graph.siteProtectionUnit", 2),
        ("mailboxProtectionUnits", "microsoft.graph.mailboxProtectionUnit", 1),
        ("driveProtectionUnits", "microsoft.graph.driveProtectionUnit", 1),
    ] {
        let typed = app.get(set, &token).await;
        typed.expect(200);
        assert_eq!(typed.body["value"].as_array().unwrap().len(), n, "{set}");
        assert!(typed.body["value"][0].get("@odata.type").is_none());
        let by_cast = app.get(&format!("protectionUnits/{cast}"), &token).await;
        assert_eq!(ids(&by_cast.body), ids(&typed.body));
    }
    let paged = app.get("protectionUnits?$top=3", &token).await;
    assert_eq!(paged.body["value"].as_array().unwrap().len(), 3);
    let next = paged.body["@odata.nextLink"].as_str().unwrap();
    let rest = app.send(reqwest::Method::GET, next, Some(&token), None, &[]).await;
    assert_eq!(ids(&rest.body), expected[3..]);

    let mailbox = &seeded.protection_units[2];
    let one = app.get(&format!("protectionUnits/{}", mailbox.id), &token).await;
    one.expect(200);
    assert_eq!(one.body["@odata.type"], "#microsoft.graph.mailboxProtectionUnit");
    assert_eq!(one.body["directoryObjectId"].as_str(), mailbox.directory_object_id.as_deref());
    let typed = app.get(&format!("mailboxProtectionUnits('{}')", mailbox.id), &token).await;
    typed.expect(200);
    assert!(typed.body.get("@odata.type").is_none());
    app.get(&format!("siteProtectionUnits/{}", mailbox.id), &token).await.expect_error(404, "ProtectionUnitNotFound");
    app.get("protectionUnits/nope", &token).await.expect_error(404, "ProtectionUnitNotFound");
    let other = app.token(OTHER_TENANT);
    app.get(&format!("protectionUnits/{}", mailbox.id), &other).await.expect_error(404, "ProtectionUnitNotFound");

    let user = app.token_with(TENANT, true, Some("admin-1"), 600);
    let named = app.get(&format!("protectionUnits/{}", mailbox.id), &user).await;
    assert_eq!(named.body["displayName"].as_str(), mailbox.display_name.as_deref());
    assert_eq!(named.body["email"].as_str(), mailbox.email.as_deref());
}

fn list_url(unit: &str, filter: &str) -> String {
    format!("restorePoints?$expand=protectionUnit($filter=id eq '{unit}')&$filter={filter}")
}

#[tokio::test]
async fn the_restore_point_list_takes_its_documented_shape() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 1, 0, 0, 8).await;
    let unit = &seeded.protection_units[0];
    let now = app.clock().now();
    let future = (now + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = app.get(&list_url(&unit.id, &format!("protectionDateTime lt {future}")), &token).await;
    r.expect(200);
    assert!(r.body["@odata.context"].as_str().unwrap().ends_with("#solutions/backupRestore/restorePoints"));
    assert!(r.body.get("@odata.nextLink").is_none());
    assert_eq!(ids(&r.body), unit.restore_point_ids[..5], "the five most recent");
    let first = &r.body["value"][0];
    assert_eq!(first["@odata.type"], "#microsoft.graph.restorePoint");
    assert_eq!(first["tags"], "fastRestore");
    assert_eq!(first["protectionUnit"]["@odata.type"], "#microsoft.graph.siteProtectionUnit");
    assert_eq!(first["protectionUnit"]["id"], unit.id.as_str());

    // Before the third point's time: the points after it are left out; `le` keeps it.
    let third = app.get(&format!("restorePoints/{}", unit.restore_point_ids[2]), &token).await;
    let t = third.body["protectionDateTime"].as_str().unwrap().to_owned();
    let lt = app.get(&list_url(&unit.id, &format!("protectionDateTime lt {t}")), &token).await;
    assert_eq!(ids(&lt.body), unit.restore_point_ids[3..8]);
    let le = app.get(&list_url(&unit.id, &format!("protectionDateTime le {t}")), &token).await;
    assert_eq!(ids(&le.body), unit.restore_point_ids[2..7]);
    let oldest = app
        .get(
            &format!(
                "{}&$orderby=protectionDateTime asc&$top=2",
                list_url(&unit.id, &format!("protectionDateTime lt {future}"))
            ),
            &token,
        )
        .await;
    assert_eq!(ids(&oldest.body), [unit.restore_point_ids[7].clone(), unit.restore_point_ids[6].clone()]);
    let top =
        app.get(&format!("{}&$top=50", list_url(&unit.id, &format!("protectionDateTime lt {future}"))), &token).await;
    assert_eq!(ids(&top.body).len(), 5, "never more than five");

    // `/$count` counts every point in the window, not the list's five.
    let count = |url: String| {
        let app = &app;
        let token = &token;
        async move {
            let r = app.get(&url.replacen("restorePoints?", "restorePoints/$count?", 1), token).await;
            r.expect(200);
            r.text.parse::<i64>().unwrap()
        }
    };
    assert_eq!(count(list_url(&unit.id, &format!("protectionDateTime lt {future}"))).await, 8);
    assert_eq!(count(list_url(&unit.id, &format!("protectionDateTime le {t}"))).await, 6);
    assert_eq!(count(list_url("no-such-unit", &format!("protectionDateTime lt {future}"))).await, 0);
    app.get("restorePoints/$count", &token).await.expect_error(400, "BadRequest");

    let unknown = app.get(&list_url("no-such-unit", &format!("protectionDateTime lt {future}")), &token).await;
    assert_eq!(unknown.body["value"], json!([]));
    let other = app.token(OTHER_TENANT);
    let theirs = app.get(&list_url(&unit.id, &format!("protectionDateTime lt {future}")), &other).await;
    assert_eq!(theirs.body["value"], json!([]), "another tenant's unit has no points for me");

    for bad in [
        "restorePoints".to_owned(),
        format!("restorePoints?$filter=protectionDateTime lt {future}"),
        format!("restorePoints?$expand=protectionUnit&$filter=protectionDateTime lt {future}"),
        format!("restorePoints?$expand=protectionUnit($filter=id eq '{}')", unit.id),
        list_url(&unit.id, "tags eq 'fastRestore'"),
        list_url(&unit.id, "protectionDateTime lt tomorrow"),
        format!("{}&$orderby=id", list_url(&unit.id, &format!("protectionDateTime lt {future}"))),
        format!("{}&$count=true", list_url(&unit.id, &format!("protectionDateTime lt {future}"))),
        list_url(&unit.id, &format!("protectionDateTime lt {future} or protectionDateTime gt {future}")),
    ] {
        let r = app.get(&bad, &token).await;
        assert_eq!(r.status.as_u16(), 400, "{bad}: {}", r.text);
        assert!(["BadRequest", "InvalidSearchRequest"].contains(&r.error_code()), "{bad}: {}", r.text);
    }
    // The shared parser: unquoted or quoted date-times, and refusals that say where.
    let quoted = app.get(&list_url(&unit.id, &format!("protectionDateTime lt '{future}'")), &token).await;
    assert_eq!(ids(&quoted.body).len(), 5);
    let r = app.get(&list_url(&unit.id, "protectionDateTime lt"), &token).await;
    r.expect_error(400, "BadRequest");
    assert!(r.text.contains("position 21"), "{}", r.text);
    let long = list_url(
        &unit.id,
        &format!("protectionDateTime lt {future}{}", " and protectionDateTime lt 2020-01-01T00:00:00Z".repeat(30)),
    );
    app.get(&long, &token).await.expect_error(400, "FilterLengthExceeded");
}

#[tokio::test]
async fn one_restore_point_and_its_unit() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 0, 1, 0, 2).await;
    let unit = &seeded.protection_units[0];
    let id = &unit.restore_point_ids[0];
    let p = app.get(&format!("restorePoints/{id}"), &token).await;
    p.expect(200);
    assert!(p.body["@odata.context"].as_str().unwrap().ends_with("#solutions/backupRestore/restorePoints/$entity"));
    assert_eq!(p.body["id"], id.as_str());
    assert_eq!(p.body["tags"], "none", "Exchange has no fast-restore points");
    assert!(p.body.get("protectionUnit").is_none());
    let expanded = app.get(&format!("restorePoints('{id}')?$expand=protectionUnit"), &token).await;
    assert_eq!(expanded.body["protectionUnit"]["id"], unit.id.as_str());
    let u = app.get(&format!("restorePoints/{id}/protectionUnit"), &token).await;
    u.expect(200);
    assert_eq!(u.body["@odata.type"], "#microsoft.graph.mailboxProtectionUnit");
    assert!(u.body["@odata.context"].as_str().unwrap().ends_with("#solutions/backupRestore/protectionUnits/$entity"));
    app.get("restorePoints/nope", &token).await.expect_error(404, "RestorePointNotFound");
    app.get(&format!("restorePoints/{id}"), &app.token(OTHER_TENANT)).await.expect_error(404, "RestorePointNotFound");
    let expired = app.expired_point(TENANT, backstore_domain::Workload::Exchange).await;
    app.get(&format!("restorePoints/{expired}"), &token).await.expect_error(404, "RestorePointNotFound");
}

#[tokio::test]
async fn search_finds_one_point_per_unit_and_feeds_a_session() {
    let (app, token, seeded) = TestApp::seeded(TENANT, 2, 1, 0, 4).await;
    let (s1, s2, mb) = (&seeded.protection_units[0], &seeded.protection_units[1], &seeded.protection_units[2]);
    let now = app.clock().now();
    let day_ago = (now - chrono::Duration::days(1)).to_rfc3339();
    let body = |pref: &str, tags: Value| {
        json!({
            "protectionUnitIds": [s1.id, "unknown-unit", mb.id, s2.id],
            "protectionTimePeriod": {"startDateTime": day_ago},
            "restorePointPreference": pref,
            "tags": tags,
        })
    };
    let latest = app.post("restorePoints/search", &token, &body("latest", Value::Null)).await;
    latest.expect(200);
    assert!(latest.body["searchResponseId"].as_str().is_some_and(|s| !s.is_empty()));
    let found = found_points(&latest);
    assert_eq!(found, [&s1.restore_point_ids[0], &mb.restore_point_ids[0], &s2.restore_point_ids[0]]);
    assert_eq!(latest.body["noResultProtectionUnitIds"], json!(["unknown-unit"]));
    let r0 = &latest.body["searchResults"][0]["restorePoint"];
    assert_eq!(r0["@odata.type"], "#microsoft.graph.restorePoint");
    assert_eq!(r0["protectionUnit"]["@odata.type"], "#microsoft.graph.siteProtectionUnit");

    let oldest = app.post("restorePoints/microsoft.graph.search", &token, &body("oldest", json!("fastRestore"))).await;
    oldest.expect(200);
    let found = found_points(&oldest);
    assert_eq!(found, [&s1.restore_point_ids[3], &s2.restore_point_ids[3]], "mailboxes have no fast-restore points");
    assert_eq!(oldest.body["noResultProtectionUnitIds"], json!(["unknown-unit", mb.id]));

    // Before any point: nothing.
    let early = json!({"protectionUnitIds": [s1.id], "protectionTimePeriod": {"endDateTime": day_ago}});
    let none = app.post("restorePoints/search", &token, &early).await;
    assert_eq!(none.body["searchResults"], json!([]));
    assert_eq!(none.body["noResultProtectionUnitIds"], json!([s1.id]));

    // What search found restores.
    let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[found[0], found[1]]).await;
    assert_eq!(s["restoreSessionArtifactCount"]["total"], 2);

    let period = json!({"startDateTime": day_ago});
    let many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
    for (bad, status, code) in [
        (json!({"protectionUnitIds": [], "protectionTimePeriod": period}), 400, "InvalidSearchRequest"),
        (json!({"protectionUnitIds": many, "protectionTimePeriod": period}), 400, "InvalidSearchRequest"),
        (json!({"protectionUnitIds": [s1.id]}), 400, "InvalidSearchRequest"),
        (json!({"protectionUnitIds": [s1.id], "protectionTimePeriod": {}}), 400, "InvalidSearchRequest"),
        (
            json!({"protectionUnitIds": [s1.id], "protectionTimePeriod": {"startDateTime": "yesterday"}}),
            400,
            "InvalidSearchRequest",
        ),
        (
            json!({"protectionUnitIds": [s1.id], "protectionTimePeriod": {"startDateTime": "2026-02-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z"}}),
            400,
            "InvalidSearchRequest",
        ),
        (json!({"protectionUnitIds": [""], "protectionTimePeriod": period}), 400, "InvalidProtectionUnitId"),
        (
            json!({"protectionUnitIds": [s1.id], "protectionTimePeriod": period, "restorePointPreference": "middle"}),
            400,
            "BadRequest",
        ),
        (json!({"protectionUnitIds": [s1.id], "protectionTimePeriod": period, "tags": "slow"}), 400, "BadRequest"),
        (json!({"protectionUnitIds": [s1.id], "protectionTimePeriod": period, "extra": 1}), 400, "BadRequest"),
        (
            json!({"protectionUnitIds": [mb.id], "protectionTimePeriod": period, "artifactQuery": {"artifactType": "message", "queryExpression": "(Subject -like x*)"}}),
            400,
            "InvalidSearchRequest",
        ),
        (
            json!({"protectionUnitIds": [s1.id], "protectionTimePeriod": period, "artifactQuery": {"artifactType": "message", "queryExpression": "(Subject -like 'x*')"}}),
            400,
            "InvalidSearchRequest",
        ),
        (
            json!({"protectionUnitIds": [mb.id, s1.id], "protectionTimePeriod": period, "artifactQuery": {"queryExpression": "(Subject -like 'x*')"}}),
            400,
            "InvalidSearchRequest",
        ),
    ] {
        let r = app.post("restorePoints/search", &token, &bad).await;
        assert_eq!(r.status.as_u16(), status, "{bad}: {}", r.text);
        assert_eq!(r.error_code(), code, "{bad}: {}", r.text);
    }
}

#[tokio::test]
async fn each_endpoint_checks_its_own_permission() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 1, 0, 0, 1).await;
    let unit = &seeded.protection_units[0];
    let point = &unit.restore_point_ids[0];
    let search =
        json!({"protectionUnitIds": [unit.id], "protectionTimePeriod": {"startDateTime": "2020-01-01T00:00:00Z"}});
    let cases: [(&[&str], [u16; 4]); 5] = [
        // units, restore point, search, restore sessions
        (&[CONFIGURATION_READ], [200, 403, 403, 403]),
        (&[SEARCH_READ], [403, 200, 200, 403]),
        (&[RESTORE_READ], [403, 200, 403, 200]),
        (&[RESTORE_READ_WRITE], [403, 200, 403, 200]),
        (&[], [403, 403, 403, 403]),
    ];
    for (permissions, expected) in cases {
        let token = app.token_for(TENANT, permissions, None, 600);
        let got = [
            app.get("protectionUnits", &token).await.status.as_u16(),
            app.get(&format!("restorePoints/{point}"), &token).await.status.as_u16(),
            app.post("restorePoints/search", &token, &search).await.status.as_u16(),
            app.get("restoreSessions", &token).await.status.as_u16(),
        ];
        assert_eq!(got, expected, "{permissions:?}");
    }
    let denied = app.get("protectionUnits", &app.token_for(TENANT, &[SEARCH_READ], None, 600)).await;
    denied.expect_error(403, "accessDenied");
    assert!(denied.body["error"]["message"].as_str().unwrap().contains("BackupRestore-Configuration.Read.All"));
}

/// The restore point ids of a search's results, in order.
fn found_points(r: &Resp) -> Vec<&str> {
    let results = r.body["searchResults"].as_array().expect("searchResults");
    results.iter().map(|r| r["restorePoint"]["id"].as_str().expect("a restore point id")).collect()
}

/// beta's own unit and policy properties, absent on v1.0; `protectionMode` chosen at creation
/// (`standard` or `fullServiceBackup`, see `exclusions.rs`) and kept.
#[tokio::test]
async fn beta_units_and_policies_carry_betas_properties() {
    let app = TestApp::spawn().await;
    let token = app.token(TENANT);
    app.seed(TENANT, 1, 1, 0, 1).await;
    let get = |version: &'static str, path: &'static str| {
        let (app, token) = (&app, &token);
        async move { app.get_abs(&app.versioned(version, path), token).await }
    };
    let v1 = get("v1.0", "protectionUnits").await;
    assert!(v1.body["value"].as_array().unwrap().iter().all(|u| u.get("backupRetentionPeriodInDays").is_none()));
    let beta = get("beta", "protectionUnits").await;
    let units = beta.body["value"].as_array().unwrap();
    assert_eq!(units.len(), 2);
    for u in units {
        assert_eq!(
            (&u["backupRetentionPeriodInDays"], &u["billingPolicyId"], &u["pendingRetentionPeriodChange"]),
            (&json!(365), &Value::Null, &Value::Null),
            "{u}"
        );
        let mailbox = u["@odata.type"] == "#microsoft.graph.mailboxProtectionUnit";
        assert_eq!(u.get("mailboxType").cloned(), mailbox.then(|| json!("user")), "{u}");
    }
    let picked = get("beta", "mailboxProtectionUnits?$select=mailboxType,backupRetentionPeriodInDays").await;
    let keys: Vec<&String> =
        picked.body["value"][0].as_object().unwrap().keys().filter(|k| !k.starts_with('@')).collect();
    assert_eq!(
        keys,
        ["id", "backupRetentionPeriodInDays", "mailboxType"].iter().collect::<Vec<_>>(),
        "{}",
        picked.text
    );
    get("v1.0", "mailboxProtectionUnits?$select=mailboxType").await.expect(400);

    let policies = get("beta", "protectionPolicies").await;
    for p in policies.body["value"].as_array().unwrap() {
        assert_eq!(
            (&p["protectionMode"], &p["billingPolicyId"], &p["offboardRequestedDateTime"]),
            (&json!("standard"), &Value::Null, &Value::Null),
            "{p}"
        );
    }
    assert!(get("v1.0", "protectionPolicies").await.body["value"][0].get("protectionMode").is_none());

    let create = |version: &'static str, mode: &'static str| {
        let (app, token) = (&app, &token);
        let url = app.versioned(version, "oneDriveForBusinessProtectionPolicies");
        async move { app.post_abs(&url, token, &json!({ "displayName": "Drives", "protectionMode": mode })).await }
    };
    let full = create("beta", "fullServiceBackup").await;
    full.expect(201);
    assert_eq!(full.body["protectionMode"], "fullServiceBackup");
    create("beta", "everything").await.expect(400);
    create("v1.0", "standard").await.expect(400);
    let made = create("beta", "standard").await;
    made.expect(201);
    assert_eq!(made.body["protectionMode"], "standard");
    let id = made.body["id"].as_str().unwrap();
    let patch = app.versioned("beta", &format!("oneDriveForBusinessProtectionPolicies/{id}"));
    app.patch_abs(&patch, &token, &json!({ "protectionMode": "fullServiceBackup" })).await.expect(400);
    app.patch_abs(&patch, &token, &json!({ "protectionMode": "standard" })).await.expect(200);
}
