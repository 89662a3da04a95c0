//! The web console in a real browser (Debian's Chromium, headless, over WebDriver): a person signs
//! in, opens a unit, picks a restore point, browses into a folder, previews and downloads a file
//! (whose bytes are compared with what was uploaded), starts a `new` restore and sees it reach
//! `completed` in the page with its proof; a read-only sign-in cannot start one; a forged
//! cross-site POST is refused; the pages work from the keyboard, label every control, and fit a
//! 390 px screen. Screenshots of each page go to `target/tmp/console-screenshots/`.

use std::path::PathBuf;
use std::time::Duration;

use backstore_engine::{EngineConfig, RestoreSpeed};
use serde_json::Value;
use thirtyfour::prelude::*;

use crate::browser::Browser;
use crate::support::*;

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

/// A server whose engine restores each artifact in `restore` (so a page can watch one run), with
/// a site whose newest point holds `Docs/plan.txt`, `Docs/photo.bin` and `keep.txt`; the unit,
/// the point, and the photo's bytes.
async fn a_site_with_a_point(restore: Duration) -> (TestApp, String, String, Vec<u8>) {
    let engine =
        EngineConfig { poll: Duration::from_millis(20), speed: RestoreSpeed::Fixed(restore), ..Default::default() };
    let app = TestApp::spawn_with(Some(engine)).await;
    let seeded = app.seed(TENANT, 1, 0, 0, 1).await;
    let token = app.token(TENANT);
    let unit = seeded.protection_units.iter().find(|u| u.kind == "site").unwrap();
    let d = app.drive_of(&token, &format!("sites/{}", unit.site_id.clone().unwrap())).await;
    let url = format!("{}/v1.0/drives/{d}/root/children", app.origin);
    app.post_abs(&url, &token, &serde_json::json!({"name": "Docs", "folder": {}})).await.expect(201);
    let photo: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    app.put_file(&token, &d, "Docs/plan.txt", b"the plan, as it was").await;
    app.put_file(&token, &d, "Docs/photo.bin", &photo).await;
    app.put_file(&token, &d, "keep.txt", b"kept").await;
    let point = app.point_holding(&token, &d).await.1;
    (app, unit.id.clone(), point, photo)
}

/// Signs in as `tenant-a` from the sign-in page, read-only or not.
async fn sign_in(b: &Browser, origin: &str, read_only: bool) {
    b.driver.goto(format!("{origin}/console")).await.unwrap();
    b.on_page("Sign in").await;
    let tenant = b.driver.find(By::Id("tenant")).await.unwrap();
    tenant.clear().await.unwrap();
    tenant.send_keys(TENANT).await.unwrap();
    let access = if read_only { "read" } else { "readWrite" };
    b.driver.find(By::Css(format!("input[name=access][value={access}]"))).await.unwrap().click().await.unwrap();
    b.driver.find(By::Id("sign-in-mint")).await.unwrap().click().await.unwrap();
    b.on_page("Overview").await;
}

/// The controls of the page that a screen reader could not name.
async fn unlabeled(b: &Browser) -> Vec<String> {
    let script = r#"
        return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
            .map(e => e.outerHTML);"#;
    let found = b.driver.execute(script, Vec::new()).await.unwrap();
    serde_json::from_value(found.json().clone()).unwrap()
}

/// Clicks the element `css` finds, once the browser lets it be clicked (on a loaded machine the
/// element can be in the page a moment before it can be clicked: "element not interactable").
async fn click(b: &Browser, css: &str) {
    let found = b.driver.query(By::Css(css)).and_clickable().first().await;
    found.unwrap_or_else(|e| panic!("no clickable {css}: {e}")).click().await.unwrap();
}

async fn restore_sessions(app: &TestApp) -> usize {
    let listed = app.get("restoreSessions", &app.token(TENANT)).await;
    listed.body["value"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_person_browses_a_point_downloads_a_file_and_restores_the_site_in_the_browser() {
    let (app, unit, point, photo) = a_site_with_a_point(Duration::from_secs(3)).await;
    let b = Browser::start().await;
    let shots = screenshots();
    let origin = app.origin.clone();

    sign_in(&b, &origin, false).await;
    assert_eq!(b.text("#service-h + p .badge").await, "enabled");
    assert!(b.text("#policies-h ~ table").await.contains("active"), "{}", b.driver.source().await.unwrap());
    b.screenshot(&shots, "overview").await;

    // The unit, from the list.
    click(&b, "header nav a[href='/console/units']").await;
    b.on_page("Protection units").await;
    assert!(unlabeled(&b).await.is_empty(), "{:?}", unlabeled(&b).await);
    click(&b, &format!("a[href='/console/units/{unit}']")).await;
    b.wait_for("the unit's points", || async { b.text("table.points").await.contains("fastRestore") }).await;
    let newest = b.text("table.points tbody tr").await;
    assert!(newest.contains("293.0 KiB\t4") || newest.contains("293.0 KiB 4"), "size and items of the point: {newest}");
    b.screenshot(&shots, "unit").await;
    assert!(unlabeled(&b).await.is_empty(), "{:?}", unlabeled(&b).await);

    // Into the point: its library, then a folder.
    click(&b, &format!("a[href='/console/points/{point}']")).await;
    b.wait_for("the point's top folder", || async { b.text("#items").await.contains("Docs") }).await;
    let top = b.text("#items").await;
    assert!(top.contains("keep.txt") && top.contains("Docs"), "{top}");
    b.driver.find(By::LinkText("Docs")).await.unwrap().click().await.unwrap();
    b.wait_for("the folder Docs", || async { b.text("#items").await.contains("photo.bin") }).await;
    assert!(b.text("nav.crumbs").await.contains("Docs"));
    b.screenshot(&shots, "point-tree").await;

    // A file's bytes, downloaded by the browser; a text file shown in it.
    click(&b, "a[aria-label='Download photo.bin']").await;
    assert_eq!(b.downloaded("photo.bin").await, photo, "the downloaded bytes are the uploaded ones");
    click(&b, "a[aria-label='Preview plan.txt']").await;
    b.wait_for("the preview", || async { b.text("body").await == "the plan, as it was" }).await;
    b.driver.back().await.unwrap();

    // A `new` restore of the point, watched to its end.
    b.driver.goto(format!("{origin}/console/units/{unit}")).await.unwrap();
    click(&b, &format!("a[href='/console/restore?unit={unit}&point={point}']")).await;
    b.on_page("Review the restore").await;
    assert!(unlabeled(&b).await.is_empty(), "{:?}", unlabeled(&b).await);
    b.screenshot(&shots, "review").await;
    click(&b, "#start-restore").await;
    b.wait_for("the session page", || async { b.text("h1").await.starts_with("Restore session ") }).await;
    b.wait_for("the restore running", || async { b.text("#session-status").await == "active" }).await;
    b.screenshot(&shots, "restore-running").await;
    b.wait_for("the restore completed", || async { b.text("#session-status").await == "completed" }).await;
    b.wait_for("the proof", || async { b.text("#proofs").await.contains("match") }).await;
    let artifacts = b.text("#artifacts").await;
    assert!(artifacts.contains("succeeded"), "{artifacts}");
    // Everything written: the folder and its files, and the file beside it.
    let overall = b.text("#overall-text").await;
    assert!(overall.starts_with("4 of 4 items, 293.0 KiB of 293.0 KiB"), "{overall}");
    b.screenshot(&shots, "restore-completed").await;
    assert_eq!(restore_sessions(&app).await, 1);

    // The restored site, as it is now: the point's files, byte for byte.
    click(&b, "a.restored").await;
    b.wait_for("the restored library", || async { b.text("#live-items").await.contains("Docs") }).await;
    assert!(b.text("main p.quiet").await.ends_with("R0/Shared%20Documents"), "{}", b.text("main").await);
    b.driver.find(By::LinkText("Docs")).await.unwrap().click().await.unwrap();
    b.wait_for("the restored folder", || async { b.text("#live-items").await.contains("plan.txt") }).await;
    b.screenshot(&shots, "restored-content").await;
    click(&b, "a[aria-label='Download plan.txt']").await;
    assert_eq!(b.downloaded("plan.txt").await, b"the plan, as it was");
    b.quit().await;
}

#[tokio::test]
async fn a_read_only_sign_in_cannot_restore_and_a_forged_cross_site_post_is_refused() {
    let (app, unit, point, _) = a_site_with_a_point(Duration::ZERO).await;
    let b = Browser::start().await;
    let origin = app.origin.clone();

    // The keyboard reaches the skip link first; every control has a name.
    b.driver.goto(format!("{origin}/console/sign-in")).await.unwrap();
    b.driver.find(By::Css("body")).await.unwrap().send_keys(Key::Tab).await.unwrap();
    let focused = b.driver.execute("return document.activeElement.textContent", Vec::new()).await.unwrap();
    assert_eq!(focused.json(), &Value::from("Skip to the content"));
    assert!(unlabeled(&b).await.is_empty(), "{:?}", unlabeled(&b).await);

    // Read-only: no start button, and a start sent anyway is refused by the API.
    sign_in(&b, &origin, true).await;
    assert_eq!(b.text(".who .readonly").await, "read-only");
    b.driver.goto(format!("{origin}/console/restore?unit={unit}&point={point}")).await.unwrap();
    b.on_page("Review the restore").await;
    assert!(b.text(".notice").await.contains("read-only"));
    assert!(b.driver.find(By::Id("start-restore")).await.is_err(), "a read-only sign-in is offered no start");
    let forced = format!(
        r#"const f = document.createElement('form'); f.method = 'post'; f.action = '/console/restore';
        for (const [k, v] of [['_csrf', document.querySelector('input[name=_csrf]').value], ['unit', '{unit}'],
                              ['point', '{point}'], ['destination', 'new']]) {{
            const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
        }}
        document.body.appendChild(f); f.submit();"#
    );
    b.driver.execute(&forced, Vec::new()).await.unwrap();
    b.wait_for("the API's refusal", || async { b.text("[role=alert]").await.contains("(403)") }).await;
    assert_eq!(restore_sessions(&app).await, 0);

    // Signed in to write, a page of another origin posts a restore: refused, nothing made.
    click(&b, ".who button").await;
    b.on_page("Sign in").await;
    sign_in(&b, &origin, false).await;
    let attacker = format!(
        r#"<!doctype html><form id="f" method="post" action="{origin}/console/restore">
        <input name="unit" value="{unit}"><input name="point" value="{point}"><input name="destination" value="new">
        </form><script>document.getElementById('f').submit()</script>"#
    );
    let evil =
        axum::Router::new().route("/", axum::routing::get(move || async move { axum::response::Html(attacker) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, evil).await });
    b.driver.goto(format!("http://{evil_addr}/")).await.unwrap();
    b.on_page("Refused").await;
    assert!(b.text("[role=alert]").await.contains("cross-site request forgery"), "{}", b.text("main").await);
    assert_eq!(restore_sessions(&app).await, 0);

    // At 390 px wide, nothing runs off the side.
    b.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    for (name, page) in
        [("overview-390px", "/console/overview".to_owned()), ("unit-390px", format!("/console/units/{unit}"))]
    {
        b.driver.goto(format!("{origin}{page}")).await.unwrap();
        b.screenshot(&screenshots(), name).await;
        let fits = b
            .driver
            .execute("return document.documentElement.scrollWidth <= window.innerWidth", Vec::new())
            .await
            .unwrap();
        assert_eq!(fits.json(), &Value::Bool(true), "{page} is wider than 390 px");
    }
    b.quit().await;
}
