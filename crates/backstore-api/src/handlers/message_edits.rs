//! Changes that rewrite a message's MIME: a draft's subject, body and addresses (and any message's
//! recipients), an attachment added or removed. Exchange keeps a message's properties and makes
//! MIME from them; backstore keeps the MIME, so such a change composes the MIME again from what the
//! message says with the change made, stores it, and swaps it in only if the message did not
//! change in between (a `409 ErrorIrresolvableConflict` otherwise, as a stale change key gets).

use futures::TryStreamExt;

use backstore_store::sql::drives::DriveRecord;
use backstore_store::sql::mail_messages::{MessageChange, MessageRecord};
use backstore_store::StoreError;

use super::items::content;
use crate::body::messages::ContentChange;
use crate::error::ApiError;
use crate::mime::{self, NewAttachment};
use crate::Ctx;

/// The largest attachment `POST …/attachments` takes, as Graph (larger ones go through an
/// attachment upload session).
pub(super) const MAX_ATTACHMENT_BYTES: usize = 3 * 1024 * 1024;

/// A store error of a message write as Exchange words it.
pub(super) fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::ItemNotFound => ApiError::MailItemNotFound,
        other => other.into(),
    }
}

/// A `Message-ID` without its angle brackets.
pub(super) fn bare_message_id(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').to_owned()
}

/// A message's MIME, read from the content store.
pub(super) async fn read_mime(ctx: &Ctx, m: &MessageRecord) -> Result<Vec<u8>, ApiError> {
    let content = content(ctx)?;
    let parts: Vec<axum::body::Bytes> = content
        .read_file(ctx.tenant(), &m.chunks, 0..m.size)
        .try_collect()
        .await
        .map_err(|e| ApiError::Internal(format!("message {}: {e}", m.id)))?;
    Ok(parts.concat())
}

/// What becomes of a message's attachments in a rewrite.
pub(super) enum Attachments {
    Keep,
    Add(NewAttachment),
    /// By id; an id the message does not have is `ErrorItemNotFound`.
    Remove(String),
}

/// Rewrites `m` with `says` and `change` made and its attachments as `attachments` says;
/// answers the stored message and its new MIME.
pub(super) async fn rewrite(
    ctx: &Ctx,
    mailbox: &DriveRecord,
    m: &MessageRecord,
    says: &ContentChange,
    change: &MessageChange,
    attachments: Attachments,
) -> Result<(MessageRecord, Vec<u8>), ApiError> {
    let old = read_mime(ctx, m).await?;
    let mut kept = mime::attachments(&old);
    let added = match attachments {
        Attachments::Keep => None,
        Attachments::Add(a) => Some(a),
        Attachments::Remove(id) => {
            let at = kept.iter().position(|a| a.id == id).ok_or(ApiError::MailItemNotFound)?;
            kept.remove(at);
            None
        }
    };
    let all: Vec<NewAttachment> = kept.into_iter().map(NewAttachment::from).chain(added).collect();

    let mut f = m.fields.clone();
    f.apply(change);
    if let Some(v) = &says.subject {
        f.subject = v.clone();
    }
    if let Some(v) = &says.from {
        f.from = v.clone();
    }
    for (list, to) in
        [(&says.to, &mut f.to), (&says.cc, &mut f.cc), (&says.bcc, &mut f.bcc), (&says.reply_to, &mut f.reply_to)]
    {
        if let Some(v) = list {
            v.clone_into(to);
        }
    }
    let message_id = match (&says.internet_message_id, &f.internet_message_id) {
        (Some(id), _) | (None, Some(id)) => bare_message_id(id),
        (None, None) => format!("{:016x}@backstore.local", backstore_domain::stable_hash(&m.id)),
    };
    f.internet_message_id = Some(format!("<{message_id}>"));
    let body = says.body.clone().unwrap_or_else(|| mime::body(&old, None));
    let new = mime::compose_fields(&f, &body, &message_id, &all);
    f.body_preview = mime::body_preview(&body, &new);
    f.has_attachments = all.iter().any(|a| !a.is_inline);

    let file = crate::mail_store::write_mime(content(ctx)?, ctx.tenant(), &new)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let stored = ctx
        .store()
        .rewrite_message(ctx.writer(), &mailbox.drive_id, &m.id, m.version, &file, &f)
        .await
        .map_err(not_found)?;
    Ok((stored, new))
}
