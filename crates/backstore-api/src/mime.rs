//! A message's MIME: what Graph derives from it (subject, addresses, dates, ids, attachments, the
//! body and its preview), and the MIME of a message created from JSON.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use mail_builder::headers::address::Address as OutAddress;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;
use mail_parser::{Address, MessageParser, MimeHeaders};

use backstore_store::sql::mail_messages::{MessageFields, Recipient};

/// A message's body as Graph shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// `text` or `html`.
    pub content_type: &'static str,
    pub content: String,
}

/// What a message holds beyond the fields Graph lists: its body, and whether any header of a name
/// mail knows could be read.
pub struct Derived {
    pub fields: MessageFields,
    pub body: Body,
    pub has_headers: bool,
}

fn recipients(a: Option<&Address<'_>>) -> Vec<Recipient> {
    a.map(|a| {
        a.iter()
            .filter_map(|r| {
                r.address().map(|address| Recipient { name: r.name().map(str::to_owned), address: address.to_owned() })
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The first 255 characters of a body's text, its white space collapsed.
pub fn preview(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(255).collect()
}

/// `Re:`/`Fw:` prefixes off a subject: what the messages of one conversation share.
fn topic(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        match ["re:", "fw:", "fwd:"].iter().find(|p| lower.starts_with(*p)) {
            Some(p) => s = s[p.len()..].trim_start(),
            None => return s.to_lowercase(),
        }
    }
}

/// A conversation's id: the same for every message of a topic in a mailbox.
pub fn conversation_id(mailbox: &str, subject: &str) -> String {
    let a = backstore_domain::stable_hash(&format!("conversation\u{1f}{mailbox}\u{1f}{}", topic(subject)));
    let b = backstore_domain::stable_hash(&format!("conversation-2\u{1f}{mailbox}\u{1f}{}", topic(subject)));
    let mut bytes = a.to_be_bytes().to_vec();
    bytes.extend(b.to_be_bytes());
    format!("AAQk{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What Graph derives from a MIME message, as a message received at `now` in `mailbox`; `None`
/// when the bytes are not a message.
pub fn derive(mime: &[u8], mailbox: &str, now: DateTime<Utc>) -> Option<Derived> {
    let m = MessageParser::default().parse(mime)?;
    let subject = m.subject().unwrap_or_default().to_owned();
    let body = body_of(&m, None);
    let text = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
    let fields = MessageFields {
        from: recipients(m.from()).into_iter().next(),
        to: recipients(m.to()),
        cc: recipients(m.cc()),
        bcc: recipients(m.bcc()),
        reply_to: recipients(m.reply_to()),
        received_at: now,
        sent_at: m.date().and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        has_attachments: m.attachments().any(|p| p.content_disposition().is_none_or(|d| !d.is_inline())),
        is_read: true,
        is_draft: true,
        importance: match m.header_raw("Importance").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("high") => "high".into(),
            Some("low") => "low".into(),
            _ => "normal".into(),
        },
        categories: Vec::new(),
        flag_status: "notFlagged".into(),
        internet_message_id: m.message_id().map(|id| format!("<{id}>")),
        conversation_id: conversation_id(mailbox, &subject),
        body_preview: preview(&text),
        subject,
    };
    // A header of a name mail knows (`From`, `Content-Type`, …): bytes that are not mail parse
    // into at most some of unknown names.
    let has_headers = m.headers().iter().any(|h| !matches!(h.name, mail_parser::HeaderName::Other(_)));
    Some(Derived { fields, body, has_headers })
}

fn body_of(m: &mail_parser::Message<'_>, prefer_text: Option<bool>) -> Body {
    // The parser offers every text part as HTML too: the message has HTML when its part is HTML.
    let html = m.html_part(0).is_some_and(|p| p.is_text_html());
    let as_text = prefer_text.unwrap_or(!html);
    if as_text {
        Body { content_type: "text", content: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default() }
    } else {
        Body { content_type: "html", content: m.body_html(0).map(|t| t.into_owned()).unwrap_or_default() }
    }
}

/// A stored message's body: as it is (HTML when it has HTML), or as `prefer_text` asks.
pub fn body(mime: &[u8], prefer_text: Option<bool>) -> Body {
    match MessageParser::default().parse(mime) {
        Some(m) => body_of(&m, prefer_text),
        None => Body { content_type: "text", content: String::new() },
    }
}

/// An attachment of a message, as Graph shows a `fileAttachment`: its id is its place among the
/// message's attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub is_inline: bool,
    pub content_id: Option<String>,
    pub bytes: Vec<u8>,
}

/// A new attachment of a message created from JSON.
pub struct NewAttachment {
    pub name: String,
    pub content_type: String,
    pub is_inline: bool,
    pub content_id: Option<String>,
    pub bytes: Vec<u8>,
}

impl From<Attachment> for NewAttachment {
    fn from(a: Attachment) -> Self {
        NewAttachment {
            name: a.name,
            content_type: a.content_type,
            is_inline: a.is_inline,
            content_id: a.content_id,
            bytes: a.bytes,
        }
    }
}

/// An attachment's id: derived from its name, type and bytes (and, for copies of one attachment
/// in a message, which copy it is), so it stays the same when other attachments come and go.
fn attachment_id(name: &str, content_type: &str, bytes: &[u8], copy: usize) -> String {
    let mut h = blake3::Hasher::new();
    for part in [name.as_bytes(), content_type.as_bytes(), bytes, &copy.to_le_bytes()] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h.finalize().as_bytes()[..15]);
    format!("AAMkATT{id}")
}

/// A message's attachments, in MIME order.
pub fn attachments(mime: &[u8]) -> Vec<Attachment> {
    let Some(m) = MessageParser::default().parse(mime) else { return Vec::new() };
    let mut out: Vec<Attachment> = Vec::new();
    for p in m.attachments() {
        let content_type = p.content_type().map_or_else(
            || "application/octet-stream".to_owned(),
            |t| match t.subtype() {
                Some(sub) => format!("{}/{sub}", t.ctype()),
                None => t.ctype().to_owned(),
            },
        );
        let name = p.attachment_name().unwrap_or("attachment").to_owned();
        let bytes = p.contents().to_vec();
        let copy = out.iter().filter(|a| a.name == name && a.content_type == content_type && a.bytes == bytes).count();
        out.push(Attachment {
            id: attachment_id(&name, &content_type, &bytes, copy),
            name,
            content_type,
            is_inline: p.content_disposition().is_some_and(|d| d.is_inline()),
            content_id: p.content_id().map(str::to_owned),
            bytes,
        });
    }
    out
}

/// What a message created from JSON says about itself.
pub struct Compose<'a> {
    pub subject: &'a str,
    pub body: &'a Body,
    pub from: Option<&'a Recipient>,
    pub to: &'a [Recipient],
    pub cc: &'a [Recipient],
    pub bcc: &'a [Recipient],
    pub reply_to: &'a [Recipient],
    pub date: DateTime<Utc>,
    /// Without angle brackets.
    pub message_id: &'a str,
    pub importance: &'a str,
    pub attachments: &'a [NewAttachment],
}

fn out_list(rs: &[Recipient]) -> OutAddress<'_> {
    OutAddress::new_list(rs.iter().map(|r| OutAddress::new_address(r.name.as_deref(), r.address.as_str())).collect())
}

/// The MIME of a message created from JSON.
pub fn compose(c: &Compose<'_>) -> Vec<u8> {
    // The day of the month is written with two digits (RFC 5322 allows one or two), so a message's
    // size does not depend on the day it was dated: generated mail of one seed has the same bytes
    // whenever it is made.
    let date = c.date.format("%a, %d %b %Y %H:%M:%S +0000").to_string();
    let mut b = MessageBuilder::new()
        .subject(c.subject)
        .header("Date", mail_builder::headers::raw::Raw::new(date))
        .message_id(c.message_id);
    if let Some(f) = c.from {
        b = b.from(OutAddress::new_address(f.name.as_deref(), f.address.as_str()));
    }
    for (list, set) in [(c.to, 0), (c.cc, 1), (c.bcc, 2), (c.reply_to, 3)] {
        if list.is_empty() {
            continue;
        }
        b = match set {
            0 => b.to(out_list(list)),
            1 => b.cc(out_list(list)),
            2 => b.bcc(out_list(list)),
            _ => b.reply_to(out_list(list)),
        };
    }
    if c.importance != "normal" {
        b = b.header("Importance", mail_builder::headers::raw::Raw::new(c.importance.to_owned()));
    }
    // The structure is built here, with a boundary derived from the message's id, so the same
    // message composes to the same bytes (the builder's own boundaries are random).
    let body_type = if c.body.content_type == "html" { "text/html" } else { "text/plain" };
    let body = MimePart::new(ContentType::new(body_type), c.body.content.as_str());
    let part = if c.attachments.is_empty() {
        body
    } else {
        let mut parts = vec![body];
        for a in c.attachments {
            // An inline part's name rides on its Content-Type, as mail clients write it.
            let typed = ContentType::new(a.content_type.as_str()).attribute("name", a.name.as_str());
            parts.push(match (&a.content_id, a.is_inline) {
                (Some(cid), true) => MimePart::new(typed, a.bytes.as_slice()).inline().cid(cid.as_str()),
                _ => MimePart::new(typed, a.bytes.as_slice()).attachment(a.name.as_str()),
            });
        }
        let boundary = format!("_bs_{:016x}", backstore_domain::stable_hash(c.message_id));
        MimePart::new(ContentType::new("multipart/mixed").attribute("boundary", boundary), parts)
    };
    b = b.body(part);
    b.write_to_vec().expect("writing to memory cannot fail")
}

/// The MIME of a message that says `f`, holding `body` and `attachments`; `message_id` is its
/// `Message-ID` without angle brackets, and its date is when it was sent (or received).
pub fn compose_fields(f: &MessageFields, body: &Body, message_id: &str, attachments: &[NewAttachment]) -> Vec<u8> {
    compose(&Compose {
        subject: &f.subject,
        body,
        from: f.from.as_ref(),
        to: &f.to,
        cc: &f.cc,
        bcc: &f.bcc,
        reply_to: &f.reply_to,
        date: f.sent_at.unwrap_or(f.received_at),
        message_id,
        importance: &f.importance,
        attachments,
    })
}

/// The preview of `body` as `mime` holds it: an HTML body's text, not its markup.
pub fn body_preview(body: &Body, mime: &[u8]) -> String {
    if body.content_type == "html" {
        preview(&self::body(mime, Some(true)).content)
    } else {
        preview(&body.content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIME: &str = "From: Ann Lee <ann@contoso.com>\r\nTo: Bob <bob@contoso.com>, carl@contoso.com\r\n\
        Subject: RE: Quarterly plan\r\nDate: Sun, 28 Feb 2021 07:15:00 +0000\r\nMessage-ID: <abc@contoso.com>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
        Content-Type: text/plain\r\n\r\nHello   Bob,\r\nthe plan is attached.\r\n--b1\r\n\
        Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=plan.pdf\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n";

    #[test]
    fn a_mime_message_gives_what_graph_derives() {
        let now = Utc::now();
        let d = derive(MIME.as_bytes(), "mbx", now).unwrap();
        let f = &d.fields;
        assert_eq!(f.subject, "RE: Quarterly plan");
        assert_eq!(f.from, Some(Recipient { name: Some("Ann Lee".into()), address: "ann@contoso.com".into() }));
        assert_eq!(
            f.to.iter().map(|r| r.address.as_str()).collect::<Vec<_>>(),
            ["bob@contoso.com", "carl@contoso.com"]
        );
        assert_eq!(f.sent_at.unwrap().to_rfc3339(), "2021-02-28T07:15:00+00:00");
        assert_eq!(f.received_at, now);
        assert_eq!(f.internet_message_id.as_deref(), Some("<abc@contoso.com>"));
        assert!(f.has_attachments);
        assert_eq!(f.body_preview, "Hello Bob, the plan is attached.");
        assert_eq!(d.body.content_type, "text");
        assert_eq!(f.conversation_id, conversation_id("mbx", "Quarterly plan"), "RE: is one conversation");
        // Bytes that are hardly a message are still held, as Exchange holds them; nothing is not.
        let junk = derive(b"\x00\x01 not a message", "mbx", now);
        assert!(junk.is_none_or(|d| d.fields.from.is_none() && d.fields.to.is_empty()));
        assert!(derive(b"", "mbx", now).is_none());
    }

    #[test]
    fn a_composed_message_reads_back_as_it_was_written() {
        let body = Body { content_type: "html", content: "<p>Hi <b>there</b></p>".into() };
        let to = [Recipient { name: Some("Bob".into()), address: "bob@contoso.com".into() }];
        let c = Compose {
            subject: "Lunch?",
            body: &body,
            from: None,
            to: &to,
            cc: &[],
            bcc: &[],
            reply_to: &[],
            date: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            message_id: "m1@backstore.local",
            importance: "high",
            attachments: &[NewAttachment {
                name: "notes.txt".into(),
                content_type: "text/plain".into(),
                is_inline: false,
                content_id: None,
                bytes: b"bring the notes".to_vec(),
            }],
        };
        let mime = compose(&c);
        let d = derive(&mime, "mbx", Utc::now()).unwrap();
        assert_eq!(compose(&c), mime, "the same message composes to the same bytes");
        assert_eq!((d.fields.subject.as_str(), d.fields.importance.as_str()), ("Lunch?", "high"));
        assert_eq!(d.fields.to, to);
        assert_eq!(d.fields.internet_message_id.as_deref(), Some("<m1@backstore.local>"));
        assert_eq!(d.body.content_type, "html");
        assert!(d.body.content.contains("<b>there</b>"), "{}", d.body.content);
        assert_eq!(body_of(&MessageParser::default().parse(&mime).unwrap(), Some(true)).content_type, "text");
        assert!(d.fields.has_attachments);
        let a = attachments(&mime);
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].name.as_str(), a[0].content_type.as_str(), a[0].is_inline),
            ("notes.txt", "text/plain", false)
        );
        assert_eq!(a[0].bytes, b"bring the notes");
        let original = attachments(MIME.as_bytes());
        assert_eq!((original[0].name.as_str(), original[0].bytes.as_slice()), ("plan.pdf", &b"%PDF-1.4\n"[..]));
    }

    #[test]
    fn a_message_is_as_long_on_the_ninth_of_a_month_as_on_the_tenth() {
        let body = Body { content_type: "text", content: "same".into() };
        let on = |day: u32| {
            let date =
                chrono::NaiveDate::from_ymd_opt(2026, 12, day).unwrap().and_hms_opt(23, 59, 58).unwrap().and_utc();
            let c = Compose {
                subject: "s",
                body: &body,
                from: None,
                to: &[],
                cc: &[],
                bcc: &[],
                reply_to: &[],
                date,
                message_id: "m@x",
                importance: "normal",
                attachments: &[],
            };
            let mime = compose(&c);
            (derive(&mime, "mbx", Utc::now()).unwrap().fields.sent_at, mime)
        };
        let (sent, ninth) = on(9);
        assert!(String::from_utf8_lossy(&ninth).contains("Date: Wed, 09 Dec 2026 23:59:58 +0000\r\n"));
        assert_eq!(sent.unwrap().to_rfc3339(), "2026-12-09T23:59:58+00:00");
        assert_eq!(on(10).1.len(), ninth.len());
    }
}
