//! Storing a message: its MIME chunked into the content store, then its item and row into the store
//! (so the row never names content that is not stored). The API's creates, `seed` and `import` all
//! store messages through here.

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
    let mut writer = content.writer(w.tenant)?;
    let stored = writer.write_bytes(mime).await?;
    writer.flush().await?;
    let file = FileBody {
        size: stored.size,
        chunks: stored.chunks,
        mime_type: Some("message/rfc822".into()),
        sha256: None,
        quick_xor: None,
    };
    Ok(store.create_message(w, mailbox, folder, &file, fields).await?)
}
