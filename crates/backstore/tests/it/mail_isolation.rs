//! Tenant isolation on every mail path, over HTTP: another tenant's token reaches nothing of this
//! tenant's mailbox, neither through this tenant's user nor through a user of its own with this
//! tenant's folder, message and attachment ids, and none of its writes changes anything here.

use reqwest::Method;
use serde_json::{json, Value};

use crate::mail::{graph, mailbox};
use crate::support::*;

/// Every mail path there is, for `user`, folder `f`, message `m` and attachment `a`, with the
/// method and the body a client sends on it.
fn every_path(user: &str, f: &str, m: &str, a: &str) -> Vec<(Method, String, Option<Value>)> {
    let folder = json!({"displayName": "Theirs"});
    let message = json!({"subject": "Theirs"});
    let attachment = json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "x.txt",
                            "contentBytes": "eA=="});
    let u = format!("users/{user}");
    let mut out = vec![
        (Method::GET, format!("{u}/mailFolders"), None),
        (Method::POST, format!("{u}/mailFolders"), Some(folder.clone())),
        (Method::GET, format!("{u}/mailFolders/{f}"), None),
        (Method::GET, format!("{u}/mailFolders('{f}')"), None),
        (Method::PATCH, format!("{u}/mailFolders/{f}"), Some(folder.clone())),
        (Method::DELETE, format!("{u}/mailFolders/{f}"), None),
        (Method::GET, format!("{u}/mailFolders/{f}/childFolders"), None),
        (Method::POST, format!("{u}/mailFolders/{f}/childFolders"), Some(folder)),
        (Method::GET, format!("{u}/mailFolders/{f}/messages"), None),
        (Method::POST, format!("{u}/mailFolders/{f}/messages"), Some(message.clone())),
        (Method::GET, format!("{u}/mailFolders/{f}/messages/delta"), None),
        (Method::GET, format!("{u}/mailFolders/{f}/messages/{m}"), None),
        (Method::GET, format!("{u}/messages"), None),
        (Method::POST, format!("{u}/messages"), Some(message)),
    ];
    for base in [format!("{u}/messages/{m}"), format!("{u}/mailFolders/{f}/messages/{m}")] {
        out.extend([
            (Method::GET, base.clone(), None),
            (Method::PATCH, base.clone(), Some(json!({"isRead": true, "subject": "Taken"}))),
            (Method::GET, format!("{base}/$value"), None),
            (Method::POST, format!("{base}/move"), Some(json!({"destinationId": "deleteditems"}))),
            (Method::GET, format!("{base}/attachments"), None),
            (Method::POST, format!("{base}/attachments"), Some(attachment.clone())),
            (Method::GET, format!("{base}/attachments/{a}"), None),
            (Method::GET, format!("{base}/attachments/{a}/$value"), None),
            (Method::DELETE, format!("{base}/attachments/{a}"), None),
            (Method::DELETE, base, None),
        ]);
    }
    out
}

/// What this tenant sees of its mailbox: the folder, the message, its attachments and its MIME.
async fn what_it_holds(app: &TestApp, token: &str, user: &str, f: &str, m: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for path in [
        format!("users/{user}/mailFolders/{f}"),
        format!("users/{user}/messages/{m}"),
        format!("users/{user}/messages/{m}/attachments"),
    ] {
        let r = app.get_abs(&graph(app, &path), token).await;
        r.expect(200);
        seen.push(r.body.clone());
    }
    let raw = app.client.get(graph(app, &format!("users/{user}/messages/{m}/$value"))).bearer_auth(token).send().await;
    seen.push(Value::String(String::from_utf8_lossy(&raw.unwrap().bytes().await.unwrap()).into_owned()));
    seen
}

#[tokio::test]
async fn another_tenant_reaches_nothing_of_a_mailbox_on_any_mail_path() {
    let (app, token, user, email) = mailbox().await;
    let folder =
        app.post_abs(&graph(&app, &format!("users/{user}/mailFolders")), &token, &json!({"displayName": "Ours"})).await;
    folder.expect(201);
    let f = folder.body["id"].as_str().unwrap().to_owned();
    let message = app
        .post_abs(
            &graph(&app, &format!("users/{user}/mailFolders/{f}/messages")),
            &token,
            &json!({"subject": "Ours", "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment",
                    "name": "ours.txt", "contentBytes": "b3Vycw=="}]}),
        )
        .await;
    message.expect(201);
    let m = message.body["id"].as_str().unwrap().to_owned();
    let attachments = app.get_abs(&graph(&app, &format!("users/{user}/messages/{m}/attachments")), &token).await;
    let a = attachments.body["value"][0]["id"].as_str().unwrap().to_owned();
    let before = what_it_holds(&app, &token, &user, &f, &m).await;

    // The other tenant has a mailbox of its own.
    let theirs = app.seed(OTHER_TENANT, 0, 1, 0, 1).await;
    let their_user =
        theirs.protection_units.iter().find(|u| u.kind == "mailbox").unwrap().directory_object_id.clone().unwrap();
    let other = app.token(OTHER_TENANT);

    // Through this tenant's user, by id or address: the user is not one of theirs.
    let mut tried = 0;
    for who in [&user, &email] {
        if *who == their_user {
            continue;
        }
        for (method, path, body) in every_path(who, &f, &m, &a) {
            let r = app.send(method.clone(), &graph(&app, &path), Some(&other), body.as_ref(), &[]).await;
            assert_eq!((r.status.as_u16(), r.error_code()), (404, "ErrorInvalidUser"), "{method} {path}: {}", r.body);
            tried += 1;
        }
    }
    assert!(tried >= 2 * 34, "{tried} requests");

    // Through their own user, with this tenant's ids: nothing by those ids is theirs. Their own
    // collections answer (or take a new item), without this tenant's items in them.
    for (method, path, body) in every_path(&their_user, &f, &m, &a) {
        let r = app.send(method.clone(), &graph(&app, &path), Some(&other), body.as_ref(), &[]).await;
        let collection = path.ends_with("/mailFolders") || path.ends_with(&format!("users/{their_user}/messages"));
        if collection {
            assert!(matches!(r.status.as_u16(), 200 | 201), "{method} {path}: {} {}", r.status, r.body);
            let text = r.body.to_string();
            assert!(!text.contains(&f) && !text.contains(&m) && !text.contains("Ours"), "{path}: {text}");
        } else {
            assert_eq!((r.status.as_u16(), r.error_code()), (404, "ErrorItemNotFound"), "{method} {path}: {}", r.body);
        }
    }

    // Nothing of this tenant's mailbox changed.
    assert_eq!(what_it_holds(&app, &token, &user, &f, &m).await, before);
}
