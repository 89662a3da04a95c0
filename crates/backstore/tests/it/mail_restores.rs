//! Mailbox restores that write mail, over HTTP (SQLite here, PostgreSQL in `it_pg`): a mailbox
//! changed after a restore point (a message deleted, one marked read and flagged, one moved, a
//! folder deleted, a draft deleted, a message added) is restored in place and to a new "Restored
//! Items" folder, and what Graph's mail paths then serve is compared message by message (folder
//! path, subject, state, MIME bytes) with what was there at the point. Drafts are not restored;
//! mail that came after the point stays; each restore's proof says it wrote what the point holds.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::mail::{graph, mailbox};
use crate::restores::restore_in;
use crate::support::*;

/// Every folder (as `folder`) and message (its state and MIME) below `start`, by folder path and
/// subject.
async fn mail_of(app: &TestApp, token: &str, user: &str, start: &str) -> BTreeMap<String, String> {
    let base = graph(app, &format!("users/{user}"));
    let mut out = BTreeMap::new();
    let mut folders = vec![(String::new(), start.to_owned())];
    while let Some((prefix, folder)) = folders.pop() {
        let children = app.get_abs(&format!("{base}/mailFolders/{folder}/childFolders?$top=100"), token).await;
        children.expect(200);
        for f in children.body["value"].as_array().unwrap() {
            let at = format!("{prefix}/{}", f["displayName"].as_str().unwrap());
            out.insert(at.clone(), "folder".to_owned());
            folders.push((at, f["id"].as_str().unwrap().to_owned()));
        }
        let messages = app.get_abs(&format!("{base}/mailFolders/{folder}/messages?$top=1000"), token).await;
        messages.expect(200);
        for m in messages.body["value"].as_array().unwrap() {
            let url = format!("{base}/messages/{}/$value", m["id"].as_str().unwrap());
            let mime = app.client.get(url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap();
            let state = format!(
                "read={} flag={} draft={} importance={} {}",
                m["isRead"],
                m["flag"]["flagStatus"],
                m["isDraft"],
                m["importance"],
                String::from_utf8_lossy(&mime)
            );
            out.insert(format!("{prefix} :: {}", m["subject"].as_str().unwrap()), state);
        }
    }
    out
}

/// Stores a message in `folder`, received (or, with `draft`, a draft); its Graph JSON.
async fn message(app: &TestApp, token: &str, user: &str, folder: &str, subject: &str, draft: bool) -> Value {
    let mut body = json!({
        "subject": subject,
        "body": {"contentType": "text", "content": format!("The body of {subject}.")},
        "from": {"emailAddress": {"name": "Ann", "address": "ann@contoso.com"}},
        "toRecipients": [{"emailAddress": {"address": "team@contoso.com"}}],
    });
    if !draft {
        // PidTagMessageFlags: received, unread.
        body["singleValueExtendedProperties"] = json!([{"id": "Integer 0x0E07", "value": "0"}]);
    }
    let made = app.post_abs(&graph(app, &format!("users/{user}/mailFolders/{folder}/messages")), token, &body).await;
    made.expect(201);
    made.body
}

#[tokio::test]
async fn a_mailbox_is_restored_in_place_and_to_a_restored_items_folder_as_it_was_at_the_point() {
    let (app, token, user, _) = mailbox().await;
    let base = graph(&app, &format!("users/{user}"));
    let projects = app
        .post_abs(&format!("{base}/mailFolders/inbox/childFolders"), &token, &json!({"displayName": "Projects"}))
        .await;
    projects.expect(201);
    let projects_id = projects.body["id"].as_str().unwrap().to_owned();
    let gone = message(&app, &token, &user, "inbox", "Deleted later", false).await;
    let flagged = message(&app, &token, &user, "inbox", "Flagged later", false).await;
    let moved = message(&app, &token, &user, &projects_id, "Moved later", false).await;
    let draft = message(&app, &token, &user, "drafts", "A draft", true).await;
    assert_eq!((draft["isDraft"].as_bool(), gone["isDraft"].as_bool()), (Some(true), Some(false)));
    let at_point = mail_of(&app, &token, &user, "msgfolderroot").await;
    assert_eq!(at_point.len(), 9 + 4, "{at_point:#?}");

    // The engine snapshots the mailbox; the restore points taken from then on hold its tree.
    let mailbox_drive = app.store().mailbox(TENANT, &user).await.unwrap().unwrap().drive_id;
    let (root, point) = app.point_holding(&token, &mailbox_drive).await;

    // Everything changes: a deletion, new state, a move, a folder deleted, a draft deleted, new mail.
    let id = |m: &Value| m["id"].as_str().unwrap().to_owned();
    for m in [&gone, &draft] {
        app.send(Method::DELETE, &format!("{base}/messages/{}", id(m)), Some(&token), None, &[]).await.expect(204);
    }
    let state = json!({"isRead": true, "importance": "high", "flag": {"flagStatus": "flagged"}});
    app.patch_abs(&format!("{base}/messages/{}", id(&flagged)), &token, &state).await.expect(200);
    let to_inbox = json!({"destinationId": "inbox"});
    app.post_abs(&format!("{base}/messages/{}/move", id(&moved)), &token, &to_inbox).await.expect(201);
    app.send(Method::DELETE, &format!("{base}/mailFolders/{projects_id}"), Some(&token), None, &[]).await.expect(204);
    message(&app, &token, &user, "inbox", "Arrived after the point", false).await;
    let changed = mail_of(&app, &token, &user, "msgfolderroot").await;
    assert_ne!(changed, at_point);

    // In place: the point's mail is back as it was, under its own ids; the new mail stays, the
    // deleted draft does not come back.
    let (session, artifact) =
        restore_in(&app, &token, "exchangeRestoreSessions", "mailboxRestoreArtifacts", &point, "inPlace").await;
    assert_eq!(artifact["restoredItemCount"], 3, "{artifact}");
    let mut expected = at_point.clone();
    expected.remove("/Drafts :: A draft");
    let after = mail_of(&app, &token, &user, "msgfolderroot").await;
    let arrived = after.get("/Inbox :: Arrived after the point").expect("later mail is kept").clone();
    expected.insert("/Inbox :: Arrived after the point".into(), arrived);
    assert_eq!(after, expected);
    app.get_abs(&format!("{base}/messages/{}", id(&gone)), &token).await.expect(200);
    let folder = app.get_abs(&format!("{base}/mailFolders/{projects_id}"), &token).await;
    assert_eq!(
        (folder.body["totalItemCount"].as_u64(), folder.body["displayName"].as_str()),
        (Some(1), Some("Projects"))
    );
    let proofs = app.store().restore_proofs(TENANT, &session).await.unwrap();
    let proof = &proofs[0];
    assert!(proof.matches() && proof.point_digest.is_some(), "{proof:?}");
    assert_eq!(proof.point_root, root.to_hex());
    // Written: the folder, the deleted message, the changed one, the moved one; nothing removed.
    assert_eq!((proof.items_written, proof.items_removed), (4, 0), "{proof:?}");
    assert!(proof.replaced_root.is_some(), "in place keeps what it replaced");
    // Run again, it finds everything in place and writes nothing.
    let (again, _) =
        restore_in(&app, &token, "exchangeRestoreSessions", "mailboxRestoreArtifacts", &point, "inPlace").await;
    let proof = &app.store().restore_proofs(TENANT, &again).await.unwrap()[0];
    assert!(proof.matches() && proof.items_written == 0, "{proof:?}");

    // To a new folder: "Restored Items …" below the root holds the point's folders and messages
    // (not its drafts), under ids of their own.
    let (session, artifact) =
        restore_in(&app, &token, "exchangeRestoreSessions", "mailboxRestoreArtifacts", &point, "new").await;
    let name = artifact["restoredFolderName"].as_str().unwrap().to_owned();
    assert!(name.starts_with("Restored Items 20"), "{artifact}");
    assert_eq!(artifact["restoredItemCount"], 3, "{artifact}");
    let folder_id = artifact["restoredFolderId"].as_str().unwrap().to_owned();
    let made = app.get_abs(&format!("{base}/mailFolders/{folder_id}"), &token).await;
    made.expect(200);
    assert_eq!(made.body["displayName"], name.as_str());
    let root_folder = app.get_abs(&format!("{base}/mailFolders/msgfolderroot"), &token).await;
    assert_eq!(made.body["parentFolderId"], root_folder.body["id"]);
    let mut expected = at_point.clone();
    expected.remove("/Drafts :: A draft");
    assert_eq!(mail_of(&app, &token, &user, &folder_id).await, expected);
    let proof = &app.store().restore_proofs(TENANT, &session).await.unwrap()[0];
    assert!(proof.matches() && proof.replaced_root.is_none(), "{proof:?}");
    assert_eq!(proof.items_written, 8 + 1 + 3, "{proof:?}");

    // A second `new` restore in the same minute gets a name of its own.
    let (_, second) =
        restore_in(&app, &token, "exchangeRestoreSessions", "mailboxRestoreArtifacts", &point, "new").await;
    assert_eq!(second["restoredFolderName"], format!("{name} (2)").as_str(), "{second}");

    // A deleted folder whose name another folder took since: its mail goes into that folder.
    app.send(Method::DELETE, &format!("{base}/mailFolders/{projects_id}"), Some(&token), None, &[]).await.expect(204);
    let successor = app
        .post_abs(&format!("{base}/mailFolders/inbox/childFolders"), &token, &json!({"displayName": "projects"}))
        .await;
    successor.expect(201);
    let successor_id = successor.body["id"].as_str().unwrap().to_owned();
    restore_in(&app, &token, "exchangeRestoreSessions", "mailboxRestoreArtifacts", &point, "inPlace").await;
    app.get_abs(&format!("{base}/mailFolders/{projects_id}"), &token).await.expect_error(404, "ErrorItemNotFound");
    let inside = app.get_abs(&format!("{base}/mailFolders/{successor_id}/messages"), &token).await;
    let subjects: Vec<&str> =
        inside.body["value"].as_array().unwrap().iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Moved later"], "{}", inside.body);
    let inbox = app.get_abs(&format!("{base}/mailFolders/inbox/childFolders"), &token).await;
    assert_eq!(inbox.body["value"].as_array().unwrap().len(), 1, "{}", inbox.body);
}

#[tokio::test]
async fn a_restores_progress_is_seen_while_it_runs_and_in_sessions_watch() {
    let (app, token, user, _) = mailbox().await;
    for n in 0..3 {
        message(&app, &token, &user, "inbox", &format!("Message {n}"), false).await;
    }
    message(&app, &token, &user, "drafts", "Not restored", true).await;
    let mailbox_drive = app.store().mailbox(TENANT, &user).await.unwrap().unwrap().drive_id;
    let (_, point) = app.point_holding(&token, &mailbox_drive).await;

    let body = json!({"mailboxRestoreArtifacts": [{"restorePoint": {"id": point}, "destinationType": "new"}]});
    let s = app.post("exchangeRestoreSessions", &token, &body).await;
    s.expect(201);
    let id = s.body["id"].as_str().unwrap().to_owned();
    let progress_url = format!("{}/admin/restoreSessions/{id}/progress", app.origin);
    let before = app.get_abs(&progress_url, &token).await;
    before.expect(200);
    assert_eq!(before.body["value"], json!([]), "nothing runs before activation");
    app.activate(&id, &token).await.expect(200);
    let config = backstore_engine::EngineConfig {
        speed: backstore_engine::RestoreSpeed::Fixed(std::time::Duration::from_millis(1500)),
        ..backstore_engine::EngineConfig::default()
    };
    let engine = app.engine(config).with_content(app.content());
    let running = tokio::spawn(async move { engine.run_until_idle(100).await.unwrap() });

    // While it runs: what it writes in all (the messages and their folders, not the draft), part
    // of it written by the engine's pace, time left.
    let mut seen_running = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !running.is_finished() {
        let p = app.get_abs(&progress_url, &token).await;
        if let Some(a) = p.body["value"].as_array().and_then(|v| v.first()) {
            if a["state"] == "restoring" {
                assert_eq!((a["itemsTotal"].as_u64(), p.body["itemsTotal"].as_u64()), (Some(3 + 8), Some(3 + 8)));
                assert!(a["itemsDone"].as_u64().unwrap() < 11 && a["etaSeconds"].as_u64().unwrap() <= 2, "{a}");
                seen_running = true;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "the restore did not end");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    running.await.unwrap();
    assert!(seen_running, "progress was seen while the restore ran");
    let after = app.get_abs(&progress_url, &token).await;
    let a = &after.body["value"][0];
    assert_eq!(
        (a["state"].as_str(), a["itemsDone"].as_u64(), a["etaSeconds"].as_u64()),
        (Some("written"), Some(11), Some(0))
    );
    assert!(a["bytesDone"].as_u64().unwrap() > 0 && a["bytesDone"] == a["bytesTotal"], "{a}");
    assert!(after.body["bytesPerSecond"].as_u64().unwrap() > 0, "{}", after.body);

    // `sessions watch` shows it beside the artifact counts.
    let args = ["sessions", "watch", "--server", &app.origin, "--token", &token, &id].map(str::to_owned);
    let (ok, out, err) =
        tokio::task::spawn_blocking(move || crate::process::run(&args.iter().map(String::as_str).collect::<Vec<_>>()))
            .await
            .unwrap();
    assert!(ok, "{err}");
    let bytes = a["bytesTotal"].as_u64().unwrap();
    let last = out.lines().last().unwrap();
    let expected =
        format!("{id} exchangeRestoreSession completed 1/1 succeeded=1 items=11/11 bytes={bytes}/{bytes} rate=");
    assert!(last.starts_with(&expected) && last.ends_with(" eta=0s"), "{out}");
}
