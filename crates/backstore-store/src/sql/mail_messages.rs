//! Messages of mailboxes: each is a file of its mailbox's tree (`mailboxes.rs`) whose content is its
//! MIME, named by its id, with what Graph lists and filters messages by in a `mail_messages` row
//! beside it. Every write also keeps the item's `props` (the state a restore brings back), so the
//! mailbox's snapshots hold it, and marks the folders above it changed.

use std::collections::BTreeMap;

use backstore_content::ChunkRef;
use backstore_domain::Timestamp;
use backstore_odata::SqlFilter;
use serde::{Deserialize, Serialize};

use super::drives::{
    bump_delta, changed_from, chunks_from, delete_subtree, folder_in, insert_item, item_in, replace_content, DELTA_NOW,
};
use super::listing::{self, Collection, Source};
use super::read::{Col, Columns};
use super::rows::{actor_json, from_micros, micros, new_id, opt_from_micros};
use super::tx::Tx;
use super::Lock;
use crate::{Bind, FileBody, ListSpec, Page, Store, StoreError, StoreResult, Writer};

/// A sender or recipient: `emailAddress { name, address }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub name: Option<String>,
    pub address: String,
}

/// What a message is: what Graph derives from its MIME or takes from its JSON at creation, and the
/// state a client changes later (read, importance, categories, flag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFields {
    pub subject: String,
    pub from: Option<Recipient>,
    pub to: Vec<Recipient>,
    pub cc: Vec<Recipient>,
    pub bcc: Vec<Recipient>,
    pub reply_to: Vec<Recipient>,
    pub received_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub has_attachments: bool,
    pub is_read: bool,
    pub is_draft: bool,
    /// `low`, `normal` or `high`.
    pub importance: String,
    pub categories: Vec<String>,
    /// `notFlagged`, `flagged` or `complete`.
    pub flag_status: String,
    pub internet_message_id: Option<String>,
    pub conversation_id: String,
    pub body_preview: String,
}

impl MessageFields {
    /// The fields with a PATCH's change of state made.
    pub fn apply(&mut self, change: &MessageChange) {
        if let Some(v) = change.is_read {
            self.is_read = v;
        }
        if let Some(v) = &change.importance {
            self.importance = v.clone();
        }
        if let Some(v) = &change.categories {
            self.categories = v.iter().map(|c| c.replace('\0', "")).collect();
        }
        if let Some(v) = &change.flag_status {
            self.flag_status = v.clone();
        }
    }

    /// The fields with NUL characters taken out of every text: mail in the wild has them (in
    /// subjects, in names), and PostgreSQL cannot keep them in text. The MIME keeps every byte.
    fn without_nul(&self) -> MessageFields {
        let c = |s: &str| s.replace('\0', "");
        let r = |r: &Recipient| Recipient { name: r.name.as_deref().map(c), address: c(&r.address) };
        let all = |rs: &[Recipient]| rs.iter().map(r).collect::<Vec<_>>();
        MessageFields {
            subject: c(&self.subject),
            from: self.from.as_ref().map(r),
            to: all(&self.to),
            cc: all(&self.cc),
            bcc: all(&self.bcc),
            reply_to: all(&self.reply_to),
            importance: c(&self.importance),
            categories: self.categories.iter().map(|s| c(s)).collect(),
            flag_status: c(&self.flag_status),
            internet_message_id: self.internet_message_id.as_deref().map(c),
            conversation_id: c(&self.conversation_id),
            body_preview: c(&self.body_preview),
            ..self.clone()
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub seq: i64,
    pub id: String,
    pub folder_id: String,
    /// The MIME's bytes and chunks.
    pub size: u64,
    pub chunks: Vec<ChunkRef>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    /// Bumped by every change (the `changeKey`).
    pub version: i64,
    pub fields: MessageFields,
}

/// What a PATCH of a message changes; `None` leaves a property as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageChange {
    pub is_read: Option<bool>,
    pub importance: Option<String>,
    pub categories: Option<Vec<String>>,
    pub flag_status: Option<String>,
}

const MESSAGE_SELECT: &str = "SELECT m.*, i.parent_id, i.size, i.chunks, i.created_at, i.modified_at, i.version \
     FROM mail_messages m JOIN drive_items i ON i.tenant_id = m.tenant_id AND i.drive_id = m.drive_id \
     AND i.item_id = m.item_id";

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("message fields serialize")
}

fn from_json<T: for<'de> Deserialize<'de>>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("message {what}: {e}")))
}

fn message_from_row(r: &dyn Columns) -> StoreResult<MessageRecord> {
    let from = match r.col::<Option<String>>("from_address")? {
        Some(address) => Some(Recipient { name: r.col("from_name")?, address }),
        None => None,
    };
    Ok(MessageRecord {
        seq: r.col("seq")?,
        id: r.col("item_id")?,
        folder_id: r.col("parent_id")?,
        size: u64::try_from(r.col::<i64>("size")?).map_err(|_| StoreError::Corrupt("message size".into()))?,
        chunks: chunks_from(r.col("chunks")?)?,
        created_at: from_micros(r.col("created_at")?)?,
        modified_at: from_micros(r.col("modified_at")?)?,
        version: r.col("version")?,
        fields: MessageFields {
            subject: r.col("subject")?,
            from,
            to: from_json(&r.col::<String>("to_recipients")?, "to")?,
            cc: from_json(&r.col::<String>("cc_recipients")?, "cc")?,
            bcc: from_json(&r.col::<String>("bcc_recipients")?, "bcc")?,
            reply_to: from_json(&r.col::<String>("reply_to")?, "replyTo")?,
            received_at: from_micros(r.col("received_at")?)?,
            sent_at: opt_from_micros(r.col("sent_at")?)?,
            has_attachments: r.col("has_attachments")?,
            is_read: r.col("is_read")?,
            is_draft: r.col("is_draft")?,
            importance: r.col("importance")?,
            categories: from_json(&r.col::<String>("categories")?, "categories")?,
            flag_status: r.col("flag_status")?,
            internet_message_id: r.col("internet_message_id")?,
            conversation_id: r.col("conversation_id")?,
            body_preview: r.col("body_preview")?,
        },
    })
}

/// What the mailbox's snapshots keep of a message besides its MIME: its place in lists and the
/// state a restore brings back.
fn manifest_props(f: &MessageFields) -> String {
    let mut p = BTreeMap::new();
    p.insert("subject", f.subject.clone());
    p.insert("receivedDateTime", f.received_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    p.insert("isRead", f.is_read.to_string());
    p.insert("isDraft", f.is_draft.to_string());
    p.insert("importance", f.importance.clone());
    p.insert("categories", json(&f.categories));
    p.insert("flagStatus", f.flag_status.clone());
    json(&p)
}

async fn message_in(tx: &mut Tx, tenant: &str, mailbox: &str, id: &str) -> StoreResult<MessageRecord> {
    let sql =
        format!("{MESSAGE_SELECT} WHERE m.tenant_id = ? AND m.drive_id = ? AND m.item_id = ? AND i.deleted_at IS NULL");
    let row = tx.fetch_optional(&sql, args![tenant, mailbox, id]).await?.ok_or(StoreError::ItemNotFound)?;
    message_from_row(&row)
}

/// A new version of a message's item: its props, who changed it when, the drive's delta counter.
async fn touch(tx: &mut Tx, w: &Writer<'_>, mailbox: &str, id: &str, fields: &MessageFields) -> StoreResult<()> {
    bump_delta(tx, w.tenant, mailbox).await?;
    let sql = format!(
        "UPDATE drive_items SET props = ?, version = version + 1, modified_at = ?, modified_by = ?, \
         delta_seq = {DELTA_NOW} WHERE tenant_id = ? AND drive_id = ? AND item_id = ?"
    );
    exec!(tx, &sql, manifest_props(fields), micros(w.now), actor_json(w.actor), w.tenant, mailbox, id).await?;
    Ok(())
}

/// One entry of a folder's message delta: a message added or changed in the folder, or one that
/// left it (deleted, or moved elsewhere), at the mailbox's delta counter `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaEntry {
    pub seq: i64,
    pub id: String,
    pub removed: bool,
}

impl Store {
    /// What changed in `folder` after `since` and at or before `upto`, in the order it changed,
    /// `limit` entries after `(seq, id)` `after`: messages added or changed there, and (unless
    /// `since` is 0, a first enumeration) those deleted there or moved out and not back (once per
    /// move: a message that left twice in the window comes twice).
    #[allow(clippy::too_many_arguments)]
    pub async fn folder_delta(
        &self,
        tenant: &str,
        mailbox: &str,
        folder: &str,
        since: i64,
        upto: i64,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> StoreResult<Vec<DeltaEntry>> {
        let (after_seq, after_id) = after.unwrap_or((since, ""));
        let sql = "SELECT k, item_id, removed FROM ( \
             SELECT i.delta_seq AS k, i.item_id, CASE WHEN i.deleted_at IS NULL THEN 0 ELSE 1 END AS removed \
             FROM drive_items i JOIN mail_messages m ON m.tenant_id = i.tenant_id AND m.drive_id = i.drive_id \
             AND m.item_id = i.item_id WHERE i.tenant_id = ? AND i.drive_id = ? AND i.parent_id = ? \
             AND i.delta_seq > ? AND i.delta_seq <= ? AND (? > 0 OR i.deleted_at IS NULL) \
             UNION ALL \
             SELECT mv.delta_seq AS k, mv.item_id, 1 AS removed FROM mail_moves mv JOIN drive_items i \
             ON i.tenant_id = mv.tenant_id AND i.drive_id = mv.drive_id AND i.item_id = mv.item_id \
             WHERE mv.tenant_id = ? AND mv.drive_id = ? AND mv.from_folder = ? AND mv.delta_seq > ? \
             AND mv.delta_seq <= ? AND ? > 0 AND (i.parent_id <> ? OR i.deleted_at IS NOT NULL) \
             ) d WHERE k > ? OR (k = ? AND item_id > ?) ORDER BY k, item_id LIMIT ?";
        self.read_rows(
            super::read::Cost::Seek,
            sql,
            args![
                tenant,
                mailbox,
                folder,
                since,
                upto,
                since,
                tenant,
                mailbox,
                folder,
                since,
                upto,
                since,
                folder,
                after_seq,
                after_seq,
                after_id,
                i64::from(limit)
            ],
            |r| Ok(DeltaEntry { seq: r.col("k")?, id: r.col("item_id")?, removed: r.col::<i64>("removed")? != 0 }),
        )
        .await
    }

    /// Stores a message whose MIME is `mime` (already in the content store) in `folder`.
    pub async fn create_message(
        &self,
        w: Writer<'_>,
        mailbox: &str,
        folder: &str,
        mime: &FileBody,
        f: &MessageFields,
    ) -> StoreResult<MessageRecord> {
        let f = &f.without_nul();
        self.write(Lock::Tenant(w.tenant), async |tx| {
            folder_in(tx, w.tenant, mailbox, folder).await?;
            let id = new_id();
            insert_item(tx, &w, mailbox, &id, Some(folder), &id, false, Some(mime)).await?;
            exec!(
                tx,
                "INSERT INTO mail_messages (tenant_id, drive_id, item_id, subject, from_name, from_address, \
                 to_recipients, cc_recipients, bcc_recipients, reply_to, received_at, sent_at, has_attachments, \
                 is_read, is_draft, importance, categories, flag_status, internet_message_id, conversation_id, \
                 body_preview) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                w.tenant,
                mailbox,
                id.as_str(),
                f.subject.as_str(),
                f.from.as_ref().and_then(|r| r.name.as_deref()),
                f.from.as_ref().map(|r| r.address.as_str()),
                json(&f.to),
                json(&f.cc),
                json(&f.bcc),
                json(&f.reply_to),
                micros(f.received_at),
                f.sent_at.map(micros),
                i64::from(f.has_attachments),
                i64::from(f.is_read),
                i64::from(f.is_draft),
                f.importance.as_str(),
                json(&f.categories),
                f.flag_status.as_str(),
                f.internet_message_id.as_deref(),
                f.conversation_id.as_str(),
                f.body_preview.as_str(),
            )
            .await?;
            exec!(
                tx,
                "UPDATE drive_items SET props = ? WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                manifest_props(f),
                w.tenant,
                mailbox,
                id.as_str(),
            )
            .await?;
            changed_from(tx, w.tenant, mailbox, folder, mime.size as i64).await?;
            message_in(tx, w.tenant, mailbox, &id).await
        })
        .await
    }

    /// Every message a mailbox ever held, deleted ones too (what its restore points can name).
    pub async fn all_messages(&self, tenant: &str, mailbox: &str) -> StoreResult<Vec<MessageRecord>> {
        let sql = format!("{MESSAGE_SELECT} WHERE m.tenant_id = ? AND m.drive_id = ?");
        self.read_rows(super::read::Cost::Scan, &sql, args![tenant, mailbox], message_from_row).await
    }

    /// How many messages a mailbox holds, and their MIME's bytes.
    pub async fn mailbox_totals(&self, tenant: &str, mailbox: &str) -> StoreResult<(u64, u64)> {
        let row = self
            .read_row(
                "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(i.size), 0) AS BIGINT) AS bytes FROM mail_messages m \
                 JOIN drive_items i ON i.tenant_id = m.tenant_id AND i.drive_id = m.drive_id AND i.item_id = m.item_id \
                 WHERE m.tenant_id = ? AND m.drive_id = ? AND i.deleted_at IS NULL",
                args![tenant, mailbox],
                |r| Ok((r.col::<i64>("n")?, r.col::<i64>("bytes")?)),
            )
            .await?
            .unwrap_or((0, 0));
        Ok((row.0 as u64, row.1 as u64))
    }

    /// One message of a mailbox.
    pub async fn message(&self, tenant: &str, mailbox: &str, id: &str) -> StoreResult<Option<MessageRecord>> {
        let sql = format!(
            "{MESSAGE_SELECT} WHERE m.tenant_id = ? AND m.drive_id = ? AND m.item_id = ? AND i.deleted_at IS NULL"
        );
        self.read_row(&sql, args![tenant, mailbox, id], message_from_row).await
    }

    /// A page of the messages of a folder, or of the whole mailbox, as `spec` asks.
    pub async fn list_messages(
        &self,
        tenant: &str,
        mailbox: &str,
        folder: Option<&str>,
        spec: &ListSpec,
    ) -> StoreResult<Page<MessageRecord>> {
        let mut scope = SqlFilter {
            sql: "m.tenant_id = ? AND m.drive_id = ? AND i.deleted_at IS NULL".into(),
            binds: vec![Bind::Text(tenant.to_owned()), Bind::Text(mailbox.to_owned())],
        };
        if let Some(folder) = folder {
            scope.sql.push_str(" AND i.parent_id = ?");
            scope.binds.push(Bind::Text(folder.to_owned()));
        }
        let source = Source { collection: Collection::Messages, select: MESSAGE_SELECT.into(), seq: "m.seq", scope };
        listing::page(self, &source, spec, message_from_row).await
    }

    /// Changes a message's read state, importance, categories or flag.
    pub async fn update_message(
        &self,
        w: Writer<'_>,
        mailbox: &str,
        id: &str,
        change: &MessageChange,
    ) -> StoreResult<MessageRecord> {
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let mut f = message_in(tx, w.tenant, mailbox, id).await?.fields;
            f.apply(change);
            exec!(
                tx,
                "UPDATE mail_messages SET is_read = ?, importance = ?, categories = ?, flag_status = ? \
                 WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                i64::from(f.is_read),
                f.importance.as_str(),
                json(&f.categories),
                f.flag_status.as_str(),
                w.tenant,
                mailbox,
                id,
            )
            .await?;
            touch(tx, &w, mailbox, id, &f).await?;
            let folder =
                item_in(tx, w.tenant, mailbox, id).await?.and_then(|i| i.parent_id).ok_or(StoreError::ItemNotFound)?;
            changed_from(tx, w.tenant, mailbox, &folder, 0).await?;
            message_in(tx, w.tenant, mailbox, id).await
        })
        .await
    }

    /// Moves a message to another folder of its mailbox (it keeps its id).
    pub async fn move_message(&self, w: Writer<'_>, mailbox: &str, id: &str, to: &str) -> StoreResult<MessageRecord> {
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let m = message_in(tx, w.tenant, mailbox, id).await?;
            folder_in(tx, w.tenant, mailbox, to).await?;
            if m.folder_id == to {
                return Ok(m);
            }
            exec!(
                tx,
                "UPDATE drive_items SET parent_id = ? WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                to,
                w.tenant,
                mailbox,
                id,
            )
            .await?;
            touch(tx, &w, mailbox, id, &m.fields).await?;
            exec!(
                tx,
                "INSERT INTO mail_moves (tenant_id, drive_id, item_id, from_folder, delta_seq) VALUES (?, ?, ?, ?, \
                 (SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?))",
                w.tenant,
                mailbox,
                id,
                m.folder_id.as_str(),
                w.tenant,
                mailbox,
            )
            .await?;
            changed_from(tx, w.tenant, mailbox, &m.folder_id, -(m.size as i64)).await?;
            changed_from(tx, w.tenant, mailbox, to, m.size as i64).await?;
            message_in(tx, w.tenant, mailbox, id).await
        })
        .await
    }

    /// Replaces a message's MIME and everything derived from it (a draft's new content, an
    /// attachment added or removed) if it is still at `version`: a rewrite starts from the MIME it
    /// read, so one that changed in between is refused rather than overwritten.
    pub async fn rewrite_message(
        &self,
        w: Writer<'_>,
        mailbox: &str,
        id: &str,
        version: i64,
        mime: &FileBody,
        f: &MessageFields,
    ) -> StoreResult<MessageRecord> {
        let f = &f.without_nul();
        self.write(Lock::Tenant(w.tenant), async |tx| {
            message_in(tx, w.tenant, mailbox, id).await?;
            let item = item_in(tx, w.tenant, mailbox, id).await?.ok_or(StoreError::ItemNotFound)?;
            if item.version != version {
                return Err(StoreError::Changed);
            }
            replace_content(tx, &w, mailbox, &item, mime).await?;
            exec!(
                tx,
                "UPDATE mail_messages SET subject = ?, from_name = ?, from_address = ?, to_recipients = ?, \
                 cc_recipients = ?, bcc_recipients = ?, reply_to = ?, has_attachments = ?, is_read = ?, \
                 importance = ?, categories = ?, flag_status = ?, internet_message_id = ?, conversation_id = ?, \
                 body_preview = ? WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                f.subject.as_str(),
                f.from.as_ref().and_then(|r| r.name.as_deref()),
                f.from.as_ref().map(|r| r.address.as_str()),
                json(&f.to),
                json(&f.cc),
                json(&f.bcc),
                json(&f.reply_to),
                i64::from(f.has_attachments),
                i64::from(f.is_read),
                f.importance.as_str(),
                json(&f.categories),
                f.flag_status.as_str(),
                f.internet_message_id.as_deref(),
                f.conversation_id.as_str(),
                f.body_preview.as_str(),
                w.tenant,
                mailbox,
                id,
            )
            .await?;
            exec!(
                tx,
                "UPDATE drive_items SET props = ? WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                manifest_props(f),
                w.tenant,
                mailbox,
                id,
            )
            .await?;
            message_in(tx, w.tenant, mailbox, id).await
        })
        .await
    }

    /// Deletes a message.
    pub async fn delete_message(&self, w: Writer<'_>, mailbox: &str, id: &str) -> StoreResult<()> {
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let m = message_in(tx, w.tenant, mailbox, id).await?;
            let item = item_in(tx, w.tenant, mailbox, id).await?.ok_or(StoreError::ItemNotFound)?;
            let freed = delete_subtree(tx, &w, mailbox, &item).await?;
            changed_from(tx, w.tenant, mailbox, &m.folder_id, -(freed as i64)).await
        })
        .await
    }
}
