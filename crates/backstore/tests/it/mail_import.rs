//! Mail brought in by `backstore import --mailbox` (SQLite here, PostgreSQL in `it_pg`): a corpus
//! of real-world messages no one here wrote, read back byte for byte, an mbox file, bytes that are
//! not mail; and a thousand messages paged through, filtered, and out of other tenants' reach.

use reqwest::Method;
use serde_json::json;

use crate::mail::{graph, mailbox};
use crate::support::*;

/// `backstore import --mailbox` of `path` into the test server's data, as JSON.
fn import(app: &TestApp, email: &str, path: &std::path::Path) -> (bool, serde_json::Value, String) {
    let args = [
        &["import".to_owned(), "--tenant".to_owned(), TENANT.to_owned(), "--mailbox".to_owned(), email.to_owned()][..],
        &crate::drives::content_args(app),
        &[path.to_str().unwrap().to_owned()],
    ]
    .concat();
    crate::drives::run_json(&args)
}

#[tokio::test]
async fn a_corpus_no_one_here_wrote_imports_and_reads_back_byte_for_byte() {
    let (app, token, user, email) = mailbox().await;
    let corpus = crate::support::repo_root().join("tests/data/mail-parser-eml");
    let import = |path: &std::path::Path| import(&app, &email, path);

    let (ok, report, err) = import(&corpus);
    assert!(ok, "{err}");
    assert_eq!((report["messages"].as_u64(), report["folders"].as_u64()), (Some(107), Some(4)), "{report}");

    // Each subdirectory is a folder; every message reads back as the very file it came from.
    let base = graph(&app, &format!("users/{user}"));
    let mut checked = 0;
    for dir in ["legacy", "malformed", "rfc", "thirdparty"] {
        let folders = app.get_abs(&format!("{base}/mailFolders?$top=100"), &token).await;
        let folder =
            folders.body["value"].as_array().unwrap().iter().find(|f| f["displayName"] == dir).expect(dir).clone();
        let id = folder["id"].as_str().unwrap();
        let mut files: Vec<_> = std::fs::read_dir(corpus.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert_eq!(folder["totalItemCount"].as_u64(), Some(files.len() as u64), "{folder}");
        let mut url = format!("{base}/mailFolders/{id}/messages?$select=subject&$top=50");
        let mut ids = Vec::new();
        loop {
            let page = app.get_abs(&url, &token).await;
            page.expect(200);
            ids.extend(page.body["value"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()));
            match page.body["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => break,
            }
        }
        let mut stored = Vec::new();
        for id in &ids {
            let r = app.client.get(format!("{base}/messages/{id}/$value")).bearer_auth(&token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            stored.push(r.bytes().await.unwrap().to_vec());
        }
        for f in &files {
            let original = std::fs::read(f).unwrap();
            assert!(stored.contains(&original), "{} reads back as it was", f.display());
            checked += 1;
        }
        // Every message renders, body and all.
        for id in ids.iter().take(5) {
            app.get_abs(&format!("{base}/messages/{id}"), &token).await.expect(200);
        }
    }
    assert_eq!(checked, 107);

    // An mbox file becomes a folder of its name; bytes that are not mail are kept, with a warning.
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("Old project.mbox");
    let mut text = Vec::new();
    for n in 0..3 {
        text.extend_from_slice(format!("From sender@example.com Mon Jan  1 10:0{n}:00 2024\n").as_bytes());
        text.extend_from_slice(format!("From: sender@example.com\nSubject: mbox {n}\n\nbody {n}\n\n").as_bytes());
    }
    std::fs::write(&mbox, text).unwrap();
    let (ok, report, err) = import(&mbox);
    assert!(ok, "{err}");
    assert_eq!((report["messages"].as_u64(), report["folders"].as_u64()), (Some(3), Some(1)), "{report}");
    let junk = dir.path().join("junk");
    std::fs::create_dir(&junk).unwrap();
    std::fs::write(junk.join("noise.eml"), [0u8, 159, 146, 150, 0, 1]).unwrap();
    let (ok, report, err) = import(&junk);
    assert!(ok, "{err}");
    assert_eq!(report["messages"], 1);
    assert_eq!(report["warnings"].as_array().unwrap().len(), 1, "{report}");
    let missing = dir.path().join("missing");
    let mut args = vec!["import", "--tenant", TENANT, "--mailbox", &email];
    let content = crate::drives::content_args(&app);
    args.extend(content.iter().map(String::as_str));
    args.push(missing.to_str().unwrap());
    let (ok, _, err) = crate::process::run(&args);
    assert!(!ok && err.contains("cannot import"), "{err}");
}

#[tokio::test]
async fn a_thousand_messages_page_through_and_other_tenants_see_none_of_them() {
    let (app, token, user, email) = mailbox().await;
    let dir = tempfile::tempdir().unwrap();
    for n in 0..1_050 {
        let mime = format!(
            "From: sender{}@example.com\r\nTo: {email}\r\nSubject: Bulk {n:04}\r\nDate: Mon, 1 Jan 2024 {:02}:{:02}:00 +0000\r\n\
             Message-ID: <bulk-{n}@example.com>\r\n\r\nMessage number {n}.\r\n",
            n % 7,
            n / 60 % 24,
            n % 60
        );
        std::fs::write(dir.path().join(format!("{n:04}.eml")), mime).unwrap();
    }
    let (ok, report, err) = import(&app, &email, dir.path());
    assert!(ok, "{err}");
    assert_eq!(report["messages"], 1_050);

    // Pages of 100, newest first, every message once; a filter pages the same way.
    let base = graph(&app, &format!("users/{user}"));
    let mut url = format!("{base}/mailFolders/inbox/messages?$top=100&$select=subject,receivedDateTime");
    let (mut seen, mut pages, mut last) = (std::collections::HashSet::new(), 0, String::from("9999"));
    loop {
        let page = app.get_abs(&url, &token).await;
        page.expect(200);
        pages += 1;
        for m in page.body["value"].as_array().unwrap() {
            let at = m["receivedDateTime"].as_str().unwrap().to_owned();
            assert!(at <= last, "newest first: {at} after {last}");
            last = at;
            assert!(seen.insert(m["id"].as_str().unwrap().to_owned()), "each message once");
        }
        match page.body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (1_050, 11));
    let from = app
        .get_abs(
            &format!("{base}/messages?$filter=from/emailAddress/address eq 'sender3@example.com'&$count=true&$top=20"),
            &token,
        )
        .await;
    from.expect(200);
    assert_eq!(from.body["@odata.count"], 150);
    let counted = app.get_abs(&format!("{base}/mailFolders/inbox"), &token).await;
    assert_eq!(counted.body["totalItemCount"], 1_050);

    // Another tenant: the user is not in its directory, and a message id of this tenant is no
    // message of its own mailboxes.
    let other = app.token(OTHER_TENANT);
    let any_id = seen.iter().next().unwrap().clone();
    for path in [
        "mailFolders".to_owned(),
        "mailFolders/inbox".to_owned(),
        "mailFolders/inbox/messages".to_owned(),
        "mailFolders/inbox/messages/delta".to_owned(),
        "messages".to_owned(),
        format!("messages/{any_id}"),
        format!("messages/{any_id}/$value"),
        format!("messages/{any_id}/attachments"),
    ] {
        app.get_abs(&format!("{base}/{path}"), &other).await.expect_error(404, "ErrorInvalidUser");
    }
    let theirs = app.seed(OTHER_TENANT, 0, 1, 0, 1).await;
    let their_user = theirs.protection_units[0].directory_object_id.clone().unwrap();
    let their_base = graph(&app, &format!("users/{their_user}"));
    for path in [format!("messages/{any_id}"), format!("messages/{any_id}/$value"), format!("messages/{any_id}/move")] {
        let method = if path.ends_with("move") { Method::POST } else { Method::GET };
        let body = json!({"destinationId": "archive"});
        app.send(method, &format!("{their_base}/{path}"), Some(&other), Some(&body), &[])
            .await
            .expect_error(404, "ErrorItemNotFound");
    }
    app.send(Method::DELETE, &format!("{their_base}/messages/{any_id}"), Some(&other), None, &[])
        .await
        .expect_error(404, "ErrorItemNotFound");
    app.get_abs(&format!("{base}/messages/{any_id}"), &token).await.expect(200);
}
