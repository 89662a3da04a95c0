//! Granular mail search over HTTP (SQLite here, PostgreSQL in `it_pg`): `restorePoints/search` with
//! an `artifactQuery` counts the messages of the mailbox's restore point that match (the point's,
//! not the mailbox's now; drafts aside), in the documented language and beta's structured form,
//! and refuses a query that does not parse with the position where it stops making sense.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::mail::graph;
use crate::support::*;

async fn received(
    app: &TestApp,
    token: &str,
    user: &str,
    subject: &str,
    from: &str,
    to: &str,
    attached: bool,
) -> Value {
    let mut body = json!({
        "subject": subject,
        "body": {"contentType": "text", "content": "hello"},
        "from": {"emailAddress": {"name": "Sender", "address": from}},
        "toRecipients": [{"emailAddress": {"address": to}}],
        "singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": "1"}],
    });
    if attached {
        let bytes = base64::engine::general_purpose::STANDARD.encode(b"attached");
        body["attachments"] = json!([{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a.txt",
                                      "contentType": "text/plain", "contentBytes": bytes}]);
    }
    let made = app.post_abs(&graph(app, &format!("users/{user}/mailFolders/inbox/messages")), token, &body).await;
    made.expect(201);
    made.body
}

#[tokio::test]
async fn a_mailbox_points_mail_is_searched_by_sender_subject_participants_and_attachments() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 0, 1, 0, 1).await;
    let token = app.token(TENANT);
    let unit = seeded.protection_units.iter().find(|u| u.kind == "mailbox").unwrap();
    let user = unit.directory_object_id.clone().unwrap();
    received(&app, &token, &user, "Budget 2027", "ann@contoso.com", "cfo@contoso.com", true).await;
    received(&app, &token, &user, "Budget review", "ann@contoso.com", "team@contoso.com", false).await;
    received(&app, &token, &user, "Lunch", "bob@fabrikam.com", "ann@contoso.com", false).await;
    let later = received(&app, &token, &user, "Budget late", "ann@contoso.com", "cfo@contoso.com", true).await;
    // The later message is deleted before the point, so the point does not hold it.
    let url = graph(&app, &format!("users/{user}/messages/{}", later["id"].as_str().unwrap()));
    app.send(reqwest::Method::DELETE, &url, Some(&token), None, &[]).await.expect(204);
    app.engine(backstore_engine::EngineConfig::default()).with_content(app.content()).retention().await;
    app.advance_clock(&token, "25m").await;
    // After the point: a new message that matches, which the search must not count.
    received(&app, &token, &user, "Budget after", "ann@contoso.com", "cfo@contoso.com", true).await;

    let period = json!({"startDateTime": "2020-01-01T00:00:00Z"});
    let search = |query: Value| {
        json!({"protectionUnitIds": [unit.id], "protectionTimePeriod": period, "restorePointPreference": "latest",
               "artifactQuery": query})
    };
    let hits = |r: &Resp| r.body["searchResults"][0]["artifactHitCount"].as_i64();
    for (expression, expected) in [
        ("(Sender -like 'ann@contoso.com') -and (HasAttachment -eq 'true')", Some(1)),
        ("(Subject -like 'Budget*')", Some(2)),
        ("(Participants -like 'ann') -or (Subject -eq 'budget 2027')", Some(2)),
        ("(MessageKind -eq 'Email') -and (Sender -like '*fabrikam.com')", Some(1)),
    ] {
        let r = app
            .post(
                "restorePoints/search",
                &token,
                &search(json!({"artifactType": "message", "queryExpression": expression})),
            )
            .await;
        r.expect(200);
        assert_eq!(hits(&r), expected, "{expression}: {}", r.body);
        assert!(r.body["searchResponseId"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(r.body["searchResults"][0]["restorePoint"]["protectionUnit"]["id"], unit.id.as_str());
    }
    // Nothing matches: the unit is among those without a result.
    let none = app
        .post("restorePoints/search", &token, &search(json!({"queryExpression": "(MessageKind -eq 'Calendar')"})))
        .await;
    assert_eq!(
        (none.body["searchResults"].clone(), none.body["noResultProtectionUnitIds"][0].as_str()),
        (json!([]), Some(unit.id.as_str()))
    );
    // Beta's structured form: any of the senders, and any of the subjects.
    let structured = json!({"structuredQueryExpression": {"senders": ["ann@contoso.com", "bob@fabrikam.com"], "subjects": ["*review", "Lunch"], "items": ["email"]}});
    let r = app
        .post_abs(
            &format!("{}/beta/solutions/backupRestore/restorePoints/search", app.origin),
            &token,
            &search(structured),
        )
        .await;
    r.expect(200);
    assert_eq!(hits(&r), Some(2), "{}", r.body);
    // The search is kept with what it matched.
    let id = r.body["searchResponseId"].as_str().unwrap();
    let kept = app.store().search(TENANT, id).await.unwrap().expect("kept");
    assert_eq!((kept.item_ids.len(), kept.protection_unit_id.as_str()), (2, unit.id.as_str()));

    // Refusals say where the query stops making sense.
    let bad = app
        .post(
            "restorePoints/search",
            &token,
            &search(json!({"queryExpression": "(Subject -like 'x') -nand (Sender -eq 'y')"})),
        )
        .await;
    bad.expect_error(400, "InvalidSearchRequest");
    assert!(bad.body["error"]["message"].as_str().unwrap().contains("position 20"), "{}", bad.body);
    let bad = app
        .post(
            "restorePoints/search",
            &token,
            &search(json!({"artifactType": "event", "queryExpression": "(Subject -like 'x')"})),
        )
        .await;
    bad.expect_error(400, "InvalidSearchRequest");
    let bad = app.post("restorePoints/search", &token, &search(json!({"artifactType": "message"}))).await;
    bad.expect_error(400, "InvalidSearchRequest");
}

#[tokio::test]
async fn a_searchs_matches_and_only_those_are_restored_in_place_or_to_recovered_items() {
    let app = TestApp::spawn().await;
    let seeded = app.seed(TENANT, 0, 1, 0, 1).await;
    let token = app.token(TENANT);
    let unit = seeded.protection_units.iter().find(|u| u.kind == "mailbox").unwrap();
    let user = unit.directory_object_id.clone().unwrap();
    let wanted = received(&app, &token, &user, "Contract signed", "ann@contoso.com", "cfo@contoso.com", true).await;
    let other = received(&app, &token, &user, "Lunch", "bob@fabrikam.com", "ann@contoso.com", false).await;
    app.engine(backstore_engine::EngineConfig::default()).with_content(app.content()).retention().await;
    app.advance_clock(&token, "25m").await;
    // Both deleted after the point.
    for m in [&wanted, &other] {
        let url = graph(&app, &format!("users/{user}/messages/{}", m["id"].as_str().unwrap()));
        app.send(reqwest::Method::DELETE, &url, Some(&token), None, &[]).await.expect(204);
    }
    let found = app
        .post(
            "restorePoints/search",
            &token,
            &json!({"protectionUnitIds": [unit.id], "restorePointPreference": "latest",
                    "protectionTimePeriod": {"startDateTime": "2020-01-01T00:00:00Z"},
                    "artifactQuery": {"artifactType": "message", "queryExpression": "(Subject -like 'Contract*')"}}),
        )
        .await;
    found.expect(200);
    let search_id = found.body["searchResponseId"].as_str().unwrap().to_owned();
    let point = found.body["searchResults"][0]["restorePoint"]["id"].as_str().unwrap().to_owned();
    let artifact = |destination: &str| {
        json!({"granularMailboxRestoreArtifacts": [{"@odata.type": "#microsoft.graph.granularMailboxRestoreArtifact",
               "restorePoint": {"id": point}, "destinationType": destination, "searchResponseId": search_id}]})
    };
    let restore = async |destination: &str| -> Value {
        let made = app.post("exchangeRestoreSessions", &token, &artifact(destination)).await;
        made.expect(201);
        let id = made.body["id"].as_str().unwrap().to_owned();
        crate::restores::run_to_completion(&app, &token, "exchangeRestoreSessions", &id).await;
        let listed = app.get(&format!("exchangeRestoreSessions/{id}/granularMailboxRestoreArtifacts"), &token).await;
        let a = listed.body["value"][0].clone();
        assert_eq!(
            (a["status"].as_str(), a["searchResponseId"].as_str()),
            (Some("succeeded"), Some(search_id.as_str()))
        );
        let standard = app.get(&format!("exchangeRestoreSessions/{id}/mailboxRestoreArtifacts"), &token).await;
        assert_eq!(standard.body["value"], json!([]));
        assert!(app.store().restore_proofs(TENANT, &id).await.unwrap()[0].matches());
        a
    };
    // In place: the matched message is back in the inbox under its id; the other stays deleted.
    let a = restore("inPlace").await;
    assert_eq!(a["restoredItemCount"], 1, "{a}");
    let back =
        app.get_abs(&graph(&app, &format!("users/{user}/messages/{}", wanted["id"].as_str().unwrap())), &token).await;
    back.expect(200);
    assert_eq!(back.body["subject"], "Contract signed");
    let gone =
        app.get_abs(&graph(&app, &format!("users/{user}/messages/{}", other["id"].as_str().unwrap())), &token).await;
    gone.expect(404);
    // New: a "Recovered Items" folder holding the inbox with that one message.
    let a = restore("new").await;
    assert!(a["restoredFolderName"].as_str().unwrap().starts_with("Recovered Items 20"), "{a}");
    let folder = a["restoredFolderId"].as_str().unwrap();
    let base = graph(&app, &format!("users/{user}"));
    let children = app.get_abs(&format!("{base}/mailFolders/{folder}/childFolders"), &token).await;
    let inbox = &children.body["value"][0];
    assert_eq!((children.body["value"].as_array().unwrap().len(), inbox["displayName"].as_str()), (1, Some("Inbox")));
    let messages = app.get_abs(&format!("{base}/mailFolders/{}/messages", inbox["id"].as_str().unwrap()), &token).await;
    let subjects: Vec<&str> =
        messages.body["value"].as_array().unwrap().iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Contract signed"]);

    // A search that does not exist, or made over another point, is refused.
    let mut unknown = artifact("new");
    unknown["granularMailboxRestoreArtifacts"][0]["searchResponseId"] = json!("nope");
    app.post("exchangeRestoreSessions", &token, &unknown).await.expect_error(404, "SearchResponseNotFound");
    let mut missing = artifact("new");
    missing["granularMailboxRestoreArtifacts"][0].as_object_mut().unwrap().remove("searchResponseId");
    app.post("exchangeRestoreSessions", &token, &missing).await.expect_error(400, "BadRequest");
}
