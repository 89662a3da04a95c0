//! OData query options against the real server on every queryable collection: `$filter` (with
//! enum members, unquoted date-times, paths into complex properties, `in`, string functions, `isof`),
//! `$orderby` with several keys, `$top`/`$skip`, keyset `$skiptoken` paging, `$count` and `/$count`,
//! `$select` inside `$expand`, option names without `$` or in capitals, and the refusals.

use std::collections::HashSet;

use backstore_api::auth::DEFAULT_APP_ID;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn ids(v: &Value) -> Vec<String> {
    v["value"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// Follows `@odata.nextLink` from `path` to the end; every page's ids in order.
async fn all_pages(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut url = app.url(path);
    loop {
        let r = app.send(Method::GET, &url, Some(token), None, &[]).await;
        r.expect(200);
        out.extend(ids(&r.body));
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return out,
        }
    }
}

async fn count_text(app: &TestApp, token: &str, path: &str) -> i64 {
    let r = app.send(Method::GET, &app.url(path), Some(token), None, &[]).await;
    r.expect(200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"), "{:?}", r.header("content-type"));
    r.text.parse().unwrap()
}

#[tokio::test]
async fn restore_sessions_filter_sort_page_and_count() {
    let (app, token, report) = TestApp::seeded(TENANT, 3, 3, 3, 3).await;
    // Two sessions of each kind: one with one artifact, one with two.
    let mut made = Vec::new();
    for (set, nav, kind, _) in KINDS {
        let pts = points(&report, kind);
        let one = app.create(set, nav, &token, &[&pts[0][0]]).await;
        let two = app.create(set, nav, &token, &[&pts[1][0], &pts[2][0]]).await;
        made.push((kind, one["id"].as_str().unwrap().to_owned(), two["id"].as_str().unwrap().to_owned()));
    }
    let (_, site_one, site_two) = made[0].clone();
    app.activate(&site_one, &token).await.expect(200);
    app.drain().await;
    let all = ids(&app.get("restoreSessions", &token).await.body);
    assert_eq!(all.len(), 6);

    let drafts = app.get("restoreSessions?$filter=status eq 'draft'", &token).await;
    drafts.expect(200);
    assert_eq!(ids(&drafts.body).len(), 5);
    assert!(!ids(&drafts.body).contains(&site_one));
    let done = app.get("restoreSessions?$filter=status in ('completed', 'completedWithError')", &token).await;
    assert_eq!(ids(&done.body), std::slice::from_ref(&site_one));
    let exchange = app.get("restoreSessions?$filter=isof('microsoft.graph.exchangeRestoreSession')", &token).await;
    assert_eq!(ids(&exchange.body), [made[1].1.clone(), made[1].2.clone()]);
    let cast_and_filter = app
        .get(
            "restoreSessions/microsoft.graph.sharePointRestoreSession?$filter=restoreSessionArtifactCount/total gt 1",
            &token,
        )
        .await;
    assert_eq!(ids(&cast_and_filter.body), std::slice::from_ref(&site_two));
    let typed =
        app.get("oneDriveForBusinessRestoreSessions?filter=not (restoreSessionArtifactCount/total eq 1)", &token).await;
    assert_eq!(ids(&typed.body), [made[2].2.clone()]);
    let since = (app.clock().now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mine = app
        .get(
            &format!(
                "restoreSessions?$filter=createdDateTime ge {since} and createdBy/application/id eq '{DEFAULT_APP_ID}'"
            ),
            &token,
        )
        .await;
    assert_eq!(ids(&mine.body).len(), 6);
    let none = app.get("restoreSessions?$filter=completedDateTime ne null and status eq 'draft'", &token).await;
    assert_eq!(ids(&none.body), Vec::<String>::new());

    // Sorting: newest first; several keys.
    let desc = app.get("restoreSessions?$orderby=createdDateTime desc", &token).await;
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(ids(&desc.body), reversed);
    let by_size =
        app.get("restoreSessions?$orderby=restoreSessionArtifactCount/total desc,createdDateTime", &token).await;
    let sizes: Vec<i64> = by_size.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["restoreSessionArtifactCount"]["total"].as_i64().unwrap())
        .collect();
    assert_eq!(sizes, [2, 2, 2, 1, 1, 1]);

    // Paging follows the order and the filter; $skip once, then the token.
    assert_eq!(all_pages(&app, &token, "restoreSessions?$top=4&$orderby=createdDateTime desc").await, reversed);
    assert_eq!(all_pages(&app, &token, "restoreSessions?$TOP=1&$filter=status eq 'draft'").await, ids(&drafts.body));
    let skipped = app.get("restoreSessions?$skip=2&$top=2", &token).await;
    assert_eq!(ids(&skipped.body), all[2..4]);
    let next = skipped.body["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with("http://127.0.0.1:") && !next.to_ascii_lowercase().contains("skip=2"), "{next}");
    let rest = app.send(Method::GET, next, Some(&token), None, &[]).await;
    assert_eq!(ids(&rest.body), all[4..6]);
    // Behind a trusted proxy the links carry the address the client used.
    let proxied = app
        .send(
            Method::GET,
            &app.url("restoreSessions?$top=2"),
            Some(&token),
            None,
            &[("x-forwarded-proto", "https"), ("x-forwarded-host", "backup.contoso.test:8443")],
        )
        .await;
    let link = proxied.body["@odata.nextLink"].as_str().unwrap();
    assert!(
        link.starts_with("https://backup.contoso.test:8443/v1.0/solutions/backupRestore/restoreSessions?"),
        "{link}"
    );
    assert!(proxied.body["@odata.context"].as_str().unwrap().starts_with("https://backup.contoso.test:8443/"));

    // Counting.
    let counted = app.get("restoreSessions?$count=true&$top=1&$filter=status eq 'draft'", &token).await;
    assert_eq!(counted.body["@odata.count"], 5);
    assert_eq!(ids(&counted.body).len(), 1);
    assert_eq!(count_text(&app, &token, "restoreSessions/$count").await, 6);
    assert_eq!(count_text(&app, &token, "exchangeRestoreSessions/$count").await, 2);
    assert_eq!(count_text(&app, &token, "restoreSessions/$count?$filter=status eq 'completed'").await, 1);

    // $select inside $expand.
    let r = app
        .get(
            &format!("sharePointRestoreSessions/{site_two}?$select=id&$expand=siteRestoreArtifacts($select=id,status)"),
            &token,
        )
        .await;
    r.expect(200);
    let arts = r.body["siteRestoreArtifacts"].as_array().unwrap();
    assert_eq!(arts.len(), 2);
    for a in arts {
        let mut keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "status"]);
    }
    assert!(r.body.get("status").is_none());

    // Refusals: a 400 that says where, never a 500, never ignored.
    for (query, needle) in [
        ("$filter=colour eq 'red'", "position 0"),
        ("$filter=status eq 'draft' and", "position 21"),
        ("$filter=status eq 'paused'", "member"),
        ("$filter=createdDateTime gt 'yesterday'", "date"),
        ("$filter=length(id) eq 3", "Unsupported function"),
        ("$orderby=createdBy/user/id", "cannot be used in $orderby"),
        ("$orderby=status sideways", "position 7"),
        ("$count=yes", "true or false"),
        ("$skip=-1", "non-negative"),
    ] {
        let r = app.get(&format!("restoreSessions?{query}"), &token).await;
        r.expect_error(400, "BadRequest");
        assert!(r.text.contains(needle), "{query}: {}", r.text);
    }
    let token_for_other_order = {
        let r = app.get("restoreSessions?$top=1&$orderby=createdDateTime desc", &token).await;
        let next = r.body["@odata.nextLink"].as_str().unwrap().to_owned();
        next.split("$skiptoken=").nth(1).unwrap().to_owned()
    };
    app.get(&format!("restoreSessions?$skiptoken={token_for_other_order}"), &token)
        .await
        .expect_error(400, "BadRequest");
    app.get(&format!("restoreSessions/{site_one}?$filter=status eq 'draft'"), &token)
        .await
        .expect_error(400, "BadRequest");
    app.get("restoreSessions?$expand=siteRestoreArtifacts($filter=status eq 'added')", &token)
        .await
        .expect_error(501, "notImplemented");
}

#[tokio::test]
async fn artifacts_and_units_take_the_same_options() {
    let (app, token, report) = TestApp::seeded(TENANT, 4, 1, 0, 3).await;
    let sites = points(&report, "site");
    let id = &app
        .draft("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&sites[0][0], &sites[1][1], &sites[2][2]])
        .await;
    let base = format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts");
    let all = ids(&app.get(&base, &token).await.body);
    assert_eq!(all.len(), 3);

    let one = app.get(&format!("{base}?$filter=restorePoint/id eq '{}'", sites[1][1]), &token).await;
    assert_eq!(ids(&one.body), [all[1].clone()]);
    let added =
        app.get(&format!("{base}?$filter=status eq 'added' and destinationType eq 'new'&$count=true"), &token).await;
    assert_eq!(added.body["@odata.count"], 3);
    let by_point = app.get(&format!("{base}?$orderby=restorePoint/protectionDateTime desc,id"), &token).await;
    assert_eq!(by_point.body["value"].as_array().unwrap().len(), 3);
    let times: Vec<String> = by_point.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["restorePoint"]["protectionDateTime"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(times, sorted);
    assert_eq!(all_pages(&app, &token, &format!("{base}?$top=1")).await, all);
    assert_eq!(count_text(&app, &token, &format!("{base}/$count")).await, 3);
    assert_eq!(count_text(&app, &token, &format!("{base}/$count?$filter=status eq 'failed'")).await, 0);
    app.get(&format!("{base}?$filter=siteName eq 'x'"), &token).await.expect_error(400, "BadRequest");
    // A session that is not there, or of another kind, is a 404 whatever the options say.
    for bad in ["$filter=siteName eq 'x'", "$orderby=nope", "$top=1"] {
        app.get(&format!("sharePointRestoreSessions/nope/siteRestoreArtifacts?{bad}"), &token)
            .await
            .expect_error(404, "RestoreSessionNotFound");
        app.get(&format!("exchangeRestoreSessions/{id}/mailboxRestoreArtifacts?{bad}"), &token)
            .await
            .expect_error(404, "RestoreSessionNotFound");
    }
    app.get("sharePointRestoreSessions/nope/siteRestoreArtifacts/$count", &token)
        .await
        .expect_error(404, "RestoreSessionNotFound");

    // Protection units.
    let units = app.get("protectionUnits?$filter=isof('microsoft.graph.siteProtectionUnit')", &token).await;
    assert_eq!(ids(&units.body).len(), 4);
    let protected = app.get("protectionUnits?$filter=status eq 'protected'&$count=true", &token).await;
    assert_eq!(protected.body["@odata.count"], 5);
    let site_id = report.protection_units[0].site_id.clone().unwrap();
    let by_site = app.get(&format!("siteProtectionUnits?$filter=siteId eq '{site_id}'"), &token).await;
    assert_eq!(ids(&by_site.body), [report.protection_units[0].id.clone()]);
    let ordered = app.get("protectionUnits?$orderby=siteId desc,createdDateTime&$select=id", &token).await;
    let first = &ordered.body["value"][0];
    assert_eq!(first.as_object().unwrap().keys().filter(|k| !k.starts_with('@')).count(), 1, "{first}");
    assert_eq!(count_text(&app, &token, "mailboxProtectionUnits/$count").await, 1);
    assert_eq!(count_text(&app, &token, "protectionUnits/$count?$filter=startswith(siteId, 'NOPE')").await, 0);
    app.get("protectionUnits?$filter=email eq 'x'", &token).await.expect_error(400, "BadRequest");
}

#[tokio::test]
async fn paging_ten_thousand_artifacts_while_more_arrive() {
    let (app, token, report) = TestApp::seeded(TENANT, 110, 0, 0, 100).await;
    let pts: Vec<String> = points(&report, "site").into_iter().flatten().collect();
    assert!(pts.len() >= 10_500, "{}", pts.len());
    // 10 000 artifacts, 50 per PATCH as the service allows.
    let r = app.post("sharePointRestoreSessions", &token, &json!({})).await;
    r.expect(201);
    let session = r.body["id"].as_str().unwrap().to_owned();
    let patch = |chunk: &[String]| {
        let items: Vec<Value> =
            chunk.iter().map(|p| json!({ "restorePoint": { "id": p }, "destinationType": "new" })).collect();
        json!({ "siteRestoreArtifacts@delta": items })
    };
    for chunk in pts[..10_000].chunks(50) {
        app.patch(&format!("sharePointRestoreSessions/{session}"), &token, &patch(chunk)).await.expect(200);
    }
    let base = format!("sharePointRestoreSessions/{session}/siteRestoreArtifacts");

    let mut seen = Vec::new();
    let mut url = app.url(&format!("{base}?$top=999"));
    let mut extra = pts[10_000..].chunks(50);
    let mut pages = 0;
    loop {
        let r = app.send(Method::GET, &url, Some(&token), None, &[]).await;
        r.expect(200);
        seen.extend(ids(&r.body));
        pages += 1;
        let Some(next) = r.body["@odata.nextLink"].as_str() else { break };
        url = next.to_owned();
        // New artifacts arrive between pages.
        if let Some(chunk) = extra.next() {
            app.patch(&format!("sharePointRestoreSessions/{session}"), &token, &patch(chunk)).await.expect(200);
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no artifact twice");
    let first_ten_thousand =
        app.store().list_artifacts((TENANT, &session, false), &backstore_store::ListSpec::first(10_000)).await.unwrap();
    assert!(first_ten_thousand.rows.iter().all(|a| unique.contains(&a.record.id)), "no gaps");
    let total = count_text(&app, &token, &format!("{base}/$count")).await;
    assert_eq!(seen.len() as i64, total, "the ones added meanwhile come at the end, once");
    assert!(pages >= 11, "{pages}");
}

#[tokio::test]
async fn policies_units_rules_jobs_and_service_apps_count_with_and_without_a_list() {
    let (app, token, _) = TestApp::seeded(TENANT, 3, 2, 1, 1).await;
    // The seed puts each workload's units in one policy.
    let policies = app.get("protectionPolicies?$count=true", &token).await;
    policies.expect(200);
    let n = policies.body["value"].as_array().unwrap().len() as i64;
    assert_eq!(policies.body["@odata.count"], n, "{}", policies.body);
    assert_eq!(count_text(&app, &token, "protectionPolicies/$count").await, n);
    let sp = app.get("sharePointProtectionPolicies?$count=true&$top=1", &token).await;
    let sp_id = sp.body["value"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(sp.body["@odata.count"], 1);
    assert_eq!(count_text(&app, &token, "sharePointProtectionPolicies/$count").await, 1);
    let units = format!("sharePointProtectionPolicies/{sp_id}/siteProtectionUnits");
    assert_eq!(count_text(&app, &token, &format!("{units}/$count")).await, 3);
    assert_eq!(app.get(&format!("{units}?$count=true&$top=2"), &token).await.body["@odata.count"], 3);

    // Rules and unit bulk jobs: none, then one, under the policy and across policies.
    let rules = format!("sharePointProtectionPolicies/{sp_id}/siteInclusionRules");
    assert_eq!(count_text(&app, &token, &format!("{rules}/$count")).await, 0);
    app.post(&rules, &token, &json!({"siteExpression": "displayName -eq 'nothing'"})).await.expect(201);
    assert_eq!(count_text(&app, &token, &format!("{rules}/$count")).await, 1);
    assert_eq!(count_text(&app, &token, "siteInclusionRules/$count").await, 1);
    assert_eq!(app.get(&format!("{rules}?$count=true"), &token).await.body["@odata.count"], 1);
    let jobs = format!("sharePointProtectionPolicies/{sp_id}/siteProtectionUnitsBulkAdditionJobs");
    assert_eq!(count_text(&app, &token, &format!("{jobs}/$count")).await, 0);
    assert_eq!(app.get("siteProtectionUnitsBulkAdditionJobs?$count=true", &token).await.body["@odata.count"], 0);

    // Service apps.
    assert_eq!(count_text(&app, &token, "serviceApps/$count").await, 0);
    assert_eq!(app.get("serviceApps?$count=true", &token).await.body["@odata.count"], 0);

    // What these collections do not serve stays refused; a missing policy is a 404.
    app.get("protectionPolicies/$count?$filter=status eq 'active'", &token).await.expect_error(501, "notImplemented");
    app.get("protectionPolicies/$count?$top=1", &token).await.expect_error(400, "BadRequest");
    app.get("sharePointProtectionPolicies/nope/siteInclusionRules/$count", &token)
        .await
        .expect_error(404, "PolicyNotFound");
    app.get("sharePointProtectionPolicies/$count/extra", &token).await.expect(404);
    let reader = app.token_with(TENANT, true, None, 3600);
    assert_eq!(count_text(&app, &reader, "protectionPolicies/$count").await, n);
}
