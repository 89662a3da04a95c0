//! Graph's mail paths: `/users/{id or upn}/mailFolders`, then a folder (`/{id or well-known name}`)
//! and its `childFolders` to any depth, and `messages` of a folder or of the whole mailbox
//! (`/users/{u}/messages`), one message, its MIME (`$value`) and its `move`.

use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// What of a mailbox a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTail {
    /// The folder itself (the last of `folders`).
    Folder,
    /// The folders in the last of `folders`, or the mailbox's top folders when `folders` is empty.
    Folders,
    /// The messages of the last of `folders`, or of the whole mailbox when `folders` is empty.
    Messages,
    /// `messages/delta` of the last of `folders`.
    MessagesDelta,
    /// One message, by id, and what of it.
    Message(String, MessagePart),
}

/// What of a message a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessagePart {
    Entity,
    /// `$value`: its MIME.
    Value,
    /// `move` (or `microsoft.graph.move`).
    Move,
    /// `attachments`
    Attachments,
    /// `attachments/{id}`
    Attachment(String),
    /// `attachments/{id}/$value`: its raw content.
    AttachmentValue(String),
}

/// A user's mailbox, a chain of folders (each a child of the one before), and what of the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPath {
    /// The user's directory object id or user principal name.
    pub user: String,
    pub folders: Vec<String>,
    pub tail: MailTail,
}

/// Navigations of a mailbox and its folders that Graph has and backstore does not serve yet.
const UNSERVED: &[&str] =
    &["delta", "messageRules", "singleValueExtendedProperties", "multiValueExtendedProperties", "copy", "move"];

/// What Graph has of a message that backstore does not serve yet.
const MESSAGE_UNSERVED: &[&str] = &[
    "copy",
    "createForward",
    "createReply",
    "createReplyAll",
    "extensions",
    "forward",
    "reply",
    "replyAll",
    "send",
    "singleValueExtendedProperties",
    "multiValueExtendedProperties",
];

/// `Some` for a path under `/users/{u}/mailFolders` or `/users/{u}/messages` (without the version
/// prefix); `None` for any other path.
pub fn parse(path: &str) -> Option<Result<MailPath, ApiError>> {
    let segs: Vec<&str> = path.trim_start_matches('/').trim_end_matches('/').split('/').collect();
    let [users, user, nav, rest @ ..] = segs.as_slice() else { return None };
    if !users.eq_ignore_ascii_case("users") {
        return None;
    }
    if nav.eq_ignore_ascii_case("messages") {
        return Some(messages(rest).map(|tail| MailPath { user: decode(user), folders: Vec::new(), tail }));
    }
    // `mailFolders('{id}')`: the key in the navigation's segment.
    let (nav, key) = match nav.find('(') {
        Some(at) if nav.ends_with(')') => (&nav[..at], Some(&nav[at..])),
        _ => (*nav, None),
    };
    if !nav.eq_ignore_ascii_case("mailFolders") {
        return None;
    }
    let rest: Vec<&str> = key.into_iter().chain(rest.iter().copied()).collect();
    Some(folders(decode(user), &rest))
}

fn unserved(what: &str) -> ApiError {
    ApiError::NotImplemented(format!("{what} of mailboxes are not served by backstore yet."))
}

fn decode(seg: &str) -> String {
    let text = percent_decode_str(seg).decode_utf8_lossy().into_owned();
    // `('{id}')` and `{id}` address the same folder.
    match text.strip_prefix("('").and_then(|t| t.strip_suffix("')")) {
        Some(inner) => inner.to_owned(),
        None => text,
    }
}

fn folders(user: String, rest: &[&str]) -> Result<MailPath, ApiError> {
    let mut folders = Vec::new();
    let mut tail = MailTail::Folders;
    let mut it = rest.iter();
    while let Some(seg) = it.next() {
        if seg.is_empty() {
            return Err(ApiError::BadRequest("The path has an empty segment.".into()));
        }
        if UNSERVED.iter().any(|u| u.eq_ignore_ascii_case(seg)) {
            return Err(unserved(&format!("'{seg}'")));
        }
        folders.push(decode(seg));
        match it.next() {
            None => {
                tail = MailTail::Folder;
                break;
            }
            Some(nav) if nav.eq_ignore_ascii_case("childFolders") => tail = MailTail::Folders,
            Some(nav) if nav.eq_ignore_ascii_case("messages") => {
                let rest: Vec<&str> = it.copied().collect();
                tail = messages(&rest)?;
                break;
            }
            Some(nav) if UNSERVED.iter().any(|u| u.eq_ignore_ascii_case(nav)) => {
                return Err(unserved(&format!("'{nav}'")))
            }
            Some(nav) => {
                return Err(ApiError::BadRequest(format!(
                    "Resource not found for the segment '{nav}' of a mail folder."
                )))
            }
        }
    }
    Ok(MailPath { user, folders, tail })
}

/// What follows `…/messages`.
fn messages(rest: &[&str]) -> Result<MailTail, ApiError> {
    let is = |seg: &str, name: &str| {
        seg.eq_ignore_ascii_case(name) || seg.eq_ignore_ascii_case(&format!("microsoft.graph.{name}"))
    };
    match rest {
        [] => Ok(MailTail::Messages),
        [d] if is(d, "delta") || is(d, "delta()") => Ok(MailTail::MessagesDelta),
        [id] => Ok(MailTail::Message(decode(id), MessagePart::Entity)),
        [id, v] if *v == "$value" => Ok(MailTail::Message(decode(id), MessagePart::Value)),
        [id, m] if is(m, "move") => Ok(MailTail::Message(decode(id), MessagePart::Move)),
        [id, a] if a.eq_ignore_ascii_case("attachments") => Ok(MailTail::Message(decode(id), MessagePart::Attachments)),
        [_, a, s] if a.eq_ignore_ascii_case("attachments") && is(s, "createUploadSession") => {
            Err(ApiError::NotImplemented(
                "Attachment upload sessions are not served by backstore yet; add attachments under 3 MiB with POST …/attachments."
                    .into(),
            ))
        }
        [id, a, att] if a.eq_ignore_ascii_case("attachments") => {
            Ok(MailTail::Message(decode(id), MessagePart::Attachment(decode(att))))
        }
        [id, a, att, v] if a.eq_ignore_ascii_case("attachments") && *v == "$value" => {
            Ok(MailTail::Message(decode(id), MessagePart::AttachmentValue(decode(att))))
        }
        [_, nav, ..] if MESSAGE_UNSERVED.iter().any(|u| is(nav, u)) => Err(unserved(&format!("'{nav}' of messages"))),
        [_, nav, ..] => Err(ApiError::BadRequest(format!("Resource not found for the segment '{nav}' of a message."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(path: &str) -> MailPath {
        parse(path).expect("a mail path").expect("well formed")
    }

    #[test]
    fn folder_paths_name_their_chain_and_tail() {
        assert_eq!(
            ok("/users/u1/mailFolders"),
            MailPath { user: "u1".into(), folders: vec![], tail: MailTail::Folders }
        );
        assert_eq!(
            ok("/users/a%40b.com/MailFolders/Inbox"),
            MailPath { user: "a@b.com".into(), folders: vec!["Inbox".into()], tail: MailTail::Folder }
        );
        assert_eq!(
            ok("/users/u1/mailFolders/inbox/childFolders/f2/childFolders"),
            MailPath { user: "u1".into(), folders: vec!["inbox".into(), "f2".into()], tail: MailTail::Folders }
        );
        assert_eq!(ok("/users/u1/mailFolders('f1')").folders, vec!["f1".to_owned()]);
    }

    #[test]
    fn other_paths_are_not_mail_and_unserved_ones_say_so() {
        assert!(parse("/users/u1/drive").is_none());
        assert!(parse("/solutions/backupRestore").is_none());
        for p in [
            "/users/u1/mailFolders/inbox/messages/m1/forward",
            "/users/u1/mailFolders/delta",
            "/users/u1/messages/m1/attachments/createUploadSession",
        ] {
            assert!(matches!(parse(p), Some(Err(ApiError::NotImplemented(_)))), "{p}");
        }
        assert!(matches!(parse("/users/u1/mailFolders/inbox/bogus"), Some(Err(ApiError::BadRequest(_)))));
        assert!(matches!(parse("/users/u1/messages/m1/bogus"), Some(Err(ApiError::BadRequest(_)))));
    }

    #[test]
    fn message_paths_name_the_message_and_what_of_it() {
        let all = ok("/users/u1/messages");
        assert_eq!((all.folders.len(), all.tail), (0, MailTail::Messages));
        assert_eq!(ok("/users/u1/mailFolders/inbox/messages").tail, MailTail::Messages);
        assert_eq!(ok("/users/u1/mailFolders/inbox/messages/delta()").tail, MailTail::MessagesDelta);
        assert_eq!(ok("/users/u1/messages/m1").tail, MailTail::Message("m1".into(), MessagePart::Entity));
        let value = ok("/users/u1/mailFolders/inbox/childFolders/f2/messages/m1/$value");
        assert_eq!(value.folders, vec!["inbox".to_owned(), "f2".to_owned()]);
        assert_eq!(value.tail, MailTail::Message("m1".into(), MessagePart::Value));
        assert_eq!(
            ok("/users/u1/messages/m1/microsoft.graph.move").tail,
            MailTail::Message("m1".into(), MessagePart::Move)
        );
    }
}
