//! Message bodies: a message created from JSON, a PATCH of one, and `move`'s destination.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use backstore_store::sql::mail_messages::{MessageChange, Recipient};

use crate::error::ApiError;
use crate::mime::{Body, NewAttachment};

/// A message as a JSON create gives it.
pub struct NewMessage {
    pub subject: String,
    pub body: Body,
    pub from: Option<Recipient>,
    pub to: Vec<Recipient>,
    pub cc: Vec<Recipient>,
    pub bcc: Vec<Recipient>,
    pub reply_to: Vec<Recipient>,
    pub importance: String,
    pub categories: Vec<String>,
    pub is_read: Option<bool>,
    pub flag_status: String,
    pub internet_message_id: Option<String>,
    /// `Integer 0x0E07` (PidTagMessageFlags), as restore tools set it.
    pub message_flags: Option<i64>,
    /// `SystemTime 0x0E06` (delivery time) and `SystemTime 0x0039` (submit time).
    pub delivered: Option<DateTime<Utc>>,
    pub submitted: Option<DateTime<Utc>>,
    pub attachments: Vec<NewAttachment>,
}

/// MSGFLAG_READ and MSGFLAG_UNSENT of PidTagMessageFlags.
const MSGFLAG_READ: i64 = 0x1;
const MSGFLAG_UNSENT: i64 = 0x8;

impl NewMessage {
    /// A message created through the API is a draft unless its flags say it was sent.
    pub fn is_draft(&self) -> bool {
        self.message_flags.is_none_or(|f| f & MSGFLAG_UNSENT != 0)
    }

    /// Read as its flags or `isRead` say; a new draft is read, as Graph makes it.
    pub fn is_read(&self) -> bool {
        self.is_read.or(self.message_flags.map(|f| f & MSGFLAG_READ != 0)).unwrap_or(true)
    }
}

const CREATE_PROPERTIES: &[&str] = &[
    "subject",
    "body",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "importance",
    "categories",
    "isRead",
    "flag",
    "internetMessageId",
    "singleValueExtendedProperties",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "inferenceClassification",
    "attachments",
];

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad("The request body must be a JSON object.")),
        Err(e) => Err(bad(format!("The request body is not valid JSON: {e}"))),
    }
}

fn check_known(m: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !k.starts_with('@') && !known.contains(&k.as_str())) {
        Some(k) => {
            Err(bad(format!("The property '{k}' does not exist on type 'microsoft.graph.message' or cannot be set.")))
        }
        None => Ok(()),
    }
}

fn string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("'{key}' must be a string."))),
    }
}

fn recipient(v: &Value, key: &str) -> Result<Recipient, ApiError> {
    let e = v
        .get("emailAddress")
        .and_then(Value::as_object)
        .ok_or_else(|| bad(format!("'{key}' needs an 'emailAddress'.")))?;
    let address =
        string(e, "address")?.ok_or_else(|| bad(format!("An 'emailAddress' of '{key}' needs an 'address'.")))?;
    if !super::valid_email(&address) {
        return Err(bad(format!("'{address}' in '{key}' is not an email address.")));
    }
    Ok(Recipient { name: string(e, "name")?, address })
}

fn recipients(m: &Map<String, Value>, key: &str) -> Result<Vec<Recipient>, ApiError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| recipient(v, key)).collect(),
        Some(_) => Err(bad(format!("'{key}' must be an array of recipients."))),
    }
}

fn importance(m: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match string(m, "importance")? {
        None => Ok(None),
        Some(i) => match i.to_ascii_lowercase().as_str() {
            v @ ("low" | "normal" | "high") => Ok(Some(v.to_owned())),
            _ => Err(bad(format!("'{i}' is not an importance: low, normal or high."))),
        },
    }
}

fn categories(m: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    match m.get("categories") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => super::strings(v, || bad("'categories' must be an array of strings.")).map(Some),
    }
}

fn flag_status(m: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match m.get("flag") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(f)) => match string(f, "flagStatus")? {
            None => Ok(None),
            Some(s) => match s.as_str() {
                "notFlagged" | "flagged" | "complete" => Ok(Some(s)),
                _ => Err(bad(format!("'{s}' is not a flag status: notFlagged, flagged or complete."))),
            },
        },
        Some(_) => Err(bad("'flag' must be an object.")),
    }
}

fn is_read(m: &Map<String, Value>) -> Result<Option<bool>, ApiError> {
    match m.get("isRead") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad("'isRead' must be true or false.")),
    }
}

/// What `singleValueExtendedProperties` set: the message flags and the delivery and submit times.
#[derive(Default)]
struct Extended {
    flags: Option<i64>,
    delivered: Option<DateTime<Utc>>,
    submitted: Option<DateTime<Utc>>,
}

fn extended(m: &Map<String, Value>) -> Result<Extended, ApiError> {
    let (mut flags, mut delivered, mut submitted) = (None, None, None);
    let Some(list) = m.get("singleValueExtendedProperties") else { return Ok(Extended::default()) };
    let items = list.as_array().ok_or_else(|| bad("'singleValueExtendedProperties' must be an array."))?;
    for item in items {
        let (Some(id), Some(value)) =
            (item.get("id").and_then(Value::as_str), item.get("value").and_then(Value::as_str))
        else {
            return Err(bad("An extended property needs a string 'id' and 'value'."));
        };
        let time = || {
            DateTime::parse_from_rfc3339(value)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad(format!("'{value}' of '{id}' is not a date and time.")))
        };
        match id.to_ascii_lowercase().as_str() {
            "integer 0x0e07" => {
                flags = Some(value.trim().parse().map_err(|_| bad(format!("'{value}' of '{id}' is not an integer.")))?)
            }
            "systemtime 0x0e06" => delivered = Some(time()?),
            "systemtime 0x0039" => submitted = Some(time()?),
            // Other properties are kept by Exchange; backstore does not keep them yet.
            _ => {}
        }
    }
    Ok(Extended { flags, delivered, submitted })
}

/// A `fileAttachment` of a JSON create (item and reference attachments are not kept yet).
fn attachment(v: &Value) -> Result<NewAttachment, ApiError> {
    use base64::Engine as _;
    let a = v.as_object().ok_or_else(|| bad("An attachment must be an object."))?;
    match string(a, "@odata.type")?.as_deref().map(|t| t.trim_start_matches('#').to_ascii_lowercase()) {
        Some(t) if t == "microsoft.graph.fileattachment" => {}
        Some(t) if t == "microsoft.graph.itemattachment" || t == "microsoft.graph.referenceattachment" => {
            return Err(ApiError::NotImplemented(format!(
                "Attachments of type '{t}' are not implemented by backstore yet."
            )))
        }
        _ => return Err(bad("An attachment needs '@odata.type': '#microsoft.graph.fileAttachment'.")),
    }
    let name = string(a, "name")?.ok_or_else(|| bad("An attachment needs a 'name'."))?;
    let bytes = string(a, "contentBytes")?.ok_or_else(|| bad("A file attachment needs its 'contentBytes'."))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(bytes.trim())
        .map_err(|_| bad(format!("The 'contentBytes' of '{name}' are not base64.")))?;
    let is_inline = match a.get("isInline") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("'isInline' must be true or false.")),
    };
    Ok(NewAttachment {
        content_type: string(a, "contentType")?.unwrap_or_else(|| "application/octet-stream".into()),
        content_id: string(a, "contentId")?,
        name,
        is_inline,
        bytes,
    })
}

/// A message a JSON create gives.
pub fn new_message(body: &[u8]) -> Result<NewMessage, ApiError> {
    let m = object(body)?;
    check_known(&m, CREATE_PROPERTIES)?;
    let content = item_body(&m)?.unwrap_or(Body { content_type: "text", content: String::new() });
    let from = match m.get("from").or(m.get("sender")) {
        None | Some(Value::Null) => None,
        Some(v) => Some(recipient(v, "from")?),
    };
    let Extended { flags: message_flags, delivered, submitted } = extended(&m)?;
    let attachments = match m.get("attachments") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(attachment).collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("'attachments' must be an array.")),
    };
    Ok(NewMessage {
        subject: string(&m, "subject")?.unwrap_or_default(),
        body: content,
        from,
        to: recipients(&m, "toRecipients")?,
        cc: recipients(&m, "ccRecipients")?,
        bcc: recipients(&m, "bccRecipients")?,
        reply_to: recipients(&m, "replyTo")?,
        importance: importance(&m)?.unwrap_or_else(|| "normal".into()),
        categories: categories(&m)?.unwrap_or_default(),
        is_read: is_read(&m)?,
        flag_status: flag_status(&m)?.unwrap_or_else(|| "notFlagged".into()),
        internet_message_id: string(&m, "internetMessageId")?,
        message_flags,
        delivered,
        submitted,
        attachments,
    })
}

/// What a PATCH of a message changes: its state (read, importance, categories, flag), and what its
/// MIME says (subject, body, addresses), which a PATCH changes by rewriting the MIME.
pub struct Patch {
    pub change: MessageChange,
    pub content: ContentChange,
}

/// A change of what a message's MIME says; `None` leaves a property as it is.
#[derive(Default)]
pub struct ContentChange {
    pub subject: Option<String>,
    pub body: Option<Body>,
    /// `Some(None)` takes the sender off.
    pub from: Option<Option<Recipient>>,
    pub to: Option<Vec<Recipient>>,
    pub cc: Option<Vec<Recipient>>,
    pub bcc: Option<Vec<Recipient>>,
    pub reply_to: Option<Vec<Recipient>>,
    pub internet_message_id: Option<String>,
}

impl ContentChange {
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.body.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.cc.is_none()
            && self.bcc.is_none()
            && self.reply_to.is_none()
            && self.internet_message_id.is_none()
    }

    /// The first property it changes that Graph changes only while a message is a draft.
    pub fn draft_only(&self) -> Option<&'static str> {
        [
            ("subject", self.subject.is_some()),
            ("body", self.body.is_some()),
            ("replyTo", self.reply_to.is_some()),
            ("internetMessageId", self.internet_message_id.is_some()),
        ]
        .into_iter()
        .find_map(|(name, set)| set.then_some(name))
    }
}

const PATCH_PROPERTIES: &[&str] = &[
    "isRead",
    "importance",
    "categories",
    "flag",
    "inferenceClassification",
    "subject",
    "body",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "from",
    "sender",
    "internetMessageId",
];

fn item_body(m: &Map<String, Value>) -> Result<Option<Body>, ApiError> {
    match m.get("body") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(b)) => Ok(Some(Body {
            content_type: match string(b, "contentType")?.map(|t| t.to_ascii_lowercase()).as_deref() {
                Some("html") => "html",
                None | Some("text") => "text",
                Some(other) => return Err(bad(format!("'{other}' is not a body content type: text or html."))),
            },
            content: string(b, "content")?.unwrap_or_default(),
        })),
        Some(_) => Err(bad("'body' must be an object.")),
    }
}

fn listed(m: &Map<String, Value>, key: &str) -> Result<Option<Vec<Recipient>>, ApiError> {
    if m.contains_key(key) {
        recipients(m, key).map(Some)
    } else {
        Ok(None)
    }
}

pub fn patch(body: &[u8]) -> Result<Patch, ApiError> {
    let m = object(body)?;
    check_known(&m, PATCH_PROPERTIES)?;
    let from = match m.get("from").or(m.get("sender")) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => Some(Some(recipient(v, "from")?)),
    };
    let content = ContentChange {
        subject: string(&m, "subject")?,
        body: item_body(&m)?,
        from,
        to: listed(&m, "toRecipients")?,
        cc: listed(&m, "ccRecipients")?,
        bcc: listed(&m, "bccRecipients")?,
        reply_to: listed(&m, "replyTo")?,
        internet_message_id: string(&m, "internetMessageId")?,
    };
    let change = MessageChange {
        is_read: is_read(&m)?,
        importance: importance(&m)?,
        categories: categories(&m)?,
        flag_status: flag_status(&m)?,
    };
    Ok(Patch { change, content })
}

/// The attachment a `POST …/attachments` adds.
pub fn new_attachment(body: &[u8]) -> Result<NewAttachment, ApiError> {
    attachment(&Value::Object(object(body)?))
}

/// `move`'s `destinationId` (a folder id or well-known name).
pub fn destination(body: &[u8]) -> Result<String, ApiError> {
    let m = object(body)?;
    let id = m
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("destinationId"))
        .map(|(_, v)| v)
        .ok_or_else(|| bad("'move' needs a 'destinationId'."))?;
    id.as_str().map(str::to_owned).ok_or_else(|| bad("'destinationId' must be a string."))
}
