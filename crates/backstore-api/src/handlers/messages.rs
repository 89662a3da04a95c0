//! Messages of a mailbox through Graph's paths: listed per folder or per mailbox (paging, `$select`,
//! `$filter`, `$orderby`, newest first by default), created from JSON or from MIME (base64
//! `text/plain`, as Graph takes it), read with their body, their MIME (`$value`) byte for byte,
//! changed (a draft's content too, `message_edits.rs`), moved and deleted, their attachments listed,
//! read, added and removed. A message's MIME is its content in the content store.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use backstore_store::sql::drives::DriveRecord;
use backstore_store::sql::mail_messages::{MessageChange, MessageFields, MessageRecord};
use backstore_store::sql::mailboxes::{well_known_id, MailFolderRecord};

use super::items::content;
use super::message_edits::{bare_message_id, not_found, read_mime, rewrite, Attachments, MAX_ATTACHMENT_BYTES};
use super::{keyed_page_of, list_spec_with, project, selected};
use crate::body::messages::{self as body, ContentChange, NewMessage};
use crate::error::ApiError;
use crate::mail_path::MessagePart;
use crate::mime::{self, Body};
use crate::wire::mail::{FileAttachment, Flag, ItemBody, Message, Recipient, MESSAGE_PROPERTIES};
use crate::wire::DateTime;
use crate::{json_response, Ctx};

/// Messages per page when `$top` is absent, as Graph pages them, and the most a page holds.
const MESSAGE_PAGE: i64 = 10;
const MAX_MESSAGE_PAGE: i64 = 1000;

/// The largest MIME a create takes in one request, as Graph (`import` takes any size).
const MAX_MIME_BYTES: usize = 4 * 1024 * 1024;

/// `…/messages`: list (GET) or create (POST) in `folder`, or in the whole mailbox (Drafts, for a create).
pub(super) async fn collection(
    ctx: &Ctx,
    method: &Method,
    mailbox: &DriveRecord,
    user: &str,
    folder: Option<&MailFolderRecord>,
) -> Result<Response, ApiError> {
    match *method {
        Method::GET => list(ctx, mailbox, user, folder).await,
        Method::POST => {
            let drafts = well_known_id(mailbox, "drafts").expect("drafts is well known");
            create(ctx, mailbox, user, folder.map_or(drafts.as_str(), |f| f.id.as_str())).await
        }
        _ => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
    }
}

/// `…/messages/{id}[/$value|/move]`.
pub(super) async fn one(
    ctx: &Ctx,
    method: &Method,
    mailbox: &DriveRecord,
    user: &str,
    folder: Option<&MailFolderRecord>,
    id: &str,
    part: MessagePart,
) -> Result<Response, ApiError> {
    let m = ctx.store().message(ctx.tenant(), &mailbox.drive_id, id).await?.ok_or(ApiError::MailItemNotFound)?;
    if folder.is_some_and(|f| f.id != m.folder_id) {
        return Err(ApiError::MailItemNotFound);
    }
    let writer = ctx.writer();
    match (part, method.clone()) {
        (MessagePart::Entity, Method::GET) => {
            ctx.query.for_entity()?;
            let context = format!("{}/messages/$entity", metadata(ctx, user));
            let body = render(ctx, &m, true).await?;
            Ok(with_preference(ctx, json_response(StatusCode::OK, &entity(context, body))))
        }
        (MessagePart::Entity, Method::PATCH) => {
            let p = body::patch(&ctx.body)?;
            if let Some(name) = p.content.draft_only().filter(|_| !m.fields.is_draft) {
                return Err(ApiError::MailRefused(
                    "ErrorInvalidPropertyUpdateSentMessage",
                    format!("Update operation is invalid for property '{name}' of a sent message."),
                ));
            }
            let changed = if p.content.is_empty() {
                ctx.store().update_message(writer, &mailbox.drive_id, id, &p.change).await.map_err(not_found)?
            } else {
                rewrite(ctx, mailbox, &m, &p.content, &p.change, Attachments::Keep).await?.0
            };
            let context = format!("{}/messages/$entity", metadata(ctx, user));
            Ok(json_response(StatusCode::OK, &entity(context, render(ctx, &changed, false).await?)))
        }
        (MessagePart::Entity, Method::DELETE) => {
            ctx.store().delete_message(writer, &mailbox.drive_id, id).await.map_err(not_found)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (MessagePart::Entity, _) => Err(ApiError::MethodNotAllowed { allow: "GET, PATCH, DELETE" }),
        (MessagePart::Value, Method::GET) => {
            let bytes = read_mime(ctx, &m).await?;
            let mut r = (StatusCode::OK, bytes).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            Ok(r)
        }
        (MessagePart::Value, _) => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        (MessagePart::Move, Method::POST) => {
            let to = body::destination(&ctx.body)?;
            let to = well_known_id(mailbox, &to).unwrap_or(to);
            let moved = ctx.store().move_message(writer, &mailbox.drive_id, id, &to).await.map_err(not_found)?;
            let context = format!("{}/messages/$entity", metadata(ctx, user));
            Ok(json_response(StatusCode::CREATED, &entity(context, render(ctx, &moved, false).await?)))
        }
        (MessagePart::Move, _) => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        (MessagePart::Attachments, Method::GET) => {
            let all = mime::attachments(&read_mime(ctx, &m).await?);
            let value: Vec<_> = all.iter().map(|a| attachment(&m, a)).collect();
            let context = format!("{}/messages('{}')/attachments", metadata(ctx, user), m.id);
            let body = crate::wire::Collection { context, count: None, value, next_link: None };
            Ok(json_response(StatusCode::OK, &body))
        }
        (MessagePart::Attachments, Method::POST) => {
            let a = body::new_attachment(&ctx.body)?;
            if a.bytes.len() > MAX_ATTACHMENT_BYTES {
                return Err(ApiError::MailTooLarge(format!(
                    "An attachment added in one request must be under {MAX_ATTACHMENT_BYTES} bytes; '{}' has {}. \
                     Larger ones need an attachment upload session.",
                    a.name,
                    a.bytes.len()
                )));
            }
            let none = ContentChange::default();
            let (stored, mime) =
                rewrite(ctx, mailbox, &m, &none, &MessageChange::default(), Attachments::Add(a)).await?;
            let all = mime::attachments(&mime);
            let added =
                all.last().ok_or_else(|| ApiError::Internal("the added attachment is not in the MIME".into()))?;
            let context = format!("{}/messages('{}')/attachments/$entity", metadata(ctx, user), m.id);
            Ok(json_response(
                StatusCode::CREATED,
                &crate::wire::Entity { context, members: attachment(&stored, added) },
            ))
        }
        (MessagePart::Attachments, _) => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
        (MessagePart::Attachment(aid), Method::GET) => {
            ctx.query.for_entity()?;
            let all = mime::attachments(&read_mime(ctx, &m).await?);
            let a = all.iter().find(|a| a.id == aid).ok_or(ApiError::MailItemNotFound)?;
            let context = format!("{}/messages('{}')/attachments/$entity", metadata(ctx, user), m.id);
            Ok(json_response(StatusCode::OK, &crate::wire::Entity { context, members: attachment(&m, a) }))
        }
        (MessagePart::Attachment(aid), Method::DELETE) => {
            let none = ContentChange::default();
            rewrite(ctx, mailbox, &m, &none, &MessageChange::default(), Attachments::Remove(aid)).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (MessagePart::Attachment(_), _) => Err(ApiError::MethodNotAllowed { allow: "GET, DELETE" }),
        (MessagePart::AttachmentValue(aid), Method::GET) => {
            let all = mime::attachments(&read_mime(ctx, &m).await?);
            let a = all.into_iter().find(|a| a.id == aid).ok_or(ApiError::MailItemNotFound)?;
            let mut r = (StatusCode::OK, a.bytes).into_response();
            let ct =
                HeaderValue::from_str(&a.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
            r.headers_mut().insert(header::CONTENT_TYPE, ct);
            Ok(r)
        }
        (MessagePart::AttachmentValue(_), _) => Err(ApiError::MethodNotAllowed { allow: "GET" }),
    }
}

/// The metadata URL of a user's resources, which mail contexts start with.
pub(super) fn metadata(ctx: &Ctx, user: &str) -> String {
    format!("{}/{}/$metadata#users('{}')", ctx.origin, ctx.version.as_str(), user.replace('\'', "''"))
}

fn attachment<'a>(m: &MessageRecord, a: &'a mime::Attachment) -> FileAttachment<'a> {
    FileAttachment {
        odata_type: "#microsoft.graph.fileAttachment",
        media_content_type: &a.content_type,
        id: &a.id,
        last_modified_date_time: DateTime(m.modified_at),
        name: &a.name,
        content_type: &a.content_type,
        size: a.bytes.len(),
        is_inline: a.is_inline,
        content_id: a.content_id.as_deref(),
        content_location: None,
        content_bytes: base64::engine::general_purpose::STANDARD.encode(&a.bytes),
    }
}

fn entity(
    context: String,
    members: serde_json::Map<String, serde_json::Value>,
) -> crate::wire::Entity<serde_json::Map<String, serde_json::Value>> {
    crate::wire::Entity { context, members }
}

/// `Preference-Applied` when the request asked for a body type.
fn with_preference(ctx: &Ctx, mut r: Response) -> Response {
    if let Some(text) = ctx.prefer_text_body {
        let value = if text { "outlook.body-content-type=\"text\"" } else { "outlook.body-content-type=\"html\"" };
        r.headers_mut().insert("preference-applied", HeaderValue::from_static(value));
    }
    r
}

/// A message's members as the request's `$select` keeps them; the MIME is read for the body only
/// when the body is shown. `select` applies the request's `$select` (a write answers whole).
async fn render(
    ctx: &Ctx,
    m: &MessageRecord,
    select: bool,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let picked = if select { selected(ctx, MESSAGE_PROPERTIES, "message")? } else { None };
    let body = match &picked {
        Some(names) if !names.contains(&"body") => None,
        _ => Some(mime::body(&read_mime(ctx, m).await?, ctx.prefer_text_body)),
    };
    Ok(project(crate::wire::members(&wire(m, body.as_ref())), picked.as_deref(), &[]))
}

fn change_key(m: &MessageRecord) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", m.id, m.version))
}

fn wire<'a>(m: &'a MessageRecord, body: Option<&'a Body>) -> Message<'a> {
    let f = &m.fields;
    let key = change_key(m);
    Message {
        etag: format!("W/\"{key}\""),
        id: &m.id,
        created_date_time: DateTime(m.created_at),
        last_modified_date_time: DateTime(m.modified_at),
        change_key: key,
        categories: &f.categories,
        received_date_time: DateTime(f.received_at),
        sent_date_time: DateTime::opt(f.sent_at),
        has_attachments: f.has_attachments,
        internet_message_id: f.internet_message_id.as_deref(),
        subject: &f.subject,
        body_preview: &f.body_preview,
        importance: &f.importance,
        parent_folder_id: &m.folder_id,
        conversation_id: &f.conversation_id,
        is_delivery_receipt_requested: false,
        is_read_receipt_requested: false,
        is_read: f.is_read,
        is_draft: f.is_draft,
        web_link: format!(
            "https://outlook.office365.com/owa/?ItemID={}&exvsurl=1&viewmodel=ReadMessageItem",
            percent_encoding::utf8_percent_encode(&m.id, percent_encoding::NON_ALPHANUMERIC)
        ),
        inference_classification: "focused",
        body: body.map(|b| ItemBody { content_type: b.content_type, content: &b.content }),
        sender: f.from.as_ref().map(Recipient::of),
        from: f.from.as_ref().map(Recipient::of),
        to_recipients: Recipient::all(&f.to),
        cc_recipients: Recipient::all(&f.cc),
        bcc_recipients: Recipient::all(&f.bcc),
        reply_to: Recipient::all(&f.reply_to),
        flag: Flag { flag_status: &f.flag_status },
    }
}

async fn list(
    ctx: &Ctx,
    mailbox: &DriveRecord,
    user: &str,
    folder: Option<&MailFolderRecord>,
) -> Result<Response, ApiError> {
    let size = ctx.query.top.unwrap_or(MESSAGE_PAGE).clamp(1, MAX_MESSAGE_PAGE);
    let spec = list_spec_with(ctx, Some("receivedDateTime desc"), size)?;
    let page = ctx.store().list_messages(ctx.tenant(), &mailbox.drive_id, folder.map(|f| f.id.as_str()), &spec).await?;
    let (rows, next) = keyed_page_of(size, page.rows, |m: &MessageRecord| m.seq);
    let mut value = Vec::with_capacity(rows.len());
    for m in &rows {
        value.push(render(ctx, m, true).await?);
    }
    let context = match folder {
        Some(f) => format!("{}/mailFolders('{}')/messages", metadata(ctx, user), f.id),
        None => format!("{}/messages", metadata(ctx, user)),
    };
    let body = crate::wire::Collection {
        context,
        count: page.count,
        value,
        next_link: next.map(|n| ctx.next_link(n.seq, &n.keys)),
    };
    Ok(with_preference(ctx, json_response(StatusCode::OK, &body)))
}

async fn create(ctx: &Ctx, mailbox: &DriveRecord, user: &str, folder: &str) -> Result<Response, ApiError> {
    let now = ctx.state.inner.clock.now();
    let is_mime = ctx
        .content_type
        .as_deref()
        .is_some_and(|t| t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("text/plain"));
    let (mime_bytes, fields) = if is_mime {
        let text: Vec<u8> = ctx.body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        let mime_bytes = base64::engine::general_purpose::STANDARD.decode(&text).map_err(|_| {
            ApiError::MailRefused(
                "ErrorMimeContentInvalidBase64String",
                "Invalid base64 string for MIME content.".into(),
            )
        })?;
        if mime_bytes.len() > MAX_MIME_BYTES {
            return Err(ApiError::MailTooLarge(format!(
                "A message created from MIME must be at most {MAX_MIME_BYTES} bytes; this one has {}.",
                mime_bytes.len()
            )));
        }
        let derived = mime::derive(&mime_bytes, &mailbox.drive_id, now).ok_or_else(|| {
            ApiError::MailRefused("ErrorMimeContentInvalid", "The MIME content is not a message.".into())
        })?;
        (mime_bytes, derived.fields)
    } else {
        let new = body::new_message(&ctx.body)?;
        from_json(&new, &mailbox.drive_id, now)
    };
    let made = crate::mail_store::put_message(
        content(ctx)?,
        ctx.store(),
        ctx.writer(),
        &mailbox.drive_id,
        folder,
        &mime_bytes,
        &fields,
    )
    .await
    .map_err(|e| match e {
        crate::mail_store::PutError::Store(e) => not_found(e),
        crate::mail_store::PutError::Content(e) => ApiError::Internal(e.to_string()),
    })?;
    let context = format!("{}/messages/$entity", metadata(ctx, user));
    Ok(json_response(StatusCode::CREATED, &entity(context, render(ctx, &made, false).await?)))
}

/// A JSON create's message: its MIME composed, its fields as the JSON and its flags say.
fn from_json(new: &NewMessage, mailbox: &str, now: chrono::DateTime<chrono::Utc>) -> (Vec<u8>, MessageFields) {
    let message_id = match &new.internet_message_id {
        Some(id) => bare_message_id(id),
        None => format!("{}@backstore.local", uuid::Uuid::new_v4().simple()),
    };
    let mut fields = MessageFields {
        subject: new.subject.clone(),
        from: new.from.clone(),
        to: new.to.clone(),
        cc: new.cc.clone(),
        bcc: new.bcc.clone(),
        reply_to: new.reply_to.clone(),
        received_at: new.delivered.unwrap_or(now),
        sent_at: new.submitted.or((!new.is_draft()).then_some(new.delivered.unwrap_or(now))),
        has_attachments: new.attachments.iter().any(|a| !a.is_inline),
        is_read: new.is_read(),
        is_draft: new.is_draft(),
        importance: new.importance.clone(),
        categories: new.categories.clone(),
        flag_status: new.flag_status.clone(),
        internet_message_id: Some(format!("<{message_id}>")),
        conversation_id: mime::conversation_id(mailbox, &new.subject),
        body_preview: String::new(),
    };
    let mime_bytes = mime::compose_fields(&fields, &new.body, &message_id, &new.attachments);
    fields.body_preview = mime::body_preview(&new.body, &mime_bytes);
    (mime_bytes, fields)
}

/// Where a folder's message delta stands: the folder, and the counter it reports changes after.
#[derive(serde::Serialize, serde::Deserialize)]
struct DeltaToken {
    f: String,
    s: i64,
}

/// `GET …/mailFolders/{id}/messages/delta`: the folder's messages (all, without a token) or what
/// changed since the `$deltatoken` (with `@removed` for those deleted or moved out), in the order it
/// changed, paged by `$top` or `Prefer: odata.maxpagesize` with `$skiptoken` nextLinks, ended by a
/// deltaLink to come back with.
pub(super) async fn delta(
    ctx: &Ctx,
    method: &Method,
    mailbox: &DriveRecord,
    folder: Option<&MailFolderRecord>,
) -> Result<Response, ApiError> {
    use backstore_store::Bind;
    if *method != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let Some(folder) = folder else {
        return Err(ApiError::BadRequest(
            "A message delta is of one folder: …/mailFolders/{id}/messages/delta.".into(),
        ));
    };
    if ctx.query.filter.is_some() || ctx.query.orderby.is_some() {
        return Err(ApiError::NotImplemented(
            "$filter and $orderby on a message delta are not implemented by backstore yet.".into(),
        ));
    }
    let resync =
        || ApiError::ResyncRequired("The delta token is not valid for this folder; start again without one.".into());
    let store = ctx.store();
    let now = store.drive_delta_counter(ctx.tenant(), &mailbox.drive_id).await?;
    // (since, upto, after): a deltaToken starts a round after its counter; a skipToken continues one.
    let (since, upto, after) = match (&ctx.query.delta_token, ctx.query.after, ctx.query.after_keys.as_slice()) {
        (Some(_), Some(_), _) => return Err(ApiError::BadRequest("Give $deltatoken or $skiptoken, not both.".into())),
        (Some(t), None, _) => {
            let t = decode_token(t).filter(|t| t.f == folder.id && t.s <= now).ok_or_else(resync)?;
            (t.s, now, None)
        }
        (None, Some(seq), [Bind::Text(f), Bind::Int(since), Bind::Int(upto), Bind::Text(id)]) => {
            if *f != folder.id || *upto > now || since > upto {
                return Err(resync());
            }
            (*since, *upto, Some((seq, id.clone())))
        }
        (None, Some(_), _) => return Err(resync()),
        (None, None, _) => (0, now, None),
    };
    let top = ctx.max_page_size.or(ctx.query.top).unwrap_or(MESSAGE_PAGE).clamp(1, MAX_MESSAGE_PAGE);
    let at = after.as_ref().map(|(seq, id)| (*seq, id.as_str()));
    let mut page =
        store.folder_delta(ctx.tenant(), &mailbox.drive_id, &folder.id, since, upto, at, (top + 1) as u32).await?;
    let more = page.len() as i64 > top;
    page.truncate(top as usize);
    let drop = ["skiptoken", "deltatoken", "skip"];
    let link = |name: &str, token: &str| {
        format!("{}{}?{}", ctx.origin, ctx.path, crate::query::with_option(&ctx.query.raw, &drop, name, token))
    };
    let (next_link, delta_link) = match (more, page.last()) {
        (true, Some(last)) => {
            let keys = [Bind::Text(folder.id.clone()), Bind::Int(since), Bind::Int(upto), Bind::Text(last.id.clone())];
            (Some(link("$skiptoken", &crate::query::encode_skiptoken(last.seq, &keys))), None)
        }
        _ => (None, Some(link("$deltatoken", &encode_token(&DeltaToken { f: folder.id.clone(), s: upto })))),
    };
    let mut value = Vec::with_capacity(page.len());
    let mut removed = std::collections::HashSet::new();
    for entry in &page {
        if entry.removed {
            if removed.insert(entry.id.clone()) {
                value.push(serde_json::json!({
                    "@odata.type": "#microsoft.graph.message",
                    "id": entry.id,
                    "@removed": {"reason": "deleted"}
                }));
            }
            continue;
        }
        // Changed after this round's end: the next round has it.
        let Some(m) = store.message(ctx.tenant(), &mailbox.drive_id, &entry.id).await? else { continue };
        let mut members = serde_json::Map::new();
        members.insert("@odata.type".into(), "#microsoft.graph.message".into());
        members.extend(render(ctx, &m, true).await?);
        value.push(serde_json::Value::Object(members));
    }
    let context = format!("{}/{}/$metadata#Collection(message)", ctx.origin, ctx.version.as_str());
    Ok(with_preference(
        ctx,
        json_response(StatusCode::OK, &crate::wire::DeltaPage { context, next_link, delta_link, value }),
    ))
}

fn encode_token(t: &DeltaToken) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(t).expect("a token serializes"))
}

fn decode_token(text: &str) -> Option<DeltaToken> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    serde_json::from_slice(&bytes).ok()
}
