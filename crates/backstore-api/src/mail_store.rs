//! Storing messages: their MIME chunked into the content store and flushed, then their items and
//! rows into the store (so no row names content that is not stored). The API's creates, `seed` and
//! `import` all store messages through here; an import hands over many at once, which share the
//! packs they are written into.

use backstore_content::ContentError;
use backstore_store::sql::mail_messages::{MessageFields, MessageRecord};
use backstore_store::{FileBody, Store, StoreError, Writer};

use crate::Content;

/// Why a message could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("storing the message's MIME: {0}")]
    Content(#[from] ContentError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A message to store: the folder it goes to, its MIME, and what it is.
pub struct NewMessage<'a> {
    pub folder: &'a str,
    pub mime: &'a [u8],
    pub fields: &'a MessageFields,
}

/// Stores a message whose MIME is `mime` in `folder` of `mailbox`, described by `fields`.
pub async fn put_message(
    content: &Content,
    store: &Store,
    w: Writer<'_>,
    mailbox: &str,
    folder: &str,
    mime: &[u8],
    fields: &MessageFields,
) -> Result<MessageRecord, PutError> {
    let mut stored = put_messages(content, store, w, mailbox, &[NewMessage { folder, mime, fields }]).await?;
    Ok(stored.pop().expect("one message stored"))
}

/// Stores messages of `mailbox`: their MIME into packs they share (one flush), then each row.
pub async fn put_messages(
    content: &Content,
    store: &Store,
    w: Writer<'_>,
    mailbox: &str,
    messages: &[NewMessage<'_>],
) -> Result<Vec<MessageRecord>, PutError> {
    let mut writer = content.writer(w.tenant)?;
    let mut bodies = Vec::with_capacity(messages.len());
    for m in messages {
        let stored = writer.write_bytes(m.mime).await?;
        bodies.push(mime_file(stored.size, stored.chunks));
    }
    writer.flush().await?;
    let mut out = Vec::with_capacity(messages.len());
    for (m, body) in messages.iter().zip(&bodies) {
        out.push(store.create_message(w, mailbox, m.folder, body, m.fields).await?);
    }
    Ok(out)
}

/// Stores one message's new MIME (a rewrite's) and flushes it, for a row to name next.
pub async fn write_mime(content: &Content, tenant: &str, mime: &[u8]) -> Result<FileBody, ContentError> {
    let mut writer = content.writer(tenant)?;
    let stored = writer.write_bytes(mime).await?;
    writer.flush().await?;
    Ok(mime_file(stored.size, stored.chunks))
}

fn mime_file(size: u64, chunks: Vec<backstore_content::ChunkRef>) -> FileBody {
    FileBody { size, chunks, mime_type: Some("message/rfc822".into()), sha256: None, quick_xor: None }
}
