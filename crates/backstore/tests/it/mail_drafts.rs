//! Changes that rewrite a message's MIME, over HTTP: a draft's subject, body and recipients, a sent
//! message's recipients, attachments added and removed (with ids that stay put), concurrent
//! rewrites that lose nothing, and the size limits Graph sets on one request.

use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};

use crate::mail::{graph, mailbox};
use crate::support::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn file(name: &str, content_type: &str, bytes: &[u8]) -> Value {
    json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": name, "contentType": content_type,
           "contentBytes": b64(bytes)})
}

async fn attachment_ids(app: &TestApp, token: &str, message: &str) -> Vec<String> {
    let list = app.get_abs(&format!("{message}/attachments"), token).await;
    list.expect(200);
    list.body["value"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

async fn mime_of(app: &TestApp, token: &str, message: &str) -> String {
    let raw = app.client.get(format!("{message}/$value")).bearer_auth(token).send().await.unwrap();
    assert_eq!(raw.status(), 200);
    String::from_utf8_lossy(&raw.bytes().await.unwrap()).into_owned()
}

#[tokio::test]
async fn a_draft_is_edited_and_its_attachments_come_and_go() {
    let (app, token, user, _) = mailbox().await;
    let base = graph(&app, &format!("users/{user}"));
    let draft = app
        .post_abs(
            &format!("{base}/messages"),
            &token,
            &json!({
                "subject": "Plan",
                "body": {"contentType": "text", "content": "A first try."},
                "toRecipients": [{"emailAddress": {"address": "bob@contoso.com"}}],
                "attachments": [file("a.txt", "text/plain", b"first attachment")]
            }),
        )
        .await;
    draft.expect(201);
    assert_eq!(draft.body["isDraft"], true);
    let message = format!("{base}/messages/{}", draft.body["id"].as_str().unwrap());
    let first = attachment_ids(&app, &token, &message).await;

    // Its content changed: subject, body (now HTML), recipients; the attachment stays, same id.
    let edited = app
        .patch_abs(
            &message,
            &token,
            &json!({
                "subject": "Plan, second draft",
                "body": {"contentType": "html", "content": "<p>A <b>better</b> try.</p>"},
                "toRecipients": [{"emailAddress": {"name": "Carl", "address": "carl@contoso.com"}}],
                "ccRecipients": [{"emailAddress": {"address": "dana@contoso.com"}}],
                "isRead": false
            }),
        )
        .await;
    edited.expect(200);
    assert_eq!(
        (edited.body["subject"].as_str(), edited.body["bodyPreview"].as_str(), edited.body["isDraft"].as_bool()),
        (Some("Plan, second draft"), Some("A better try."), Some(true))
    );
    assert_eq!((edited.body["isRead"].as_bool(), edited.body["hasAttachments"].as_bool()), (Some(false), Some(true)));
    assert_eq!(edited.body["toRecipients"][0]["emailAddress"]["address"], "carl@contoso.com");
    assert_eq!(edited.body["ccRecipients"][0]["emailAddress"]["address"], "dana@contoso.com");
    assert_eq!(edited.body["internetMessageId"], draft.body["internetMessageId"], "the same message");
    assert_ne!(edited.body["changeKey"], draft.body["changeKey"]);
    let read = app.get_abs(&message, &token).await;
    assert_eq!(read.body["body"]["contentType"], "html");
    assert!(read.body["body"]["content"].as_str().unwrap().contains("<b>better</b>"), "{}", read.body["body"]);
    let mime = mime_of(&app, &token, &message).await;
    assert!(mime.contains("Subject: Plan, second draft") && mime.contains("carl@contoso.com"), "{mime}");
    assert_eq!(attachment_ids(&app, &token, &message).await, first, "an attachment keeps its id");

    // An attachment added (201, the attachment) and one taken off: the other's id does not move.
    let added =
        app.post_abs(&format!("{message}/attachments"), &token, &file("b.pdf", "application/pdf", b"%PDF-1.4\n")).await;
    added.expect(201);
    assert_eq!(added.body["@odata.type"], "#microsoft.graph.fileAttachment");
    assert_eq!((added.body["name"].as_str(), added.body["size"].as_u64()), (Some("b.pdf"), Some(9)));
    assert!(added.body["@odata.context"].as_str().unwrap().ends_with("/attachments/$entity"));
    let b_id = added.body["id"].as_str().unwrap().to_owned();
    assert_eq!(attachment_ids(&app, &token, &message).await, [first[0].clone(), b_id.clone()]);
    let gone = app.send(Method::DELETE, &format!("{message}/attachments/{}", first[0]), Some(&token), None, &[]).await;
    gone.expect(204);
    assert_eq!(attachment_ids(&app, &token, &message).await, std::slice::from_ref(&b_id));
    let raw = app.client.get(format!("{message}/attachments/{b_id}/$value")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(raw.bytes().await.unwrap().as_ref(), b"%PDF-1.4\n");
    app.send(Method::DELETE, &format!("{message}/attachments/{}", first[0]), Some(&token), None, &[])
        .await
        .expect_error(404, "ErrorItemNotFound");
    app.send(Method::DELETE, &format!("{message}/attachments/{b_id}"), Some(&token), None, &[]).await.expect(204);
    let bare = app.get_abs(&message, &token).await;
    assert_eq!(
        (bare.body["hasAttachments"].as_bool(), bare.body["subject"].as_str()),
        (Some(false), Some("Plan, second draft"))
    );

    // Refusals: no type, not base64, and an attachment too large for one request.
    app.post_abs(&format!("{message}/attachments"), &token, &json!({"name": "x", "contentBytes": "YQ=="}))
        .await
        .expect_error(400, "BadRequest");
    let big = vec![7u8; 3 * 1024 * 1024 + 1];
    app.post_abs(&format!("{message}/attachments"), &token, &file("big.bin", "application/octet-stream", &big))
        .await
        .expect_error(413, "ErrorRequestEntityTooLarge");
    app.post_abs(&format!("{message}/attachments/createUploadSession"), &token, &json!({}))
        .await
        .expect_error(501, "notImplemented");
    assert!(attachment_ids(&app, &token, &message).await.is_empty(), "a refusal wrote nothing");
}

#[tokio::test]
async fn a_sent_message_takes_new_recipients_and_attachments_but_keeps_its_content() {
    let (app, token, user, _) = mailbox().await;
    let base = graph(&app, &format!("users/{user}"));
    let sent = app
        .post_abs(
            &format!("{base}/mailFolders/inbox/messages"),
            &token,
            &json!({
                "subject": "Minutes",
                "body": {"contentType": "text", "content": "The minutes of Monday."},
                "from": {"emailAddress": {"address": "ann@contoso.com"}},
                "singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": "1"}]
            }),
        )
        .await;
    sent.expect(201);
    assert_eq!(sent.body["isDraft"], false);
    let message = format!("{base}/messages/{}", sent.body["id"].as_str().unwrap());
    let to = app
        .patch_abs(&message, &token, &json!({"toRecipients": [{"emailAddress": {"address": "team@contoso.com"}}]}))
        .await;
    to.expect(200);
    assert_eq!(to.body["toRecipients"][0]["emailAddress"]["address"], "team@contoso.com");
    assert_eq!(
        (to.body["sentDateTime"].clone(), to.body["isDraft"].as_bool()),
        (sent.body["sentDateTime"].clone(), Some(false))
    );
    for (property, value) in
        [("subject", json!("x")), ("body", json!({"content": "x"})), ("internetMessageId", json!("<x@y>"))]
    {
        let refused = app.patch_abs(&message, &token, &json!({ property: value })).await;
        refused.expect_error(400, "ErrorInvalidPropertyUpdateSentMessage");
        assert!(refused.body["error"]["message"].as_str().unwrap().contains(property), "{}", refused.body);
    }
    let added = app.post_abs(&format!("{message}/attachments"), &token, &file("m.txt", "text/plain", b"minutes")).await;
    added.expect(201);
    let now = app.get_abs(&message, &token).await;
    assert_eq!(
        (now.body["hasAttachments"].as_bool(), now.body["bodyPreview"].as_str()),
        (Some(true), Some("The minutes of Monday."))
    );
    assert!(mime_of(&app, &token, &message).await.contains("team@contoso.com"));
}

#[tokio::test]
async fn rewrites_at_once_lose_nothing() {
    let (app, token, user, _) = mailbox().await;
    let base = graph(&app, &format!("users/{user}"));
    let draft = app.post_abs(&format!("{base}/messages"), &token, &json!({"subject": "Busy"})).await;
    let message = format!("{base}/messages/{}", draft.body["id"].as_str().unwrap());
    // Eight clients add an attachment each at the same moment: each is added, or refused as a
    // change-key conflict; none is lost after its 201.
    let adds = (0..8).map(|n| {
        let (app, token, url) = (&app, &token, format!("{message}/attachments"));
        async move {
            app.post_abs(&url, token, &file(&format!("f{n}.txt"), "text/plain", format!("file {n}").as_bytes())).await
        }
    });
    let answers = futures::future::join_all(adds).await;
    let mut added = 0;
    for a in &answers {
        match a.status.as_u16() {
            201 => added += 1,
            _ => {
                a.expect_error(409, "ErrorIrresolvableConflict");
            }
        }
    }
    assert!(added >= 1, "one of them is added first");
    assert_eq!(attachment_ids(&app, &token, &message).await.len(), added, "every 201 is kept");
}

#[tokio::test]
async fn a_mime_create_is_limited_as_graph_limits_it() {
    let (app, token, user, _) = mailbox().await;
    let base = graph(&app, &format!("users/{user}"));
    // 4 MiB of MIME is the most one create takes; its base64 fits in the mail body limit.
    let mut mime = b"From: a@contoso.com\r\nSubject: Big\r\nContent-Type: text/plain\r\n\r\n".to_vec();
    mime.resize(4 * 1024 * 1024 + 1, b'x');
    app.raw(Method::POST, &format!("{base}/messages"), &token, Some("text/plain"), b64(&mime).into_bytes())
        .await
        .expect_error(413, "ErrorRequestEntityTooLarge");
    mime.truncate(4 * 1024 * 1024);
    let made =
        app.raw(Method::POST, &format!("{base}/messages"), &token, Some("text/plain"), b64(&mime).into_bytes()).await;
    made.expect(201);
    assert_eq!(made.body["subject"], "Big");
    let past = vec![b'A'; backstore_api::MAX_MAIL_BODY_BYTES + 1];
    app.raw(Method::POST, &format!("{base}/messages"), &token, Some("text/plain"), past)
        .await
        .expect_error(413, "RequestEntityTooLarge");
}
