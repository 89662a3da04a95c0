//! Snapshots of the wire: one answer of every resource type and every error shape the API returns
//! (browse sessions and granular artifacts included),
//! on `/v1.0` and `/beta`, with ids, times and the server's address replaced by placeholders. Both
//! backends compare against the same snapshot files, so a change of shape anywhere shows up here.

use std::collections::HashMap;

use backstore_domain::Workload;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::support::*;

/// Replaces what changes from run to run: GUIDs by `[id N]` (numbered by first appearance, so equal
/// ids stay visibly equal), RFC 3339 times (and the envelope's `innerError.date`) by `[time]`, the origin by `http://[server]`, and the
/// opaque `$skiptoken` and `searchResponseId` by `[token]` and `[search]`.
struct Redactor {
    origin: String,
    ids: HashMap<String, usize>,
}

impl Redactor {
    fn value(&mut self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| match k.as_str() {
                        // Opaque and random: only its presence is part of the shape.
                        "searchResponseId" => (k.clone(), json!("[search]")),
                        _ => (k.clone(), self.value(x)),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn text(&mut self, s: &str) -> String {
        let graph_date = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").is_ok();
        if graph_date || chrono::DateTime::parse_from_rfc3339(s).is_ok() {
            return "[time]".into();
        }
        let mut s = s.replace(&self.origin, "http://[server]");
        if let Some(at) = s.find("$skiptoken=") {
            let end = s[at..].find('&').map_or(s.len(), |e| at + e);
            s.replace_range(at + "$skiptoken=".len()..end, "[token]");
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while !rest.is_empty() {
            match rest.get(..36).filter(|c| is_guid(c)) {
                Some(guid) => {
                    let next = self.ids.len() + 1;
                    let n = *self.ids.entry(guid.to_ascii_lowercase()).or_insert(next);
                    out.push_str(&format!("[id {n}]"));
                    rest = &rest[36..];
                }
                None => {
                    let c = rest.chars().next().unwrap();
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        out
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// The answers of one API version, in the order they were asked for.
struct Recording<'a> {
    app: &'a TestApp,
    version: &'static str,
    redactor: Redactor,
    answers: Map<String, Value>,
    /// The same answers' bodies as they came, unredacted.
    raw: Map<String, Value>,
}

impl Recording<'_> {
    async fn call(&mut self, name: &str, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let url = self.app.versioned(self.version, path);
        let r = self.app.send(method, &url, token, body.as_ref(), &[]).await;
        self.keep(name, &r);
        r
    }

    async fn get(&mut self, name: &str, path: &str, token: &str) -> Resp {
        self.call(name, Method::GET, path, Some(token), None).await
    }

    async fn post(&mut self, name: &str, path: &str, token: &str, body: Value) -> Resp {
        self.call(name, Method::POST, path, Some(token), Some(body)).await
    }

    fn keep(&mut self, name: &str, r: &Resp) {
        let mut entry = Map::new();
        entry.insert("status".into(), json!(r.status.as_u16()));
        for h in ["location", "content-location", "allow", "retry-after"] {
            if let Some(v) = r.header(h) {
                entry.insert(h.into(), self.redactor.value(&json!(v)));
            }
        }
        let body = if r.text.is_empty() { Value::Null } else { r.body.clone() };
        entry.insert("body".into(), self.redactor.value(&body));
        self.raw.insert(name.into(), body);
        assert!(self.answers.insert(name.into(), Value::Object(entry)).is_none(), "{name} recorded twice");
    }
}

fn id_of(r: &Resp) -> String {
    r.body["id"].as_str().unwrap_or_else(|| panic!("no id in {}", r.text)).to_owned()
}

#[tokio::test]
async fn every_response_shape_on_both_versions() {
    let app = TestApp::spawn().await;
    for version in ["v1.0", "beta"] {
        let (answers, _) = record(&app, version).await;
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_snapshot_path("snapshots");
        settings.bind(|| insta::assert_json_snapshot!(format!("wire-{version}"), answers));
        crate::metadata::check_recording(&app, version, &answers).await;
    }
}

/// Every answer of one version's script: redacted (what the snapshot holds) and the bodies as they
/// came, by answer name.
pub(crate) async fn record(app: &TestApp, version: &'static str) -> (Value, Map<String, Value>) {
    let origin = app.origin.clone();
    let redactor = Redactor { origin, ids: HashMap::new() };
    let mut rec = Recording { app, version, redactor, answers: Map::new(), raw: Map::new() };
    let tenant = format!("wire-{version}");
    let token = app.token(&tenant);
    let reader = app.token_with(&tenant, true, None, 3600);
    let delegated = app.token_with(&tenant, false, Some("a7a5e5f0-0000-4000-8000-00000000a11c"), 3600);
    use Method as M;

    // ---- the service, before and after enabling ----
    rec.get("service-disabled", "", &token).await;
    rec.get("error-service-not-enabled", "restoreSessions", &token).await;
    rec.post("service-enable", "enable", &token, json!({ "appOwnerTenantId": tenant })).await;
    rec.get("service-enabled", "", &token).await;

    // ---- protection: policies, units, rules, unit bulk jobs ----
    let mut directory: Vec<_> = (1..=4).map(site).collect();
    directory.extend((1..=3).map(|n| user(Workload::Exchange, n)));
    directory.extend((1..=3).map(|n| user(Workload::OneDrive, n)));
    app.register(&tenant, &directory).await.unwrap();
    let sp = rec.post("policy-create-sharepoint", "sharePointProtectionPolicies", &token, json!({ "displayName": "Sites", "siteProtectionUnits": [{ "siteId": site_id(1) }, { "siteId": site_id(2) }] }))
        .await;
    let sp = id_of(&sp);
    let mut user_policies = Vec::new();
    for (name, set, nav, w) in [
        ("exchange", "exchangeProtectionPolicies", "mailboxProtectionUnits", Workload::Exchange),
        ("onedrive", "oneDriveForBusinessProtectionPolicies", "driveProtectionUnits", Workload::OneDrive),
    ] {
        let units = json!([{ "directoryObjectId": user(w, 1).resource.directory_object_id }]);
        let r = rec.post(&format!("policy-create-{name}"), set, &token, json!({ nav: units })).await;
        user_policies.push(id_of(&r));
    }
    let [ex, od] = [user_policies[0].clone(), user_policies[1].clone()];
    rec.get("policy-list", "protectionPolicies", &token).await;
    rec.get("policy-get-typed", &format!("sharePointProtectionPolicies/{sp}"), &token).await;
    rec.get("policy-get-base", &format!("protectionPolicies/{ex}"), &token).await;
    rec.call(
        "policy-patch-delta",
        M::PATCH,
        &format!("sharePointProtectionPolicies/{sp}"),
        Some(&token),
        Some(json!({ "displayName": "Renamed", "siteProtectionUnits@delta": [
            { "siteId": site_id(3) },
            { "siteId": "nowhere,0,0" },
        ] })),
    )
    .await;
    rec.post("policy-activate", &format!("protectionPolicies/{sp}/activate"), &token, json!({})).await;
    for (name, id) in [("policy-activate-od", &od), ("policy-activate-ex", &ex)] {
        rec.post(name, &format!("protectionPolicies/{id}/activate"), &token, json!({})).await;
    }
    rec.call("error-policy-delete-active", M::DELETE, &format!("protectionPolicies/{sp}"), Some(&token), None).await;
    rec.post("error-policy-second-active", "sharePointProtectionPolicies", &token, json!({ "displayName": "Second" }))
        .await;
    let rule = rec
        .post(
            "rule-create",
            &format!("sharePointProtectionPolicies/{sp}/siteInclusionRules"),
            &token,
            json!({ "siteExpression": "displayName -eq 'Site 4'" }),
        )
        .await;
    let rule = id_of(&rule);
    rec.call(
        "error-rule-expression",
        M::POST,
        &format!("sharePointProtectionPolicies/{sp}/siteInclusionRules"),
        Some(&token),
        Some(json!({ "siteExpression": "displayName -contains 'a' -and (webUrl -eq 'b'" })),
    )
    .await;
    let job = rec.post("unit-job-create", &format!("exchangeProtectionPolicies/{ex}/mailboxProtectionUnitsBulkAdditionJobs"), &token, json!({ "displayName": "More", "mailboxes": ["user2@contoso.onmicrosoft.com", "ghost@contoso.onmicrosoft.com"] }))
        .await;
    let job = id_of(&job);
    app.drain().await;
    rec.get("policy-after-settle", &format!("protectionPolicies/{sp}"), &token).await;
    rec.get("policy-units", &format!("sharePointProtectionPolicies/{sp}/siteProtectionUnits"), &token).await;
    rec.get("rule-get", &format!("siteInclusionRules/{rule}"), &token).await;
    rec.get("rule-list", &format!("sharePointProtectionPolicies/{sp}/siteInclusionRules"), &token).await;
    rec.post("rule-run", &format!("siteInclusionRules/{rule}/run"), &token, json!({})).await;
    rec.get("unit-job-get", &format!("mailboxProtectionUnitsBulkAdditionJobs/{job}"), &token).await;
    rec.get("unit-job-list", "mailboxProtectionUnitsBulkAdditionJobs", &token).await;
    let units = rec.get("unit-list", "protectionUnits?$top=2", &token).await;
    let unit = units.body["value"][0]["id"].as_str().unwrap().to_owned();
    rec.get("unit-get", &format!("protectionUnits/{unit}"), &token).await;
    rec.get("unit-list-typed", "mailboxProtectionUnits", &token).await;
    rec.get("unit-list-drive", "driveProtectionUnits?$count=true", &token).await;
    rec.call(
        "error-unit-offboard-in-policy",
        M::POST,
        &format!("protectionUnits/{unit}/offboard"),
        Some(&delegated),
        None,
    )
    .await;

    // ---- service apps and the notification setting ----
    let sa = rec.post("service-app-create", "serviceApps", &token, json!({})).await;
    let sa = id_of(&sa);
    rec.get("service-app-list", "serviceApps", &token).await;
    let at = (app.clock().now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    rec.call(
        "service-app-activate",
        M::POST,
        &format!("serviceApps/{sa}/activate"),
        Some(&delegated),
        Some(json!({ "effectiveDateTime": at })),
    )
    .await;
    rec.post("error-service-app-twice", "serviceApps", &token, json!({})).await;
    rec.get("notification-get", "emailNotificationsSetting", &token).await;
    rec.call(
        "notification-patch",
        M::PATCH,
        "emailNotificationsSetting",
        Some(&token),
        Some(json!({ "isEnabled": true, "recipients": { "role": "backupAdmins", "customRecipients": [] } })),
    )
    .await;

    // ---- restore points and sessions, on a seeded tenant ----
    let seeded_tenant = format!("wire-{version}-restore");
    let token = app.token(&seeded_tenant);
    let reader_s = app.token_with(&seeded_tenant, true, None, 3600);
    let seeded = app.seed(&seeded_tenant, 2, 1, 1, 3).await;
    let point = |kind: &str, unit: usize, n: usize| points(&seeded, kind)[unit][n].clone();
    let site_unit = seeded.protection_units[0].id.clone();
    let future = (app.clock().now() + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    rec.get(
        "restore-point-list",
        &format!(
            "restorePoints?$expand=protectionUnit($filter=id eq '{site_unit}')&$filter=protectionDateTime lt {future}"
        ),
        &token,
    )
    .await;
    rec.call("restore-point-get", M::GET, &format!("restorePoints/{}", point("site", 0, 0)), Some(&token), None).await;
    rec.post(
        "restore-point-search",
        "restorePoints/search",
        &token,
        json!({
            "protectionUnitIds": [site_unit, "unknown-unit"],
            "protectionTimePeriod": { "startDateTime": "2020-01-01T00:00:00Z" },
            "restorePointPreference": "latest",
        }),
    )
    .await;
    rec.get("error-restore-point-missing", "restorePoints/nope", &token).await;

    let mut sessions = Vec::new();
    for (set, nav, kind, _) in KINDS {
        let r = rec
            .post(
                &format!("session-create-{kind}"),
                set,
                &token,
                json!({ nav: [{ "restorePoint": { "id": point(kind, 0, 0) }, "destinationType": "new" }] }),
            )
            .await;
        sessions.push((set, nav, kind, id_of(&r)));
    }
    let (set, nav, _, sp_session) = sessions[0].clone();
    rec.call(
        "session-delta",
        M::PATCH,
        &format!("{set}/{sp_session}"),
        Some(&token),
        Some(json!({ format!("{nav}@delta"): [
            { "restorePoint": { "id": point("site", 1, 0) }, "destinationType": "new" },
            { "restorePoint": { "id": "no-such-point" }, "destinationType": "new" },
            { "@removed": { "reason": "changed" }, "id": "no-such-artifact" },
        ] })),
    )
    .await;
    rec.get("session-get-typed", &format!("{set}/{sp_session}"), &token).await;
    rec.get("session-get-base", &format!("restoreSessions/{sp_session}"), &token).await;
    rec.get("session-list", "restoreSessions?$top=2&$count=true", &token).await;
    rec.get(
        "session-select-expand",
        &format!("{set}/{sp_session}?$select=id,status&$expand={nav}($select=id,status)"),
        &token,
    )
    .await;
    rec.get("session-count", "restoreSessions/$count", &token).await;
    let arts = rec.get("artifact-list", &format!("{set}/{sp_session}/{nav}"), &token).await;
    let art = arts.body["value"][0]["id"].as_str().unwrap().to_owned();
    rec.get("artifact-get", &format!("{set}/{sp_session}/{nav}/{art}"), &token).await;
    rec.get("artifact-restore-point", &format!("{set}/{sp_session}/{nav}/{art}/restorePoint"), &token).await;
    rec.call("session-activate", M::POST, &format!("restoreSessions/{sp_session}/activate"), Some(&token), None).await;
    rec.call(
        "error-session-activate-twice",
        M::POST,
        &format!("restoreSessions/{sp_session}/activate"),
        Some(&token),
        None,
    )
    .await;
    app.drain().await;
    rec.get("session-completed", &format!("restoreSessions/{sp_session}"), &token).await;
    rec.get("artifact-list-completed", &format!("{set}/{sp_session}/{nav}"), &token).await;
    rec.get("session-list-typed", "exchangeRestoreSessions", &token).await;

    let bulk_session = rec.post("session-create-bulk", "exchangeRestoreSessions", &token, json!({})).await;
    let bulk_session = id_of(&bulk_session);
    let bulk_nav = format!("exchangeRestoreSessions/{bulk_session}/mailboxRestoreArtifactsBulkAdditionRequests");
    let mailbox = seeded.protection_units.iter().find(|u| u.kind == "mailbox").unwrap();
    let bulk = rec
        .post(
            "bulk-request-create",
            &bulk_nav,
            &token,
            json!({
                "displayName": "Bulk",
                "mailboxes": [mailbox.email, "nobody@contoso.onmicrosoft.com"],
                "destinationType": "new",
                "restorePointPreference": "latest",
                "protectionTimePeriod": { "startDateTime": "2020-01-01T00:00:00Z", "endDateTime": null },
            }),
        )
        .await;
    let bulk = id_of(&bulk);
    rec.get("bulk-request-list", &bulk_nav, &token).await;
    app.activate(&bulk_session, &token).await.expect(200);
    app.drain().await;
    rec.get("bulk-request-done", &format!("{bulk_nav}/{bulk}"), &token).await;

    // ---- the error envelope of each kind of refusal ----
    let (_, _, _, ex_session) = sessions[1].clone();
    rec.call("error-no-token", M::GET, "restoreSessions", None, None).await;
    rec.call("error-read-only", M::DELETE, &format!("restoreSessions/{ex_session}"), Some(&reader_s), None).await;
    rec.call("error-read-only-protection", M::POST, "serviceApps", Some(&reader), Some(json!({}))).await;
    rec.get("error-session-missing", "restoreSessions/nope", &token).await;
    rec.get("error-unknown-path", "restoreSession", &token).await;
    rec.call("error-method", M::PUT, &format!("restoreSessions/{ex_session}"), Some(&token), None).await;
    rec.get("error-not-implemented", "restoreSessions?$search=marketing", &token).await;
    rec.get("error-bad-query", "restoreSessions?$top=abc", &token).await;
    rec.get("error-bad-filter", "restoreSessions?$filter=status eq", &token).await;
    rec.post(
        "error-bad-body",
        "exchangeRestoreSessions",
        &token,
        json!({ "mailboxRestoreArtifacts": [{ "destinationType": "sideways" }] }),
    )
    .await;
    rec.post(
        "error-invalid-restore-point",
        "exchangeRestoreSessions",
        &token,
        json!({ "mailboxRestoreArtifacts": [{ "restorePoint": { "id": "missing" }, "destinationType": "new" }] }),
    )
    .await;
    let url = app.versioned(version, "exchangeRestoreSessions");
    let r = app.raw(M::POST, &url, &token, Some("text/plain"), b"{}".to_vec()).await;
    rec.keep("error-media-type", &r);
    let r = app.raw(M::POST, &url, &token, Some("application/json"), b"{\"a\": // no\n}".to_vec()).await;
    rec.keep("error-malformed-json", &r);
    let r = app.raw(M::POST, &url, &token, Some("application/json"), vec![b' '; 1024 * 1024 + 1]).await;
    rec.keep("error-body-too-large", &r);
    rec.call("delete-session", M::DELETE, &format!("restoreSessions/{ex_session}"), Some(&token), None).await;

    // ---- browse sessions and granular artifacts, on a site whose point holds a file ----
    let tenant = format!("wire-{version}-granular");
    let token = app.token(&tenant);
    let seeded = app.seed(&tenant, 1, 0, 0, 1).await;
    let site_id = seeded.protection_units[0].site_id.clone().unwrap();
    let drive = app.get_abs(&format!("{}/v1.0/sites/{site_id}/drive", app.origin), &token).await;
    let drive = id_of(&drive);
    let put = format!("{}/v1.0/drives/{drive}/root:/plan.txt:/content", app.origin);
    app.client.put(put).bearer_auth(&token).body("the plan").send().await.unwrap();
    let point = app.point_holding_in(&tenant, &token, &drive).await.1;
    let browse =
        rec.post("browse-session-create", "sharePointBrowseSessions", &token, json!({ "restorePointId": point })).await;
    let browse = id_of(&browse);
    let at = format!("sharePointBrowseSessions/{browse}/browse");
    let top = rec.post("browse-top", &at, &token, json!({})).await;
    let library = app.versioned(version, &at);
    let library = app
        .send(
            M::POST,
            &library,
            Some(&token),
            Some(&json!({ "browseLocationItemKey": top.body["value"][0]["itemKey"] })),
            &[],
        )
        .await;
    let files = rec
        .post("browse-library", &at, &token, json!({ "browseLocationItemKey": library.body["value"][0]["itemKey"] }))
        .await;
    let key = files.body["value"][0]["itemKey"].as_str().unwrap().to_owned();
    rec.get("browse-session-list", "browseSessions", &token).await;
    rec.post("error-browse-key", &at, &token, json!({ "browseLocationItemKey": "a,b,c,d,e" })).await;
    let granular = rec
        .post(
            "granular-session-create",
            "sharePointRestoreSessions",
            &token,
            json!({ "granularSiteRestoreArtifacts": [{ "browseSessionId": browse, "id": key }] }),
        )
        .await;
    let granular = id_of(&granular);
    let nav = format!("sharePointRestoreSessions/{granular}/granularSiteRestoreArtifacts");
    rec.get("granular-artifact-list", &nav, &token).await;
    rec.get("granular-artifact-get", &format!("{nav}/{key}"), &token).await;
    let removed = json!({ "granularSiteRestoreArtifacts@delta": [{ "@removed": { "reason": "changed" }, "id": key }] });
    rec.call(
        "granular-delta-remove",
        M::PATCH,
        &format!("sharePointRestoreSessions/{granular}"),
        Some(&token),
        Some(removed),
    )
    .await;
    let added = json!({ "granularSiteRestoreArtifacts@delta": [{ "browseSessionId": browse, "id": key }] });
    rec.call(
        "granular-delta-add",
        M::PATCH,
        &format!("sharePointRestoreSessions/{granular}"),
        Some(&token),
        Some(added),
    )
    .await;
    rec.post(
        "error-browse-session-missing",
        "sharePointRestoreSessions",
        &token,
        json!({ "granularSiteRestoreArtifacts": [{ "browseSessionId": "nope", "id": key }] }),
    )
    .await;
    (Value::Object(rec.answers), rec.raw)
}
