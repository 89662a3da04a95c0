//! `backstore import --mailbox`: mail into a user's mailbox from an mbox file, or from a directory
//! of `.eml` files (and `.mbox` files) whose subdirectories become folders. A message is stored as
//! it was given (its bytes are its MIME, kept byte for byte); one whose MIME cannot be read is
//! still kept, as Exchange keeps what it was given, with a warning that names it.

use std::path::Path;

use backstore_api::mail_store::{put_messages, NewMessage, PutError};
use backstore_api::mime;
use backstore_domain::Timestamp;
use backstore_store::sql::drives::DriveRecord;
use backstore_store::sql::mail_messages::MessageFields;
use backstore_store::sql::mailboxes::well_known_id;
use backstore_store::{Store, StoreError, Writer};
use serde::Serialize;

use crate::content::Content;

/// What an import stored, and what it had to say about it.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MailImportReport {
    pub messages: u64,
    pub folders: u64,
    /// The MIME bytes stored.
    pub bytes: u64,
    /// One line per message kept although its MIME could not be read (or had no header).
    pub warnings: Vec<String>,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum MailImportError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Put(#[from] PutError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MailImportError + '_ {
    move |source| MailImportError::Io { path: path.display().to_string(), source }
}

/// Messages are stored this many at a time, or sooner once their MIME passes [`BATCH_BYTES`]: their
/// content shares packs and one flush.
const BATCH: usize = 256;
const BATCH_BYTES: usize = 8 << 20;

struct Importer<'a> {
    store: &'a Store,
    content: &'a Content,
    w: Writer<'a>,
    mailbox: &'a DriveRecord,
    report: MailImportReport,
    /// Read, not yet stored: folder, MIME, fields.
    pending: Vec<(String, Vec<u8>, MessageFields)>,
    pending_bytes: usize,
}

/// Imports `path` (an mbox file, or a directory) into `mailbox`: an mbox file's messages go to a
/// folder named after it (`Inbox.mbox` to the Inbox), a directory's `.eml` files to the Inbox and
/// its subdirectories to folders of their names, below the mailbox's root.
pub async fn import_mail(
    store: &Store,
    content: &Content,
    w: Writer<'_>,
    mailbox: &DriveRecord,
    path: &Path,
) -> Result<MailImportReport, MailImportError> {
    let mut imp = Importer {
        store,
        content,
        w,
        mailbox,
        report: MailImportReport::default(),
        pending: Vec::new(),
        pending_bytes: 0,
    };
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.is_dir() {
        let inbox = well_known_id(mailbox, "inbox").expect("inbox is well known");
        Box::pin(imp.dir(path, &mailbox.root_id.clone(), &inbox)).await?;
    } else {
        let folder = imp.folder(&mailbox.root_id.clone(), &stem(path)).await?;
        imp.mbox(path, &folder).await?;
    }
    imp.store_pending().await?;
    Ok(imp.report)
}

fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(|| "Imported".to_owned(), |s| s.to_string_lossy().into_owned())
}

impl Importer<'_> {
    /// The folder named `name` in `parent`, made if missing (a name in any case is the same folder).
    async fn folder(&mut self, parent: &str, name: &str) -> Result<String, MailImportError> {
        let existing = self.store.mail_folders(self.w.tenant, &self.mailbox.drive_id, parent, true).await?;
        if let Some(f) = existing.iter().find(|f| f.display_name.to_lowercase() == name.to_lowercase()) {
            return Ok(f.id.clone());
        }
        let made = self.store.create_mail_folder(self.w, &self.mailbox.drive_id, parent, name, false).await?;
        self.report.folders += 1;
        Ok(made.id)
    }

    /// A directory: `.eml` files into `messages_to`, `.mbox` files and subdirectories into folders
    /// of their names in `parent`; in name order, so an import is repeatable.
    async fn dir(&mut self, dir: &Path, parent: &str, messages_to: &str) -> Result<(), MailImportError> {
        let mut entries: Vec<_> =
            std::fs::read_dir(dir).map_err(io(dir))?.collect::<Result<_, _>>().map_err(io(dir))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let folder = self.folder(parent, &name).await?;
                Box::pin(self.dir(&path, &folder, &folder)).await?;
            } else if name.to_lowercase().ends_with(".eml") {
                let bytes = std::fs::read(&path).map_err(io(&path))?;
                self.message(&bytes, messages_to, &path.display().to_string(), None).await?;
            } else if name.to_lowercase().ends_with(".mbox") {
                let folder = self.folder(parent, &stem(&path)).await?;
                self.mbox(&path, &folder).await?;
            }
        }
        Ok(())
    }

    async fn mbox(&mut self, path: &Path, folder: &str) -> Result<(), MailImportError> {
        let file = std::fs::File::open(path).map_err(io(path))?;
        let messages = mail_parser::mailbox::mbox::MessageIterator::new(std::io::BufReader::new(file));
        for (n, m) in messages.enumerate() {
            let m = m.map_err(io(path))?;
            let delivered =
                chrono::DateTime::from_timestamp(m.internal_date() as i64, 0).filter(|_| m.internal_date() > 0);
            let name = format!("{} message {}", path.display(), n + 1);
            self.message(m.contents(), folder, &name, delivered).await?;
        }
        Ok(())
    }

    /// Stores one message as it was given.
    async fn message(
        &mut self,
        bytes: &[u8],
        folder: &str,
        name: &str,
        delivered: Option<Timestamp>,
    ) -> Result<(), MailImportError> {
        let now = self.w.now;
        let derived = mime::derive(bytes, &self.mailbox.drive_id, now);
        match &derived {
            None => self.report.warnings.push(format!("{name}: not readable as MIME; kept as it was given")),
            Some(d) if !d.has_headers => {
                self.report.warnings.push(format!("{name}: no mail header could be read; kept as it was given"))
            }
            Some(_) => {}
        }
        let mut fields = match derived {
            Some(d) => d.fields,
            None => MessageFields {
                subject: String::new(),
                from: None,
                to: Vec::new(),
                cc: Vec::new(),
                bcc: Vec::new(),
                reply_to: Vec::new(),
                received_at: now,
                sent_at: None,
                has_attachments: false,
                is_read: true,
                is_draft: false,
                importance: "normal".into(),
                categories: Vec::new(),
                flag_status: "notFlagged".into(),
                internet_message_id: None,
                conversation_id: mime::conversation_id(&self.mailbox.drive_id, ""),
                body_preview: String::new(),
            },
        };
        // Imported mail is mail that was received: not a draft, read, received when it was
        // delivered (the mbox's date, else the message's own).
        fields.is_draft = false;
        fields.is_read = true;
        fields.received_at = delivered.or(fields.sent_at).unwrap_or(now);
        self.pending_bytes += bytes.len();
        self.pending.push((folder.to_owned(), bytes.to_vec(), fields));
        if self.pending.len() >= BATCH || self.pending_bytes >= BATCH_BYTES {
            self.store_pending().await?;
        }
        Ok(())
    }

    /// Stores the messages read so far.
    async fn store_pending(&mut self) -> Result<(), MailImportError> {
        let batch: Vec<NewMessage<'_>> =
            self.pending.iter().map(|(folder, mime, fields)| NewMessage { folder, mime, fields }).collect();
        let stored = put_messages(self.content, self.store, self.w, &self.mailbox.drive_id, &batch).await?;
        self.report.messages += stored.len() as u64;
        self.report.bytes += stored.iter().map(|m| m.size).sum::<u64>();
        self.pending.clear();
        self.pending_bytes = 0;
        Ok(())
    }
}
