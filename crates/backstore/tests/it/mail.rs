//! Mailboxes through Graph's mail paths over HTTP (SQLite here, PostgreSQL in `it_pg`): a seeded
//! user's mailbox with its well-known folders, folders created, nested, renamed and deleted with
//! their counts, paging, permissions and Exchange's errors; and a mailbox's tree in its unit's
//! restore points.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

pub(crate) fn graph(app: &TestApp, path: &str) -> String {
    format!("{}/v1.0/{path}", app.origin)
}

/// A server with one seeded mailbox, a token of its tenant, and the user's id and address.
pub(crate) async fn mailbox() -> (TestApp, String, String, String) {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 0, 1, 0, 1).await;
    let token = app.token(TENANT);
    let unit = seeded.protection_units.iter().find(|u| u.kind == "mailbox").expect("a mailbox unit");
    (app, token, unit.directory_object_id.clone().unwrap(), unit.email.clone().unwrap())
}

fn names(page: &Value) -> Vec<&str> {
    page["value"].as_array().unwrap().iter().map(|f| f["displayName"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_mailbox_has_its_well_known_folders_and_takes_new_ones() {
    let (app, token, user, email) = mailbox().await;

    // The top folders, by name, ten to a page as Graph pages them; by id or address alike.
    let top = app.get_abs(&graph(&app, &format!("users/{user}/mailFolders?$top=5")), &token).await;
    top.expect(200);
    assert_eq!(names(&top.body), ["Archive", "Conversation History", "Deleted Items", "Drafts", "Inbox"]);
    assert_eq!(
        top.body["@odata.context"],
        format!("{}/v1.0/$metadata#users('{user}')/mailFolders", app.origin).as_str()
    );
    let next = top.body["@odata.nextLink"].as_str().expect("a second page").to_owned();
    assert!(next.contains("$skip=5"), "{next}");
    let rest = app.get_abs(&next, &token).await;
    assert_eq!(names(&rest.body), ["Junk Email", "Outbox", "Sent Items"]);
    assert!(rest.body.get("@odata.nextLink").is_none());
    let by_address = app.get_abs(&graph(&app, &format!("users/{email}/mailFolders")), &token).await;
    assert_eq!(by_address.body["value"].as_array().unwrap().len(), 8);

    // A well-known name in any case is the folder; its parent is the mailbox's root.
    let inbox = app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/Inbox")), &token).await;
    inbox.expect(200);
    let inbox_id = inbox.body["id"].as_str().unwrap().to_owned();
    assert_eq!(inbox.body["displayName"], "Inbox");
    assert_eq!(
        (
            inbox.body["childFolderCount"].as_u64(),
            inbox.body["totalItemCount"].as_u64(),
            inbox.body["isHidden"].as_bool()
        ),
        (Some(0), Some(0), Some(false))
    );
    assert!(inbox.body.get("wellKnownName").is_none(), "v1.0 has no wellKnownName");
    let root = app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/msgfolderroot")), &token).await;
    assert_eq!(inbox.body["parentFolderId"], root.body["id"]);
    assert_eq!(root.body["childFolderCount"], 8);
    let beta = app.get_abs(&format!("{}/beta/users/{user}/mailFolders/inbox", app.origin), &token).await;
    assert_eq!(
        (beta.body["id"].as_str(), beta.body["wellKnownName"].as_str()),
        (Some(inbox_id.as_str()), Some("inbox"))
    );

    // Folders in folders: created (201), counted, listed, reached by their chain.
    let projects = app
        .post_abs(
            &graph(&app, &format!("users/{user}/mailFolders/inbox/childFolders")),
            &token,
            &json!({"displayName": "Projects"}),
        )
        .await;
    projects.expect(201);
    let projects_id = projects.body["id"].as_str().unwrap().to_owned();
    assert_eq!(projects.body["parentFolderId"], inbox_id.as_str());
    let q1 = app
        .post_abs(
            &graph(&app, &format!("users/{user}/mailFolders/{projects_id}/childFolders")),
            &token,
            &json!({"displayName": "Q1: plans?"}),
        )
        .await;
    q1.expect(201);
    let q1_id = q1.body["id"].as_str().unwrap().to_owned();
    let hidden = app
        .post_abs(
            &graph(&app, &format!("users/{user}/mailFolders/{projects_id}/childFolders")),
            &token,
            &json!({"displayName": "Hidden", "isHidden": true}),
        )
        .await;
    hidden.expect(201);
    assert_eq!(hidden.body["isHidden"], true);
    let inbox = app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/inbox")), &token).await;
    assert_eq!(inbox.body["childFolderCount"], 1);
    let children = app
        .get_abs(
            &graph(&app, &format!("users/{user}/mailFolders/inbox/childFolders/{projects_id}/childFolders")),
            &token,
        )
        .await;
    assert_eq!(names(&children.body), ["Q1: plans?"], "hidden folders are left out");
    let with_hidden = app
        .get_abs(
            &graph(&app, &format!("users/{user}/mailFolders/{projects_id}/childFolders?includeHiddenFolders=true")),
            &token,
        )
        .await;
    assert_eq!(names(&with_hidden.body), ["Hidden", "Q1: plans?"]);
    let selected =
        app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/{projects_id}?$select=displayName")), &token).await;
    assert_eq!(selected.body["displayName"], "Projects");
    assert_eq!(selected.body["childFolderCount"], Value::Null, "only what $select names: {:?}", selected.body);

    // A sibling of the same name, in any case, is refused; a chain that is not a chain is not found.
    app.post_abs(
        &graph(&app, &format!("users/{user}/mailFolders/inbox/childFolders")),
        &token,
        &json!({"displayName": "projects"}),
    )
    .await
    .expect_error(409, "ErrorFolderExists");
    app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/drafts/childFolders/{q1_id}")), &token)
        .await
        .expect_error(404, "ErrorItemNotFound");

    // Renamed, then deleted with what it holds; well-known folders stay.
    let renamed = app
        .patch_abs(
            &graph(&app, &format!("users/{user}/mailFolders/{projects_id}")),
            &token,
            &json!({"displayName": "Work"}),
        )
        .await;
    renamed.expect(200);
    assert_eq!(
        (renamed.body["displayName"].as_str(), renamed.body["id"].as_str()),
        (Some("Work"), Some(projects_id.as_str()))
    );
    let del = app
        .send(Method::DELETE, &graph(&app, &format!("users/{user}/mailFolders/{projects_id}")), Some(&token), None, &[])
        .await;
    del.expect(204);
    app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/{q1_id}")), &token)
        .await
        .expect_error(404, "ErrorItemNotFound");
    assert_eq!(
        app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/inbox")), &token).await.body["childFolderCount"],
        0
    );
    app.send(Method::DELETE, &graph(&app, &format!("users/{user}/mailFolders/inbox")), Some(&token), None, &[])
        .await
        .expect_error(400, "ErrorDeleteDistinguishedFolder");
}

#[tokio::test]
async fn mail_requests_are_refused_as_exchange_refuses_them() {
    let (app, token, user, _) = mailbox().await;
    app.get_abs(&graph(&app, "users/nobody@example.com/mailFolders"), &token)
        .await
        .expect_error(404, "ErrorInvalidUser");
    app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/no-such-folder")), &token)
        .await
        .expect_error(404, "ErrorItemNotFound");
    let folders = graph(&app, &format!("users/{user}/mailFolders"));
    app.post_abs(&folders, &token, &json!({})).await.expect_error(400, "ErrorInvalidRequest");
    app.post_abs(&folders, &token, &json!({"displayName": "  "})).await.expect_error(400, "ErrorInvalidRequest");
    app.post_abs(&folders, &token, &json!({"displayName": "a\u{0}b"})).await.expect_error(400, "ErrorInvalidRequest");
    app.post_abs(&folders, &token, &json!({"displayName": 7})).await.expect_error(400, "BadRequest");
    app.post_abs(&folders, &token, &json!({"displayName": "A", "color": "red"})).await.expect_error(400, "BadRequest");
    app.get_abs(&format!("{folders}?$filter=displayName eq 'Inbox'"), &token).await.expect_error(501, "notImplemented");
    for unserved in ["messages/m1/forward", "mailFolders/delta"] {
        app.get_abs(&graph(&app, &format!("users/{user}/{unserved}")), &token)
            .await
            .expect_error(501, "notImplemented");
    }
    app.get_abs(&graph(&app, &format!("users/{user}/messages/nope")), &token)
        .await
        .expect_error(404, "ErrorItemNotFound");
    app.get_abs(&graph(&app, &format!("users/{user}/messages?$expand=attachments")), &token)
        .await
        .expect_error(501, "notImplemented");
    app.send(Method::PUT, &folders, Some(&token), Some(&json!({})), &[]).await.expect_error(405, "MethodNotAllowed");
    // NUL characters, which PostgreSQL cannot keep in text, are taken out of what is listed.
    let nul = app
        .post_abs(
            &graph(&app, &format!("users/{user}/messages")),
            &token,
            &json!({"subject": "a\u{0}b", "categories": ["x\u{0}"]}),
        )
        .await;
    nul.expect(201);
    assert_eq!((nul.body["subject"].as_str(), nul.body["categories"][0].as_str()), (Some("ab"), Some("x")));

    // Mail.Read reads and does not write; a token without mail permissions does neither.
    let read = app.token_for(TENANT, &["Mail.Read"], None, 3600);
    app.get_abs(&folders, &read).await.expect(200);
    app.post_abs(&folders, &read, &json!({"displayName": "A"})).await.expect_error(403, "accessDenied");
    let files = app.token_for(TENANT, &["Files.ReadWrite.All"], None, 3600);
    app.get_abs(&folders, &files).await.expect_error(403, "accessDenied");

    // Another tenant does not see this tenant's users.
    let (other, _) = (app.token(OTHER_TENANT), ());
    app.get_abs(&folders, &other).await.expect_error(404, "ErrorInvalidUser");
}

#[tokio::test]
async fn a_mailbox_units_restore_points_hold_its_folder_tree() {
    let (app, token, user, _) = mailbox().await;
    app.post_abs(&graph(&app, &format!("users/{user}/mailFolders")), &token, &json!({"displayName": "Kept"}))
        .await
        .expect(201);
    let kept = app
        .post_abs(
            &graph(&app, &format!("users/{user}/mailFolders/inbox/messages")),
            &token,
            &json!({"subject": "Kept too", "isRead": false, "categories": ["Red"]}),
        )
        .await;
    kept.expect(201);
    let store = app.store();
    let content = app.content();

    // The engine snapshots the mailbox's tree before its retention pass; the points added from then
    // on hold it, as a drive's do.
    app.engine(backstore_engine::EngineConfig::default()).with_content(content.clone()).retention().await;
    app.advance_clock(&token, "25m").await;
    let mailbox = store.mailbox(TENANT, &user).await.unwrap().expect("made on first use");
    let root = mailbox.last_root.expect("snapshotted");
    let roots = store.content_roots(TENANT).await.unwrap();
    let holders = &roots.iter().find(|(r, _)| *r == root).expect("the mailbox's root is kept").1;
    assert!(holders.iter().any(|h| !h.starts_with("drive:")), "restore points hold the mailbox's tree: {roots:?}");
    let tree = content.read_tree(TENANT, &root).await.unwrap();
    let mut names: Vec<&str> = tree.entries.iter().map(|e| e.name.as_str()).collect();
    names.sort();
    assert_eq!(names.len(), 9, "{names:?}");
    assert!(names.contains(&"Kept") && names.contains(&"Inbox"), "{names:?}");
    // The inbox's manifest holds the message: its MIME and the state a restore brings back.
    let inbox = tree.entries.iter().find(|e| e.name == "Inbox").unwrap();
    let inbox_tree = content.read_tree(TENANT, inbox.tree.as_ref().unwrap()).await.unwrap();
    let message = &inbox_tree.entries[0];
    assert_eq!(message.id, kept.body["id"].as_str().unwrap());
    assert!(!message.chunks.is_empty());
    assert_eq!(message.props.get("isRead").map(String::as_str), Some("false"));
    assert_eq!(message.props.get("categories").map(String::as_str), Some("[\"Red\"]"));
    assert_eq!(message.props.get("subject").map(String::as_str), Some("Kept too"));

    // The drives of the file paths do not include a mailbox.
    app.get_abs(&graph(&app, &format!("drives/{}", mailbox.drive_id)), &token).await.expect_error(404, "itemNotFound");
}

/// The bytes of the tenant's packs on disk.
fn packed_bytes(app: &TestApp) -> u64 {
    fn walk(dir: &std::path::Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        entries
            .flatten()
            .map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
            .sum()
    }
    walk(&app.data_dir().join("blobs/packs").join(TENANT))
}

/// A MIME message with an attachment, as a backup tool would import it.
const MIME: &str = "From: Ann Lee <ann@contoso.com>\r\nTo: Bob <bob@contoso.com>\r\nSubject: Quarterly plan\r\n\
    Date: Sun, 28 Feb 2021 07:15:00 +0000\r\nMessage-ID: <plan-1@contoso.com>\r\nMIME-Version: 1.0\r\n\
    Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n\
    Hello Bob,\r\nthe plan is attached.\r\n--b1\r\nContent-Type: application/pdf\r\n\
    Content-Disposition: attachment; filename=plan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n\
    JVBERi0xLjQK\r\n--b1--\r\n";

#[tokio::test]
async fn messages_are_created_read_changed_moved_and_deleted() {
    use base64::Engine as _;
    let (app, token, user, _) = mailbox().await;
    let base = graph(&app, &format!("users/{user}"));

    // From JSON, with the flags a restore tool sets: read and sent, so not a draft.
    let sent = app
        .post_abs(
            &format!("{base}/mailFolders/inbox/messages"),
            &token,
            &json!({
                "subject": "Lunch on Friday?",
                "body": {"contentType": "html", "content": "<p>Shall we try the <b>new</b> place?</p>"},
                "from": {"emailAddress": {"name": "Carl", "address": "carl@contoso.com"}},
                "toRecipients": [{"emailAddress": {"address": "bob@contoso.com"}}],
                "categories": ["Social"],
                "singleValueExtendedProperties": [
                    {"id": "Integer 0x0E07", "value": "1"},
                    {"id": "SystemTime 0x0E06", "value": "2026-11-20T12:00:00Z"}
                ]
            }),
        )
        .await;
    sent.expect(201);
    let sent_id = sent.body["id"].as_str().unwrap().to_owned();
    assert_eq!((sent.body["isDraft"].as_bool(), sent.body["isRead"].as_bool()), (Some(false), Some(true)));
    assert_eq!(sent.body["receivedDateTime"], "2026-11-20T12:00:00Z");
    assert_eq!(sent.body["body"]["contentType"], "html");
    assert_eq!(sent.body["bodyPreview"], "Shall we try the new place?");
    assert_eq!(sent.body["from"]["emailAddress"]["address"], "carl@contoso.com");
    assert_eq!(sent.body["@odata.etag"], format!("W/\"{}\"", sent.body["changeKey"].as_str().unwrap()).as_str());
    let generated = app.get_abs(&format!("{base}/messages/{sent_id}/$value"), &token).await;
    generated.expect(200);

    // From MIME (base64 text/plain, to Drafts): a draft, derived as Graph derives it; `$value` gives
    // back the very bytes.
    let b64 = base64::engine::general_purpose::STANDARD.encode(MIME);
    let imported =
        app.raw(Method::POST, &format!("{base}/messages"), &token, Some("text/plain"), b64.into_bytes()).await;
    imported.expect(201);
    let id = imported.body["id"].as_str().unwrap().to_owned();
    assert_eq!(imported.body["isDraft"], true);
    assert_eq!(imported.body["hasAttachments"], true);
    assert_eq!(imported.body["sentDateTime"], "2021-02-28T07:15:00Z");
    assert_eq!(imported.body["internetMessageId"], "<plan-1@contoso.com>");
    let drafts = app.get_abs(&format!("{base}/mailFolders/drafts"), &token).await;
    assert_eq!(imported.body["parentFolderId"], drafts.body["id"]);
    let raw = app.client.get(format!("{base}/messages/{id}/$value")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.bytes().await.unwrap().as_ref(), MIME.as_bytes(), "the MIME byte for byte");
    app.raw(Method::POST, &format!("{base}/messages"), &token, Some("text/plain"), b"not base64!".to_vec())
        .await
        .expect_error(400, "ErrorMimeContentInvalidBase64String");

    // Read with the body as text when asked.
    let text = app
        .send(
            Method::GET,
            &format!("{base}/messages/{sent_id}"),
            Some(&token),
            None,
            &[("prefer", "outlook.body-content-type=\"text\"")],
        )
        .await;
    assert_eq!(text.body["body"]["contentType"], "text");
    assert!(text.body["body"]["content"].as_str().unwrap().contains("new place"), "{:?}", text.body["body"]);
    assert_eq!(text.header("preference-applied"), Some("outlook.body-content-type=\"text\""));

    // Lists: the whole mailbox newest first, filtered, selected, paged.
    let all = app.get_abs(&format!("{base}/messages?$select=subject,receivedDateTime"), &token).await;
    all.expect(200);
    let subjects: Vec<&str> =
        all.body["value"].as_array().unwrap().iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Quarterly plan", "Lunch on Friday?"], "newest received first");
    assert!(all.body["value"][0].get("body").is_none(), "{:?}", all.body["value"][0]);
    let paged = app.get_abs(&format!("{base}/messages?$top=1"), &token).await;
    let next = paged.body["@odata.nextLink"].as_str().expect("a next page").to_owned();
    assert_eq!(app.get_abs(&next, &token).await.body["value"][0]["id"], sent_id.as_str());
    let filtered = app
        .get_abs(
            &format!(
                "{base}/messages?$filter=hasAttachments eq true and from/emailAddress/address eq 'ann@contoso.com'"
            ),
            &token,
        )
        .await;
    filtered.expect(200);
    assert_eq!(filtered.body["value"].as_array().unwrap().len(), 1);
    let in_inbox = app.get_abs(&format!("{base}/mailFolders/inbox/messages"), &token).await;
    assert_eq!(in_inbox.body["value"].as_array().unwrap().len(), 1);
    app.get_abs(&format!("{base}/messages?$filter=bogus eq 1"), &token).await.expect(400);

    // Changed: unread, flagged; the folder counts it.
    let changed = app
        .patch_abs(
            &format!("{base}/messages/{sent_id}"),
            &token,
            &json!({"isRead": false, "flag": {"flagStatus": "flagged"}}),
        )
        .await;
    changed.expect(200);
    assert_eq!(
        (changed.body["isRead"].as_bool(), changed.body["flag"]["flagStatus"].as_str()),
        (Some(false), Some("flagged"))
    );
    assert_ne!(changed.body["changeKey"], sent.body["changeKey"]);
    let inbox = app.get_abs(&format!("{base}/mailFolders/inbox"), &token).await;
    assert_eq!((inbox.body["totalItemCount"].as_u64(), inbox.body["unreadItemCount"].as_u64()), (Some(1), Some(1)));
    let unread = app.get_abs(&format!("{base}/messages?$filter=isRead eq false"), &token).await;
    assert_eq!(unread.body["value"].as_array().unwrap().len(), 1);
    app.patch_abs(&format!("{base}/messages/{sent_id}"), &token, &json!({"subject": "x"}))
        .await
        .expect_error(400, "ErrorInvalidPropertyUpdateSentMessage");
    app.patch_abs(&format!("{base}/messages/{sent_id}"), &token, &json!({"isRead": "no"}))
        .await
        .expect_error(400, "BadRequest");

    // Moved to the archive (201, as Graph), then deleted.
    let moved =
        app.post_abs(&format!("{base}/messages/{sent_id}/move"), &token, &json!({"destinationId": "archive"})).await;
    moved.expect(201);
    let archive = app.get_abs(&format!("{base}/mailFolders/archive"), &token).await;
    assert_eq!(moved.body["parentFolderId"], archive.body["id"]);
    assert_eq!(archive.body["totalItemCount"], 1);
    app.get_abs(&format!("{base}/mailFolders/inbox/messages/{sent_id}"), &token)
        .await
        .expect_error(404, "ErrorItemNotFound");
    let del = app.send(Method::DELETE, &format!("{base}/messages/{sent_id}"), Some(&token), None, &[]).await;
    del.expect(204);
    app.get_abs(&format!("{base}/messages/{sent_id}"), &token).await.expect_error(404, "ErrorItemNotFound");
    assert_eq!(app.get_abs(&format!("{base}/mailFolders/archive"), &token).await.body["totalItemCount"], 0);
}

#[tokio::test]
async fn attachments_are_listed_read_and_kept_once_across_messages() {
    use base64::Engine as _;
    let (app, token, user, _) = mailbox().await;
    let base = graph(&app, &format!("users/{user}"));
    // A 600 KB attachment (more than a chunk) in three messages: the content store keeps its
    // chunks once.
    let report: Vec<u8> = (0..600_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&report);
    let before = packed_bytes(&app);
    let mut ids = Vec::new();
    for n in 0..3 {
        let made = app
            .post_abs(
                &format!("{base}/mailFolders/inbox/messages"),
                &token,
                &json!({
                    "subject": format!("Report {n}"),
                    "body": {"contentType": "text", "content": "See the report."},
                    "attachments": [
                        {"@odata.type": "#microsoft.graph.fileAttachment", "name": "report.bin",
                         "contentType": "application/octet-stream", "contentBytes": b64},
                        {"@odata.type": "#microsoft.graph.fileAttachment", "name": "logo.png", "contentType": "image/png",
                         "contentBytes": "iVBORw0KGgo=", "isInline": true, "contentId": "logo"}
                    ]
                }),
            )
            .await;
        made.expect(201);
        assert_eq!(made.body["hasAttachments"], true);
        ids.push(made.body["id"].as_str().unwrap().to_owned());
    }
    let added = packed_bytes(&app) - before;
    assert!(added < 2 * report.len() as u64, "the attachment is stored about once, not three times: {added} bytes");

    let list = app.get_abs(&format!("{base}/messages/{}/attachments", ids[1]), &token).await;
    list.expect(200);
    let items = list.body["value"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["@odata.type"], "#microsoft.graph.fileAttachment");
    assert_eq!((items[0]["name"].as_str(), items[0]["size"].as_u64()), (Some("report.bin"), Some(600_000)));
    assert_eq!(items[0]["contentBytes"], b64.as_str());
    assert_eq!((items[1]["isInline"].as_bool(), items[1]["contentId"].as_str()), (Some(true), Some("logo")));
    let one = app
        .get_abs(&format!("{base}/messages/{}/attachments/{}", ids[1], items[1]["id"].as_str().unwrap()), &token)
        .await;
    assert_eq!(one.body["name"], "logo.png");
    let raw = app
        .client
        .get(format!("{base}/messages/{}/attachments/{}/$value", ids[2], items[0]["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.headers()["content-type"], "application/octet-stream");
    assert_eq!(raw.bytes().await.unwrap().as_ref(), report.as_slice());
    app.get_abs(&format!("{base}/messages/{}/attachments/nope", ids[0]), &token)
        .await
        .expect_error(404, "ErrorItemNotFound");
    app.post_abs(
        &format!("{base}/messages"),
        &token,
        &json!({"subject": "x", "attachments": [{"name": "a.txt", "contentBytes": "YQ=="}]}),
    )
    .await
    .expect_error(400, "BadRequest");
}

#[tokio::test]
async fn a_folder_delta_enumerates_then_reports_changes_and_removals() {
    let (app, token, user, _) = mailbox().await;
    let base = graph(&app, &format!("users/{user}"));
    let folder = app.post_abs(&format!("{base}/mailFolders"), &token, &json!({"displayName": "Sync"})).await;
    let f = folder.body["id"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for n in 0..3 {
        let m = app
            .post_abs(&format!("{base}/mailFolders/{f}/messages"), &token, &json!({"subject": format!("m{n}")}))
            .await;
        ids.push(m.body["id"].as_str().unwrap().to_owned());
    }

    // The first round lists what is there, two to a page.
    let (first, delta_link) = crate::files::follow_delta(
        &app,
        &token,
        format!("{base}/mailFolders/{f}/messages/delta?$select=subject&$top=2"),
    )
    .await;
    let mut subjects: Vec<&str> = first.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    subjects.sort();
    assert_eq!(subjects, ["m0", "m1", "m2"]);
    assert!(first.iter().all(|m| m["@odata.type"] == "#microsoft.graph.message" && m.get("body").is_none()));
    assert!(delta_link.contains("$deltatoken=") && delta_link.contains("$select=subject"), "{delta_link}");
    let (none, delta_link) = crate::files::follow_delta(&app, &token, delta_link).await;
    assert!(none.is_empty(), "{none:?}");

    // Changes: one read, one deleted, one moved out, one new.
    app.patch_abs(&format!("{base}/messages/{}", ids[0]), &token, &json!({"isRead": false})).await.expect(200);
    app.send(Method::DELETE, &format!("{base}/messages/{}", ids[1]), Some(&token), None, &[]).await.expect(204);
    app.post_abs(&format!("{base}/messages/{}/move", ids[2]), &token, &json!({"destinationId": "archive"}))
        .await
        .expect(201);
    let new = app.post_abs(&format!("{base}/mailFolders/{f}/messages"), &token, &json!({"subject": "m3"})).await;
    let (changes, again) = crate::files::follow_delta(&app, &token, delta_link).await;
    let removed: Vec<&str> =
        changes.iter().filter(|c| c.get("@removed").is_some()).map(|c| c["id"].as_str().unwrap()).collect();
    let changed: Vec<&str> =
        changes.iter().filter(|c| c.get("@removed").is_none()).map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(changed, [ids[0].as_str(), new.body["id"].as_str().unwrap()], "{changes:?}");
    let mut removed = removed;
    removed.sort();
    let mut expected = vec![ids[1].as_str(), ids[2].as_str()];
    expected.sort();
    assert_eq!(removed, expected, "{changes:?}");
    assert!(changes.iter().filter(|c| c.get("@removed").is_some()).all(|c| c["@removed"]["reason"] == "deleted"));
    let (none, _) = crate::files::follow_delta(&app, &token, again).await;
    assert!(none.is_empty(), "{none:?}");

    // A token not of this folder starts over; one elsewhere is not served.
    app.get_abs(&format!("{base}/mailFolders/inbox/messages/delta?$deltatoken=bogus"), &token)
        .await
        .expect_error(410, "resyncRequired");
    app.get_abs(&format!("{base}/mailFolders/{f}/messages?$deltatoken=x"), &token)
        .await
        .expect_error(501, "notImplemented");
    app.get_abs(&format!("{base}/messages/delta"), &token).await.expect_error(400, "BadRequest");
}
