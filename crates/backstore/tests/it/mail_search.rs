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
