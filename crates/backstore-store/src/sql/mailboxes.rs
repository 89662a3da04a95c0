//! Mailboxes: a user's mailbox is a tree of the live-tree tables (`drives.rs`) of the kind
//! [`MAILBOX`], so its folders are kept, snapshotted, collected and verified as a drive's are. The
//! tree's root is the mailbox's `msgfolderroot`; the well-known folders are made with the mailbox,
//! under ids derived from it, so a well-known name resolves without a read.

use super::drives::{
    changed_from, delete_subtree, drive_from_row, folder_in, insert_item, item_in, named_in, DriveRecord, DRIVE_SELECT,
};
use super::read::{Col, Columns, Cost};
use super::rows::{actor_json, micros, new_id};
use super::tx::Tx;
use super::Lock;
use crate::{Store, StoreError, StoreResult, Writer};

/// The `drive_type` of a mailbox's tree.
pub const MAILBOX: &str = "mailbox";

/// The well-known folders every mailbox has below its root, with their display names.
pub const WELL_KNOWN_FOLDERS: [(&str, &str); 8] = [
    ("inbox", "Inbox"),
    ("drafts", "Drafts"),
    ("sentitems", "Sent Items"),
    ("deleteditems", "Deleted Items"),
    ("archive", "Archive"),
    ("junkemail", "Junk Email"),
    ("outbox", "Outbox"),
    ("conversationhistory", "Conversation History"),
];

/// The well-known name of the mailbox's root.
pub const ROOT_NAME: &str = "msgfolderroot";

/// The resource a user's mailbox is kept under among the drives (the user's OneDrive has the
/// user's id itself).
pub fn mailbox_resource(user_id: &str) -> String {
    format!("mailbox:{user_id}")
}

/// The id of a mailbox's well-known folder, for its name in any case; `None` for another name.
pub fn well_known_id(mailbox: &DriveRecord, name: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    if name == ROOT_NAME {
        return Some(mailbox.root_id.clone());
    }
    WELL_KNOWN_FOLDERS.iter().any(|(n, _)| *n == name).then(|| folder_id_of(mailbox, &name))
}

fn folder_id_of(mailbox: &DriveRecord, well_known: &str) -> String {
    let prefix = mailbox.root_id.strip_suffix("-root").unwrap_or(&mailbox.root_id);
    format!("{prefix}-{well_known}")
}

/// The well-known name of a folder of a mailbox, if it has one.
pub fn well_known_name(mailbox: &DriveRecord, folder_id: &str) -> Option<&'static str> {
    if folder_id == mailbox.root_id {
        return Some(ROOT_NAME);
    }
    WELL_KNOWN_FOLDERS.iter().map(|(n, _)| *n).find(|n| folder_id_of(mailbox, n) == folder_id)
}

/// A mail folder with the counts Graph shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFolderRecord {
    pub id: String,
    /// `None` for the mailbox's root.
    pub parent_id: Option<String>,
    pub display_name: String,
    pub child_folder_count: u64,
    pub total_item_count: u64,
    pub unread_item_count: u64,
    pub is_hidden: bool,
}

const HIDDEN: &str = "isHidden";

const FOLDER_SELECT: &str = "SELECT i.item_id, i.parent_id, i.name, i.props, \
     (SELECT COUNT(*) FROM drive_items c WHERE c.tenant_id = i.tenant_id AND c.drive_id = i.drive_id \
      AND c.parent_id = i.item_id AND c.deleted_at IS NULL AND c.is_folder = 1) AS child_folders, \
     (SELECT COUNT(*) FROM drive_items c WHERE c.tenant_id = i.tenant_id AND c.drive_id = i.drive_id \
      AND c.parent_id = i.item_id AND c.deleted_at IS NULL AND c.is_folder = 0) AS items, \
     (SELECT COUNT(*) FROM drive_items c JOIN mail_messages m ON m.tenant_id = c.tenant_id \
      AND m.drive_id = c.drive_id AND m.item_id = c.item_id WHERE c.tenant_id = i.tenant_id \
      AND c.drive_id = i.drive_id AND c.parent_id = i.item_id AND c.deleted_at IS NULL AND m.is_read = 0) AS unread \
     FROM drive_items i";

fn count(r: &dyn Columns, column: &'static str) -> StoreResult<u64> {
    u64::try_from(r.col::<i64>(column)?).map_err(|_| StoreError::Corrupt(format!("folder {column}")))
}

fn folder_from_row(r: &dyn Columns) -> StoreResult<MailFolderRecord> {
    let props = super::rows::props_from(r.col("props")?)?;
    Ok(MailFolderRecord {
        id: r.col("item_id")?,
        parent_id: r.col("parent_id")?,
        display_name: r.col("name")?,
        child_folder_count: count(r, "child_folders")?,
        total_item_count: count(r, "items")?,
        unread_item_count: count(r, "unread")?,
        is_hidden: props.get(HIDDEN).is_some_and(|v| v == "true"),
    })
}

async fn folder_in_tx(tx: &mut Tx, tenant: &str, mailbox: &str, id: &str) -> StoreResult<MailFolderRecord> {
    let sql = format!(
        "{FOLDER_SELECT} WHERE i.tenant_id = ? AND i.drive_id = ? AND i.item_id = ? AND i.is_folder = 1 \
         AND i.deleted_at IS NULL"
    );
    let row = tx.fetch_optional(&sql, args![tenant, mailbox, id]).await?.ok_or(StoreError::ItemNotFound)?;
    folder_from_row(&row)
}

/// Refuses a folder name Exchange refuses: empty, longer than 255 characters, or holding control
/// characters.
fn check_folder_name(name: &str) -> StoreResult<()> {
    if name.trim().is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(StoreError::InvalidTreeChange(format!("'{name}' is not a valid folder name")));
    }
    Ok(())
}

impl Store {
    /// The mailbox of a user, if it was made.
    pub async fn mailbox(&self, tenant: &str, user_id: &str) -> StoreResult<Option<DriveRecord>> {
        let mailbox = self.drive_of_resource(tenant, &mailbox_resource(user_id)).await?;
        Ok(mailbox.filter(|m| m.drive_type == MAILBOX))
    }

    /// The mailbox of a user, made with its well-known folders on first use.
    pub async fn ensure_mailbox(&self, w: Writer<'_>, user_id: &str) -> StoreResult<DriveRecord> {
        if let Some(m) = self.mailbox(w.tenant, user_id).await? {
            return Ok(m);
        }
        let drive = self.ensure_drive(w, &mailbox_resource(user_id), MAILBOX, "Mailbox").await?;
        self.write(Lock::Tenant(w.tenant), async |tx| {
            for (name, display) in WELL_KNOWN_FOLDERS {
                let id = folder_id_of(&drive, name);
                if item_in(tx, w.tenant, &drive.drive_id, &id).await?.is_none() {
                    insert_item(tx, &w, &drive.drive_id, &id, Some(&drive.root_id), display, true, None).await?;
                    changed_from(tx, w.tenant, &drive.drive_id, &drive.root_id, 0).await?;
                }
            }
            let sql = format!("{DRIVE_SELECT} WHERE d.tenant_id = ? AND d.drive_id = ?");
            drive_from_row(&tx.fetch_one(&sql, args![w.tenant, drive.drive_id.as_str()]).await?)
        })
        .await
    }

    /// The folders in `parent`, by name; hidden ones only when asked for.
    pub async fn mail_folders(
        &self,
        tenant: &str,
        mailbox: &str,
        parent: &str,
        include_hidden: bool,
    ) -> StoreResult<Vec<MailFolderRecord>> {
        let sql = format!(
            "{FOLDER_SELECT} WHERE i.tenant_id = ? AND i.drive_id = ? AND i.parent_id = ? AND i.is_folder = 1 \
             AND i.deleted_at IS NULL ORDER BY i.name_key, i.item_id"
        );
        let all = self.read_rows(Cost::Scan, &sql, args![tenant, mailbox, parent], folder_from_row).await?;
        Ok(all.into_iter().filter(|f| include_hidden || !f.is_hidden).collect())
    }

    /// One folder of a mailbox.
    pub async fn mail_folder(&self, tenant: &str, mailbox: &str, id: &str) -> StoreResult<Option<MailFolderRecord>> {
        let sql = format!(
            "{FOLDER_SELECT} WHERE i.tenant_id = ? AND i.drive_id = ? AND i.item_id = ? AND i.is_folder = 1 \
             AND i.deleted_at IS NULL"
        );
        self.read_row(&sql, args![tenant, mailbox, id], folder_from_row).await
    }

    /// Creates a folder named `name` in `parent`; a sibling of the same name (in any case) refuses it.
    pub async fn create_mail_folder(
        &self,
        w: Writer<'_>,
        mailbox: &str,
        parent: &str,
        name: &str,
        hidden: bool,
    ) -> StoreResult<MailFolderRecord> {
        check_folder_name(name)?;
        self.write(Lock::Tenant(w.tenant), async |tx| {
            folder_in(tx, w.tenant, mailbox, parent).await?;
            if named_in(tx, w.tenant, mailbox, parent, name).await?.is_some() {
                return Err(StoreError::NameExists(name.to_owned()));
            }
            let id = new_id();
            insert_item(tx, &w, mailbox, &id, Some(parent), name, true, None).await?;
            if hidden {
                let props = serde_json::json!({ HIDDEN: "true" }).to_string();
                exec!(
                    tx,
                    "UPDATE drive_items SET props = ? WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                    props.as_str(),
                    w.tenant,
                    mailbox,
                    id.as_str(),
                )
                .await?;
            }
            changed_from(tx, w.tenant, mailbox, parent, 0).await?;
            folder_in_tx(tx, w.tenant, mailbox, &id).await
        })
        .await
    }

    /// Renames a folder; the root and the well-known folders keep their names.
    pub async fn rename_mail_folder(
        &self,
        w: Writer<'_>,
        mailbox: &DriveRecord,
        id: &str,
        name: &str,
    ) -> StoreResult<MailFolderRecord> {
        check_folder_name(name)?;
        if well_known_name(mailbox, id).is_some() {
            return Err(StoreError::InvalidTreeChange("a well-known folder cannot be renamed".into()));
        }
        let drive = mailbox.drive_id.as_str();
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let folder = folder_in_tx(tx, w.tenant, drive, id).await?;
            let parent = folder.parent_id.clone().ok_or(StoreError::ItemNotFound)?;
            if let Some(other) = named_in(tx, w.tenant, drive, &parent, name).await? {
                if other.item_id != id {
                    return Err(StoreError::NameExists(name.to_owned()));
                }
            }
            exec!(
                tx,
                "UPDATE drive_items SET name = ?, name_key = ?, version = version + 1, modified_at = ?, modified_by = ? \
                 WHERE tenant_id = ? AND drive_id = ? AND item_id = ?",
                name,
                name.to_lowercase(),
                micros(w.now),
                actor_json(w.actor),
                w.tenant,
                drive,
                id,
            )
            .await?;
            changed_from(tx, w.tenant, drive, &parent, 0).await?;
            folder_in_tx(tx, w.tenant, drive, id).await
        })
        .await
    }

    /// Deletes a folder and everything in it; the root and the well-known folders stay.
    pub async fn delete_mail_folder(&self, w: Writer<'_>, mailbox: &DriveRecord, id: &str) -> StoreResult<()> {
        if well_known_name(mailbox, id).is_some() {
            return Err(StoreError::InvalidTreeChange("a well-known folder cannot be deleted".into()));
        }
        let drive = mailbox.drive_id.as_str();
        self.write(Lock::Tenant(w.tenant), async |tx| {
            let folder =
                item_in(tx, w.tenant, drive, id).await?.filter(|f| f.is_folder).ok_or(StoreError::ItemNotFound)?;
            let parent = folder.parent_id.clone().ok_or(StoreError::ItemNotFound)?;
            let freed = delete_subtree(tx, &w, drive, &folder).await?;
            changed_from(tx, w.tenant, drive, &parent, -(freed as i64)).await
        })
        .await
    }
}
