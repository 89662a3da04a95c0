//! Mailboxes through Graph's mail paths over HTTP (SQLite here, PostgreSQL in `it_pg`): a seeded
//! user's mailbox with its well-known folders, folders created, nested, renamed and deleted with
//! their counts, paging, permissions and Exchange's errors; and a mailbox's tree in its unit's
//! restore points.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn graph(app: &TestApp, path: &str) -> String {
    format!("{}/v1.0/{path}", app.origin)
}

/// A server with one seeded mailbox, a token of its tenant, and the user's id and address.
async fn mailbox() -> (TestApp, String, String, String) {
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
    app.post_abs(&folders, &token, &json!({"displayName": 7})).await.expect_error(400, "BadRequest");
    app.post_abs(&folders, &token, &json!({"displayName": "A", "color": "red"})).await.expect_error(400, "BadRequest");
    app.get_abs(&format!("{folders}?$filter=displayName eq 'Inbox'"), &token).await.expect_error(501, "notImplemented");
    app.get_abs(&graph(&app, &format!("users/{user}/messages")), &token).await.expect_error(501, "notImplemented");
    app.get_abs(&graph(&app, &format!("users/{user}/mailFolders/inbox/messages")), &token)
        .await
        .expect_error(501, "notImplemented");
    app.send(Method::PUT, &folders, Some(&token), Some(&json!({})), &[]).await.expect_error(405, "MethodNotAllowed");

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

    // The drives of the file paths do not include a mailbox.
    app.get_abs(&graph(&app, &format!("drives/{}", mailbox.drive_id)), &token).await.expect_error(404, "itemNotFound");
}
