//! The console over plain HTTP, for what a browser test does not show: the session cookie's
//! attributes and who may sign in how, the forgery checks, the admin path a point's files are read
//! through and its refusals, comparing two points, and the events a session page is fed.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

/// A client that shows redirects instead of following them.
fn plain() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The value of the page's first hidden `_csrf` field.
    pub fn csrf(&self) -> String {
        let at = self.text.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token") + 20;
        self.text[at..].split('"').next().unwrap().to_owned()
    }
}

pub(crate) async fn page(
    method: Method,
    url: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    origin: Option<&str>,
) -> Page {
    let mut r = plain().request(method, url);
    if let Some(c) = cookie {
        r = r.header("cookie", format!("backstore_console={c}"));
    }
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    if let Some(f) = form {
        r = r.header("content-type", "application/x-www-form-urlencoded").body(f.to_owned());
    }
    let r = r.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    Page { status, headers, text: r.text().await.unwrap() }
}

/// Signs in as `tenant` through the sign-in form; the cookie's token.
pub(crate) async fn signed_in(app: &TestApp, tenant: &str, access: &str) -> String {
    let form = format!("mode=mint&tenant={tenant}&access={access}");
    let p = page(Method::POST, &format!("{}/console/sign-in", app.origin), None, Some(&form), Some(&app.origin)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);
    let cookie = p.header("set-cookie");
    cookie.strip_prefix("backstore_console=").unwrap().split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_forged_or_bad_sign_ins_are_refused() {
    let app = TestApp::spawn().await;
    let console = |p: &str| format!("{}/console{p}", app.origin);
    let p = page(Method::GET, &console("/overview"), None, None, None).await;
    assert_eq!((p.status, p.header("location")), (StatusCode::SEE_OTHER, "/console/sign-in"));
    let p = page(Method::GET, &console("/sign-in"), None, None, None).await;
    assert!(p.text.contains("id=\"sign-in-mint\"") && p.header("content-type").starts_with("text/html"));
    // Never framed by another site, never named to one.
    assert_eq!(p.header("x-frame-options"), "DENY");
    assert_eq!(p.header("content-security-policy"), "frame-ancestors 'none'");
    assert_eq!(p.header("referrer-policy"), "same-origin");

    let form = "mode=mint&tenant=tenant-a&access=readWrite";
    let p = page(Method::POST, &console("/sign-in"), None, Some(form), Some(&app.origin)).await;
    assert_eq!((p.status, p.header("location")), (StatusCode::SEE_OTHER, "/console/overview"));
    let cookie = p.header("set-cookie");
    for attribute in ["; Path=/console", "; HttpOnly", "; SameSite=Strict", "; Max-Age=3600"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "no Secure cookie over plain HTTP: {cookie}");

    // From another origin, or another site as the browser says: refused, no cookie.
    let p = page(Method::POST, &console("/sign-in"), None, Some(form), Some("http://127.0.0.1:1")).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.text.contains("cross-site request forgery") && p.header("set-cookie").is_empty());
    let mut r = plain().post(console("/sign-in")).header("sec-fetch-site", "cross-site");
    r = r.header("content-type", "application/x-www-form-urlencoded").body(form);
    assert_eq!(r.send().await.unwrap().status(), StatusCode::FORBIDDEN);

    // A token that does not open the service is refused as the API states it; so is no tenant.
    let p = page(Method::POST, &console("/sign-in"), None, Some("mode=token&token=abc.def.ghi"), None).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.text.contains("InvalidAuthenticationToken") && p.text.contains("role=\"alert\""), "{}", p.text);
    let p = page(Method::POST, &console("/sign-in"), None, Some("mode=mint&tenant=&access=read"), None).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    // Nothing that could end the cookie is taken for a token.
    let p = page(Method::POST, &console("/sign-in"), None, Some("mode=token&token=a.b.c%3B+Path%3D%2F"), None).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.text.contains("not a bearer token") && p.header("set-cookie").is_empty());
    // Behind a TLS proxy: the origin it received is this server's, and the cookie is Secure.
    let form = "mode=mint&tenant=tenant-a&access=read";
    let mut r = plain().post(console("/sign-in")).header("content-type", "application/x-www-form-urlencoded");
    r = r.header("origin", "https://backup.example.com").header("x-forwarded-host", "backup.example.com");
    let r = r.header("x-forwarded-proto", "https").body(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["set-cookie"].to_str().unwrap().ends_with("; Secure"));
    // A pasted token of the server's key signs in as its tenant.
    let form = format!("mode=token&token=Bearer+{}", app.token(OTHER_TENANT));
    let p = page(Method::POST, &console("/sign-in"), None, Some(&form), None).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.text);

    // Signed in: unknown pages are a page too; signing out needs the page's token.
    let token = signed_in(&app, TENANT, "read").await;
    let p = page(Method::GET, &console("/nowhere"), Some(&token), None, None).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let posted = page(Method::POST, &console("/nowhere"), Some(&token), Some("a=b"), None).await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND);
    assert!(posted.header("content-type").starts_with("text/html"));
    assert!(p.text.contains("itemNotFound") && p.text.contains("read-only"), "{}", p.text);
    let overview = page(Method::GET, &console("/overview"), Some(&token), None, None).await;
    assert_eq!(overview.status, StatusCode::OK);
    let p = page(Method::POST, &console("/sign-out"), Some(&token), Some("_csrf=forged"), None).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let form = format!("_csrf={}", overview.csrf());
    let p = page(Method::POST, &console("/sign-out"), Some(&token), Some(&form), Some(&app.origin)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(p.header("set-cookie").contains("backstore_console=;") && p.header("set-cookie").contains("Max-Age=0"));
}

#[tokio::test]
async fn a_server_not_on_loopback_offers_no_minted_sign_in() {
    let app = TestApp::spawn_custom(None, |c| c.listen = "0.0.0.0:0".parse().unwrap()).await;
    let url = format!("{}/console/sign-in", app.origin.replace("0.0.0.0", "127.0.0.1"));
    let p = page(Method::GET, &url, None, None, None).await;
    assert!(!p.text.contains("sign-in-mint") && p.text.contains("sign-in-token"));
    let p = page(Method::POST, &url, None, Some("mode=mint&tenant=tenant-a&access=readWrite"), None).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.header("set-cookie").is_empty());
}

/// A site whose point holds `Docs/a.txt`, `Docs/b.txt` and `c.txt`, then, changed, a second point
/// (a.txt changed, b.txt deleted, d.txt added); the unit, both points and the drive.
pub(crate) async fn two_points(app: &TestApp, token: &str) -> (String, String, String, String) {
    let seeded = app.seed(TENANT, 1, 0, 0, 1).await;
    let unit = seeded.protection_units.iter().find(|u| u.kind == "site").unwrap();
    let d = app.drive_of(token, &format!("sites/{}", unit.site_id.clone().unwrap())).await;
    let url = format!("{}/v1.0/drives/{d}/root/children", app.origin);
    app.post_abs(&url, token, &json!({"name": "Docs", "folder": {}})).await.expect(201);
    app.put_file(token, &d, "Docs/a.txt", b"first").await;
    app.put_file(token, &d, "Docs/b.txt", b"second").await;
    app.put_file(token, &d, "c.txt", b"third").await;
    let first = app.point_holding(token, &d).await.1;
    app.put_file(token, &d, "Docs/a.txt", b"first, longer now").await;
    let b = app.get_abs(&format!("{}/v1.0/drives/{d}/root:/Docs/b.txt", app.origin), token).await;
    let b_url = format!("{}/v1.0/drives/{d}/items/{}", app.origin, b.body["id"].as_str().unwrap());
    app.send(Method::DELETE, &b_url, Some(token), None, &[]).await.expect(204);
    app.put_file(token, &d, "Docs/d.txt", b"fourth").await;
    let second = app.point_holding(token, &d).await.1;
    (unit.id.clone(), first, second, d)
}

/// The section of a page from heading `from` to the next `<h2>`.
fn section<'a>(text: &'a str, from: &str) -> &'a str {
    let start = text.find(&format!("<h2>{from}</h2>")).unwrap_or_else(|| panic!("no {from} in {text}"));
    let rest = &text[start + 4..];
    &rest[..rest.find("<h2>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn two_points_compare_as_added_removed_and_changed_files() {
    let app = TestApp::spawn().await;
    let token = app.token(TENANT);
    let (unit, first, second, _) = two_points(&app, &token).await;
    let cookie = signed_in(&app, TENANT, "readWrite").await;
    let url = format!("{}/console/diff?unit={unit}&a={first}&b={second}", app.origin);
    let p = page(Method::GET, &url, Some(&cookie), None, None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("1 added, 1 removed, 1 changed."), "{}", p.text);
    assert!(section(&p.text, "Added").contains("/Docs/d.txt"));
    assert!(section(&p.text, "Removed").contains("/Docs/b.txt"));
    let changed = section(&p.text, "Changed");
    assert!(changed.contains("/Docs/a.txt") && changed.contains("5 B") && changed.contains("17 B"), "{changed}");
    assert!(!changed.contains("c.txt"));
    // One point chosen is not a compare.
    let p = page(Method::GET, &format!("{}/console/diff?unit={unit}&a={first}", app.origin), Some(&cookie), None, None)
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_points_file_is_read_through_the_admin_path_and_nothing_else_is() {
    let app = TestApp::spawn().await;
    let token = app.token(TENANT);
    let (_, first, _, _) = two_points(&app, &token).await;
    let made = app.post("sharePointBrowseSessions", &token, &json!({"restorePointId": first})).await;
    made.expect(201);
    let id = made.body["id"].as_str().unwrap().to_owned();
    let browse = |key: Option<String>| {
        let app = &app;
        let token = &token;
        let id = &id;
        async move {
            let body = key.map_or(json!({}), |k| json!({"browseLocationItemKey": k}));
            let r = app.post(&format!("browseSessions/{id}/browse"), token, &body).await;
            r.expect(200);
            r.body["value"].as_array().unwrap().clone()
        }
    };
    let key_of = |items: &[Value], name: &str| {
        items.iter().find(|i| i["name"] == name).unwrap()["itemKey"].as_str().unwrap().to_owned()
    };
    let site = browse(None).await;
    let library = browse(Some(site[0]["itemKey"].as_str().unwrap().to_owned())).await;
    let top = browse(Some(library[0]["itemKey"].as_str().unwrap().to_owned())).await;
    let docs = key_of(&top, "Docs");
    let a = key_of(&browse(Some(docs.clone())).await, "a.txt");
    let content = |key: &str| format!("{}/admin/browseSessions/{id}/items/{}/content", app.origin, urlencode(key));

    let r = app.client.get(content(&a)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-disposition"], "attachment; filename*=UTF-8''a.txt");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"first", "the point's bytes, not the live file's");

    let get = |url: String, token: String| {
        let app = &app;
        async move { app.send(Method::GET, &url, Some(&token), None, &[]).await }
    };
    get(content(&docs), token.clone()).await.expect_error(400, "InvalidBrowseLocationItemKey");
    get(content("not,a,key"), token.clone()).await.expect_error(400, "InvalidBrowseLocationItemKey");
    get(content(&a), app.token_with(TENANT, true, None, 3600)).await.expect_error(403, "accessDenied");
    get(content(&a), app.token(OTHER_TENANT)).await.expect_error(404, "BrowseSessionNotFound");
    let url = format!("{}/admin/browseSessions/{id}/items/{}", app.origin, urlencode(&a));
    get(url, token.clone()).await.expect_error(404, "ResourceNotFound");
    app.send(Method::POST, &content(&a), Some(&token), None, &[]).await.expect_error(405, "MethodNotAllowed");
    let r = app.client.get(content(&a)).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

fn urlencode(text: &str) -> String {
    text.replace(',', "%2C")
}

#[tokio::test]
async fn a_restore_started_from_the_console_streams_its_progress_to_the_end() {
    let app = TestApp::spawn_with_engine().await;
    let token = app.token(TENANT);
    let (unit, _, second, _) = two_points(&app, &token).await;
    let cookie = signed_in(&app, TENANT, "readWrite").await;
    let review = format!("{}/console/restore?unit={unit}&point={second}", app.origin);
    let p = page(Method::GET, &review, Some(&cookie), None, None).await;
    assert!(p.text.contains("id=\"start-restore\""), "{}", p.text);
    let form = format!("_csrf={}&unit={unit}&point={second}&destination=sideways", p.csrf());
    let start = format!("{}/console/restore", app.origin);
    let refused = page(Method::POST, &start, Some(&cookie), Some(&form), Some(&app.origin)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "the API's refusal of a bad destination");
    assert!(refused.text.contains("role=\"alert\""), "{}", refused.text);
    let form = form.replace("sideways", "new");
    let started = page(Method::POST, &start, Some(&cookie), Some(&form), Some(&app.origin)).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let session = started.header("location").to_owned();
    let events = format!("{}{session}/events", app.origin);
    let p = page(Method::GET, &events, Some(&cookie), None, None).await;
    assert!(p.header("content-type").starts_with("text/event-stream"));
    let done = p.text.split("\n\n").find(|e| e.starts_with("event: done")).expect("a done event");
    let data: Value = serde_json::from_str(done.split_once("data: ").unwrap().1).unwrap();
    assert_eq!(data["status"], "completed");
    assert_eq!(data["itemsDone"], data["itemsTotal"]);
    let p = page(Method::GET, &format!("{}{session}", app.origin), Some(&cookie), None, None).await;
    assert!(p.text.contains("id=\"proofs\"") && p.text.contains("s-match"), "{}", p.text);
    assert!(!p.text.contains("data-events"), "a finished session's page is not fed events");
    // Another tenant's session is the API's 404, on the page and in the stream.
    let other = signed_in(&app, OTHER_TENANT, "readWrite").await;
    let p = page(Method::GET, &format!("{}{session}", app.origin), Some(&other), None, None).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let p = page(Method::GET, &events, Some(&other), None, None).await;
    assert!(p.text.starts_with("event: failure") && p.text.contains("\"status\":404"), "{}", p.text);
}

/// The values of the page's hidden fields named `name`, in order.
fn hidden(text: &str, name: &str) -> Vec<String> {
    let marker = format!("type=\"hidden\" name=\"{name}\" value=\"");
    text.match_indices(&marker).map(|(at, _)| text[at + marker.len()..].split('"').next().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn units_chosen_together_restore_their_latest_points_in_one_session() {
    let app = TestApp::spawn_with_engine().await;
    let token = app.token(TENANT);
    let seeded = app.seed(TENANT, 2, 1, 0, 2).await;
    let of = |kind: &str| seeded.protection_units.iter().filter(|u| u.kind == kind).collect::<Vec<_>>();
    let (sites, mailbox) = (of("site"), of("mailbox")[0]);
    let cookie = signed_in(&app, TENANT, "readWrite").await;
    let units = page(Method::GET, &format!("{}/console/units", app.origin), Some(&cookie), None, None).await;
    assert!(units.text.contains("id=\"restore-units\""), "{}", units.text);

    let review = format!("{}/console/restore?unit={}&unit={}", app.origin, sites[0].id, sites[1].id);
    let p = page(Method::GET, &review, Some(&cookie), None, None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("2 to restore (site)"), "{}", p.text);
    let (units, points) = (hidden(&p.text, "unit"), hidden(&p.text, "point"));
    assert_eq!(units, [sites[0].id.clone(), sites[1].id.clone()]);
    for (u, point) in sites.iter().zip(&points) {
        let filter = format!(
            "$expand=protectionUnit($filter=id eq '{}')&$filter=protectionDateTime lt 9999-12-31T00:00:00Z",
            u.id
        );
        let newest = app.get(&format!("restorePoints?{filter}"), &token).await;
        assert_eq!(newest.body["value"][0]["id"].as_str(), Some(point.as_str()), "the unit's latest point");
        assert_eq!(u.restore_point_ids.len(), 2);
    }
    let mut form = format!("_csrf={}&destination=new", p.csrf());
    for (u, point) in units.iter().zip(&points) {
        form.push_str(&format!("&unit={u}&point={point}"));
    }
    let started =
        page(Method::POST, &format!("{}/console/restore", app.origin), Some(&cookie), Some(&form), None).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let id = started.header("location").rsplit('/').next().unwrap().to_owned();
    let artifacts = app.get(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), &token).await;
    let restored: Vec<&str> =
        artifacts.body["value"].as_array().unwrap().iter().map(|a| a["restorePoint"]["id"].as_str().unwrap()).collect();
    assert_eq!(restored.len(), 2, "{}", artifacts.body);
    assert!(points.iter().all(|p| restored.contains(&p.as_str())));

    // Units of two workloads, or points that do not pair with units, are no restore.
    let mixed = format!("{}/console/restore?unit={}&unit={}", app.origin, sites[0].id, mailbox.id);
    let p = page(Method::GET, &mixed, Some(&cookie), None, None).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.text.contains("one workload"), "{}", p.text);
    let unpaired =
        format!("{}/console/restore?unit={}&unit={}&point={}", app.origin, sites[0].id, sites[1].id, points[0]);
    assert_eq!(page(Method::GET, &unpaired, Some(&cookie), None, None).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn items_chosen_in_a_point_restore_granularly_into_recovered_items() {
    let app = TestApp::spawn_with_engine().await;
    let token = app.token(TENANT);
    let (_, first, _, _) = two_points(&app, &token).await;
    let cookie = signed_in(&app, TENANT, "readWrite").await;
    let opened = page(Method::GET, &format!("{}/console/points/{first}", app.origin), Some(&cookie), None, None).await;
    let browse = opened.header("location").to_owned();
    let top = page(Method::GET, &format!("{}{browse}", app.origin), Some(&cookie), None, None).await;
    assert!(top.text.contains("Docs") && top.text.contains("c.txt"), "{}", top.text);
    let at = top.text.find("aria-label=\"Choose Docs\"").unwrap();
    let start = top.text[..at].rfind("value=\"").unwrap() + 7;
    let docs = top.text[start..].split('"').next().unwrap().to_owned();
    let session = browse.rsplit('/').next().unwrap();
    let review = format!("{}/console/restore?browse={session}&item={}", app.origin, docs.replace(',', "%2C"));
    let p = page(Method::GET, &review, Some(&cookie), None, None).await;
    assert!(p.text.contains("1 item(s) of the point") && !p.text.contains("value=\"inPlace\""), "{}", p.text);
    let form = format!("_csrf={}&browse={session}&item={}&destination=new", p.csrf(), docs.replace(',', "%2C"));
    let started =
        page(Method::POST, &format!("{}/console/restore", app.origin), Some(&cookie), Some(&form), None).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let id = started.header("location").rsplit('/').next().unwrap().to_owned();
    let events =
        page(Method::GET, &format!("{}{}/events", app.origin, started.header("location")), Some(&cookie), None, None)
            .await;
    assert!(events.text.contains("event: done"), "{}", events.text);
    let artifacts = app.get(&format!("sharePointRestoreSessions/{id}/granularSiteRestoreArtifacts"), &token).await;
    let a = &artifacts.body["value"][0];
    assert_eq!(
        (a["id"].as_str(), a["status"].as_str()),
        (Some(docs.as_str()), Some("succeeded")),
        "{}",
        artifacts.body
    );
    let shown = page(Method::GET, &format!("{}/console/sessions/{id}", app.origin), Some(&cookie), None, None).await;
    assert!(shown.text.contains("Recovered Items"), "{}", shown.text);
}

#[tokio::test]
async fn a_preview_shows_images_and_pdf_as_they_are_and_markup_as_text_never_run() {
    let app = TestApp::spawn().await;
    let token = app.token(TENANT);
    let seeded = app.seed(TENANT, 1, 0, 0, 1).await;
    let unit = seeded.protection_units.iter().find(|u| u.kind == "site").unwrap();
    let d = app.drive_of(&token, &format!("sites/{}", unit.site_id.clone().unwrap())).await;
    let files: [(&str, &str, &[u8]); 4] = [
        ("pic.png", "image/png", b"\x89PNG\r\n\x1a\n not really"),
        ("doc.pdf", "application/pdf", b"%PDF-1.4 not really"),
        ("page.html", "text/html", b"<script>alert(1)</script>"),
        ("tool.exe", "application/x-msdownload", b"MZ"),
    ];
    for (name, media, body) in files {
        let url = format!("{}/v1.0/drives/{d}/root:/{name}:/content", app.origin);
        let r = app.client.put(url).bearer_auth(&token).header("content-type", media).body(body.to_vec());
        assert!(r.send().await.unwrap().status().is_success());
    }
    let point = app.point_holding(&token, &d).await.1;
    let cookie = signed_in(&app, TENANT, "readWrite").await;
    let opened = page(Method::GET, &format!("{}/console/points/{point}", app.origin), Some(&cookie), None, None).await;
    let top =
        page(Method::GET, &format!("{}{}", app.origin, opened.header("location")), Some(&cookie), None, None).await;
    for (name, shown_as, inline) in [
        ("pic.png", "image/png", true),
        ("doc.pdf", "application/pdf", true),
        ("page.html", "text/plain; charset=utf-8", true),
        ("tool.exe", "application/x-msdownload", false),
    ] {
        let at =
            top.text.find(&format!("aria-label=\"Preview {name}\"")).unwrap_or_else(|| panic!("{name}: {}", top.text));
        let href = top.text[..at].rfind("href=\"").unwrap() + 6;
        let url = top.text[href..].split('"').next().unwrap().replace("&amp;", "&");
        let p = page(Method::GET, &format!("{}{url}", app.origin), Some(&cookie), None, None).await;
        assert_eq!(p.status, StatusCode::OK, "{name}");
        assert_eq!(p.header("content-type"), shown_as, "{name}");
        assert_eq!(p.header("x-content-type-options"), "nosniff");
        if inline {
            assert_eq!(p.header("content-disposition"), "inline", "{name}");
            assert!(p.header("content-security-policy").starts_with("sandbox"), "{name}");
        } else {
            assert!(p.header("content-disposition").starts_with("attachment"), "{name} is not shown, only saved");
        }
    }
}

#[tokio::test]
async fn a_sessions_page_shows_every_artifact_past_the_first_page() {
    let app = TestApp::spawn().await;
    let token = app.token(TENANT);
    let seeded = app.seed(TENANT, 120, 0, 0, 1).await;
    let adds: Vec<Value> = seeded
        .protection_units
        .iter()
        .map(|u| json!({"restorePoint": {"id": u.restore_point_ids[0]}, "destinationType": "new"}))
        .collect();
    let made = app.post("sharePointRestoreSessions", &token, &json!({"siteRestoreArtifacts": adds[..50]})).await;
    made.expect(201);
    let id = made.body["id"].as_str().unwrap().to_owned();
    for chunk in adds[50..].chunks(50) {
        let delta = json!({"siteRestoreArtifacts@delta": chunk});
        app.patch(&format!("sharePointRestoreSessions/{id}"), &token, &delta).await.expect(200);
    }
    let cookie = signed_in(&app, TENANT, "read").await;
    let p = page(Method::GET, &format!("{}/console/sessions/{id}", app.origin), Some(&cookie), None, None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    assert!(p.text.contains("<caption>120 artifacts</caption>"), "{}", p.text);
    assert_eq!(p.text.matches("data-artifact=").count(), 120);
    assert!(!p.text.contains("data-events"), "a draft's page is not fed events: it moves only when activated");
}
