//! What the console shows of a point beyond Graph's browse sessions, through the admin paths it
//! calls: a mailbox point's folders and messages (each message's MIME to read or download), and
//! each point's size and item count on a unit's timeline.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console_pages::{page, signed_in, two_points};
use crate::support::*;

/// The first link on `text` whose target starts with `prefix` (`&amp;` read as `&`).
fn link(text: &str, prefix: &str) -> String {
    let at = text.find(&format!("href=\"{prefix}")).unwrap_or_else(|| panic!("no link to {prefix} in {text}")) + 6;
    text[at..].split('"').next().unwrap().replace("&amp;", "&")
}

#[tokio::test]
async fn a_mailbox_points_folders_and_messages_are_shown_and_a_message_reads_as_its_mime() {
    let (app, token, user, _) = crate::mail::mailbox().await;
    let graph = |p: &str| format!("{}/v1.0/users/{user}/{p}", app.origin);
    let body = json!({
        "subject": "Quarterly plan",
        "body": {"contentType": "text", "content": "Numbers go up."},
        "toRecipients": [{"emailAddress": {"address": "team@contoso.com"}}],
        "singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": "0"}],
    });
    let made = app.post_abs(&graph("mailFolders/inbox/messages"), &token, &body).await;
    made.expect(201);
    let drive = app.store().mailbox(TENANT, &user).await.unwrap().unwrap().drive_id;
    let point = app.point_holding(&token, &drive).await.1;
    // Gone from the mailbox after the point; the point keeps it.
    let url = graph(&format!("messages/{}", made.body["id"].as_str().unwrap()));
    app.send(Method::DELETE, &url, Some(&token), None, &[]).await.expect(204);

    let cookie = signed_in(&app, TENANT, "readWrite").await;
    let console = |p: &str| format!("{}{p}", app.origin);
    let opened = page(Method::GET, &console(&format!("/console/points/{point}")), Some(&cookie), None, None).await;
    assert_eq!(opened.header("location"), format!("/console/points/{point}/mail"));
    let top = page(Method::GET, &console(opened.header("location")), Some(&cookie), None, None).await;
    assert!(top.text.contains(">Inbox</a>") && top.text.contains(">Sent Items</a>"), "{}", top.text);
    let end = top.text.find("&amp;path=%2FInbox\"").expect("a link into the Inbox");
    let inbox = link(&top.text[top.text[..end].rfind("<a ").unwrap()..], "/console/points/");
    let folder = page(Method::GET, &console(&inbox), Some(&cookie), None, None).await;
    assert!(folder.text.contains("Quarterly plan"), "{}", folder.text);
    let read = link(&folder.text, &format!("/console/points/{point}/mail/message?item="));
    assert!(read.ends_with("&view=inline"));
    let shown = page(Method::GET, &console(&read), Some(&cookie), None, None).await;
    assert_eq!(shown.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(shown.header("content-security-policy").split(';').next(), Some("sandbox"));
    assert!(shown.text.contains("Subject: Quarterly plan") && shown.text.contains("Numbers go up."), "{}", shown.text);
    let saved = page(Method::GET, &console(read.trim_end_matches("&view=inline")), Some(&cookie), None, None).await;
    assert_eq!(saved.header("content-type"), "message/rfc822");
    assert!(saved.header("content-disposition").ends_with(".eml"), "{}", saved.header("content-disposition"));
    assert_eq!(saved.text, shown.text);

    // Restored into a new folder of the mailbox, which the session's page links to as it is now.
    let units = app.get("protectionUnits", &token).await;
    let unit = units.body["value"][0]["id"].as_str().unwrap().to_owned();
    let review =
        page(Method::GET, &console(&format!("/console/restore?unit={unit}&point={point}")), Some(&cookie), None, None)
            .await;
    assert!(review.text.contains("a Restored Items folder of the mailbox"), "{}", review.text);
    let form = format!("_csrf={}&unit={unit}&point={point}&destination=new", review.csrf());
    let started = page(Method::POST, &console("/console/restore"), Some(&cookie), Some(&form), None).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    app.engine(backstore_engine::EngineConfig::default()).with_content(app.content()).run_until_idle(20).await.unwrap();
    let done = page(Method::GET, &console(started.header("location")), Some(&cookie), None, None).await;
    assert!(done.text.contains("s-completed"), "{}", done.text);
    let restored = link(&done.text, &format!("/console/live/users/{user}/mailFolders/"));
    let now = page(Method::GET, &console(&restored), Some(&cookie), None, None).await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.text);
    assert!(now.text.contains("Restored Items") && now.text.contains("(as it is now)"), "{}", now.text);
    let named = now.text.find(">Inbox</a>").expect("the restored Inbox");
    let inbox = link(&now.text[now.text[..named].rfind("<a ").unwrap()..], "/console/live/");
    let inbox = page(Method::GET, &console(&inbox), Some(&cookie), None, None).await;
    assert!(inbox.text.contains("Quarterly plan"), "{}", inbox.text);

    // The admin paths themselves, and what they refuse.
    let admin = |p: &str| format!("{}/admin/restorePoints/{point}{p}", app.origin);
    let get = |url: String, token: String| {
        let app = &app;
        async move { app.send(Method::GET, &url, Some(&token), None, &[]).await }
    };
    let top = get(admin("/items"), token.clone()).await;
    top.expect(200);
    let inbox = top.body["value"].as_array().unwrap().iter().find(|f| f["name"] == "Inbox").unwrap().clone();
    assert_eq!(inbox["kind"], "folder");
    let inbox_id = inbox["id"].as_str().unwrap();
    let inside = get(admin(&format!("/items?parent={inbox_id}")), token.clone()).await;
    let message = inside.body["value"].as_array().unwrap().iter().find(|m| m["kind"] == "message").unwrap().clone();
    assert_eq!(message["properties"]["subject"], "Quarterly plan");
    get(admin(&format!("/items/{inbox_id}/content")), token.clone()).await.expect_error(400, "BadRequest");
    get(admin("/items?parent=nothing"), token.clone()).await.expect_error(404, "itemNotFound");
    get(admin("/items/nothing/content"), token.clone()).await.expect_error(404, "itemNotFound");
    get(admin("/items"), app.token_with(TENANT, true, None, 3600)).await.expect_error(403, "accessDenied");
    get(admin("/items"), app.token(OTHER_TENANT)).await.expect_error(404, "RestorePointNotFound");
    let url = format!("{}/admin/restorePoints/{point}/nothing", app.origin);
    get(url, token.clone()).await.expect_error(404, "ResourceNotFound");
}

#[tokio::test]
async fn each_point_on_a_units_timeline_shows_its_size_and_item_count() {
    let app = TestApp::spawn().await;
    let token = app.token(TENANT);
    let (unit, first, second, _) = two_points(&app, &token).await;
    let stats = |ids: String| {
        let app = &app;
        let token = &token;
        async move {
            app.send(Method::GET, &format!("{}/admin/restorePointStats?ids={ids}", app.origin), Some(token), None, &[])
                .await
        }
    };
    let r = stats(format!("{first},{second}")).await;
    r.expect(200);
    let of = |v: &Value| {
        (v["restorePointId"].as_str().unwrap().to_owned(), v["sizeInBytes"].clone(), v["itemCount"].clone())
    };
    let got: Vec<_> = r.body["value"].as_array().unwrap().iter().map(of).collect();
    // Docs, a.txt (5 B), b.txt (6 B), c.txt (5 B); then Docs, a.txt (17 B), c.txt, d.txt (6 B).
    assert_eq!(got, [(first.clone(), json!(16), json!(4)), (second.clone(), json!(28), json!(4))]);
    stats(String::new()).await.expect_error(400, "BadRequest");
    stats("no-such-point".into()).await.expect_error(404, "RestorePointNotFound");

    let cookie = signed_in(&app, TENANT, "readWrite").await;
    let p = page(Method::GET, &format!("{}/console/units/{unit}", app.origin), Some(&cookie), None, None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.text.contains("<td data-label=\"Size\">28 B</td><td data-label=\"Items\">4</td>")
            && p.text.contains("<td data-label=\"Size\">16 B</td><td data-label=\"Items\">4</td>"),
        "{}",
        p.text
    );
    // A read-only sign-in sees the timeline, and why the sizes are missing.
    let read_only = signed_in(&app, TENANT, "read").await;
    let p = page(Method::GET, &format!("{}/console/units/{unit}", app.origin), Some(&read_only), None, None).await;
    assert!(p.text.contains("Sizes and item counts are not shown: accessDenied"), "{}", p.text);
    assert!(p.text.contains("fastRestore"));
}

#[tokio::test]
async fn a_units_timeline_shows_fourteen_days_of_points_by_day_then_one_a_week() {
    let app = TestApp::spawn().await;
    let token = app.token(TENANT);
    let seeded = app.seed(TENANT, 1, 0, 0, 1).await;
    let unit = seeded.protection_units[0].id.clone();
    // Five weeks of the service's cadence: a point every 10 minutes, one a week kept for a year.
    app.advance_clock(&token, "35d").await;
    let cookie = signed_in(&app, TENANT, "readWrite").await;
    let p = page(Method::GET, &format!("{}/console/units/{unit}", app.origin), Some(&cookie), None, None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let recent = p.text.split("Recent points (the 14 days before the newest): ").nth(1).unwrap();
    let recent: usize = recent.split('<').next().unwrap().parse().unwrap();
    assert!((2015..=2017).contains(&recent), "14 days of 10-minute points, not {recent}");
    let days = p.text.matches("<details").count();
    assert!((14..=16).contains(&days), "{days} days");
    assert_eq!(p.text.matches("<details open").count(), 1, "the newest day is open");
    let weekly = p.text.split("Weekly points before those: ").nth(1).expect("weekly points");
    let weekly: usize = weekly.split('<').next().unwrap().parse().unwrap();
    assert!((2..=4).contains(&weekly), "{weekly} weekly points");
}
