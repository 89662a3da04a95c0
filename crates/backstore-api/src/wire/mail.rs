//! Mail shapes: `mailFolder`, members in Graph's order.

use serde::Serialize;

/// A mail folder. `wellKnownName` is beta's (`None`: not shown; `Some(None)`: null for a folder
/// of the user's own).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MailFolder<'a> {
    pub id: &'a str,
    pub display_name: &'a str,
    pub parent_folder_id: Option<&'a str>,
    pub child_folder_count: u64,
    pub unread_item_count: u64,
    pub total_item_count: u64,
    pub is_hidden: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub well_known_name: Option<Option<&'a str>>,
}

/// The properties `$select` may name on a mail folder.
pub const MAIL_FOLDER_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "parentFolderId",
    "childFolderCount",
    "unreadItemCount",
    "totalItemCount",
    "isHidden",
    "wellKnownName",
];
