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

/// `emailAddress` of a recipient.
#[derive(Debug, Serialize)]
pub struct EmailAddress<'a> {
    pub name: Option<&'a str>,
    pub address: &'a str,
}

/// A `recipient`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient<'a> {
    pub email_address: EmailAddress<'a>,
}

impl<'a> Recipient<'a> {
    pub fn of(r: &'a backstore_store::sql::mail_messages::Recipient) -> Recipient<'a> {
        Recipient { email_address: EmailAddress { name: r.name.as_deref(), address: &r.address } }
    }

    pub fn all(rs: &'a [backstore_store::sql::mail_messages::Recipient]) -> Vec<Recipient<'a>> {
        rs.iter().map(Recipient::of).collect()
    }
}

/// An `itemBody`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemBody<'a> {
    pub content_type: &'a str,
    pub content: &'a str,
}

/// A `followupFlag`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag<'a> {
    pub flag_status: &'a str,
}

/// A message, members in the order Graph sends them. `body` is absent when a `$select` leaves
/// it out (the MIME is then not read).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message<'a> {
    #[serde(rename = "@odata.etag")]
    pub etag: String,
    pub id: &'a str,
    pub created_date_time: super::DateTime,
    pub last_modified_date_time: super::DateTime,
    pub change_key: String,
    pub categories: &'a [String],
    pub received_date_time: super::DateTime,
    pub sent_date_time: Option<super::DateTime>,
    pub has_attachments: bool,
    pub internet_message_id: Option<&'a str>,
    pub subject: &'a str,
    pub body_preview: &'a str,
    pub importance: &'a str,
    pub parent_folder_id: &'a str,
    pub conversation_id: &'a str,
    pub is_delivery_receipt_requested: bool,
    pub is_read_receipt_requested: bool,
    pub is_read: bool,
    pub is_draft: bool,
    pub web_link: String,
    pub inference_classification: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<ItemBody<'a>>,
    pub sender: Option<Recipient<'a>>,
    pub from: Option<Recipient<'a>>,
    pub to_recipients: Vec<Recipient<'a>>,
    pub cc_recipients: Vec<Recipient<'a>>,
    pub bcc_recipients: Vec<Recipient<'a>>,
    pub reply_to: Vec<Recipient<'a>>,
    pub flag: Flag<'a>,
}

/// The properties `$select` may name on a message.
pub const MESSAGE_PROPERTIES: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
];

/// A `fileAttachment`, members in Graph's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileAttachment<'a> {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    #[serde(rename = "@odata.mediaContentType")]
    pub media_content_type: &'a str,
    pub id: &'a str,
    pub last_modified_date_time: super::DateTime,
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: usize,
    pub is_inline: bool,
    pub content_id: Option<&'a str>,
    pub content_location: Option<&'a str>,
    pub content_bytes: String,
}
