//! The granular mail search language of `restorePoints/search` (`artifactQuery.queryExpression`):
//! parenthesised clauses joined with `-and` / `-or` (`-and` binds tighter), each a property, an
//! operator and a quoted value:
//!
//! | property | operators | matches |
//! |---|---|---|
//! | `Subject` | `-like`, `-eq` | the subject |
//! | `Sender` | `-like`, `-eq` | the sender's display name, address or alias |
//! | `Participants` | `-like`, `-eq` | a To, Cc or Bcc recipient's display name, address or alias |
//! | `HasAttachment` | `-eq` `'true'` / `'false'` | whether the message has attachments |
//! | `MessageKind` | `-eq` `Email`, `Note`, `Task`, `Contact`, `Calendar` | the item's kind (mail is `Email`) |
//!
//! `-like` takes `*` as a wildcard; every comparison ignores case. Beta's
//! `structuredQueryExpression` (senders, subjects, recipients, hasAttachment, items) is turned into
//! the same tree ([`Query::structured`]). A query that does not parse is refused with the position
//! of the first character that does not fit.

use std::fmt;

/// What a clause looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prop {
    Subject,
    Sender,
    Participants,
    HasAttachment,
    MessageKind,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// `-like` (with `*`) or `-eq` (without): a pattern over a text property.
    Text(Prop, String),
    HasAttachment(bool),
    Kind(String),
    And(Box<Query>, Box<Query>),
    Or(Box<Query>, Box<Query>),
    /// Matches every message (an empty structured query).
    All,
}

/// Why a query does not parse, and where (0-based character position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at position {} of the query expression)", self.message, self.position)
    }
}

/// What a query is matched against: one message.
#[derive(Debug, Clone, Default)]
pub struct MessageFacts<'a> {
    pub subject: &'a str,
    /// The sender's display name and address.
    pub sender: Vec<&'a str>,
    /// Every To, Cc and Bcc recipient's display name and address.
    pub participants: Vec<&'a str>,
    pub has_attachment: bool,
}

const KINDS: [&str; 5] = ["Email", "Note", "Task", "Contact", "Calendar"];

/// `*` matches any run of characters; the rest matches itself, ignoring case.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) =
        (pattern.to_lowercase().chars().collect(), text.to_lowercase().chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether an address-like value (`name <a@b>` parts) matches: the value itself or its alias.
fn person_matches(pattern: &str, value: &str) -> bool {
    glob(pattern, value) || value.split_once('@').is_some_and(|(alias, _)| glob(pattern, alias))
}

impl Query {
    pub fn matches(&self, m: &MessageFacts<'_>) -> bool {
        match self {
            Query::All => true,
            Query::Text(Prop::Subject, p) => glob(p, m.subject),
            Query::Text(Prop::Sender, p) => m.sender.iter().any(|v| person_matches(p, v)),
            Query::Text(Prop::Participants, p) => m.participants.iter().any(|v| person_matches(p, v)),
            Query::Text(..) => false,
            Query::HasAttachment(b) => m.has_attachment == *b,
            Query::Kind(k) => k.eq_ignore_ascii_case("Email"),
            Query::And(a, b) => a.matches(m) && b.matches(m),
            Query::Or(a, b) => a.matches(m) || b.matches(m),
        }
    }

    /// Beta's `structuredQueryExpression`: any of the senders, and any of the subjects, and any of
    /// the recipients, and the attachment condition, and any of the item kinds (what is absent or
    /// empty does not narrow).
    pub fn structured(
        senders: &[String],
        subjects: &[String],
        recipients: &[String],
        has_attachment: Option<bool>,
        items: &[String],
    ) -> Query {
        let any = |prop: Prop, values: &[String]| {
            values.iter().map(|v| Query::Text(prop, v.clone())).reduce(|a, b| Query::Or(Box::new(a), Box::new(b)))
        };
        let kinds = items
            .iter()
            .map(|i| Query::Kind(if i.eq_ignore_ascii_case("email") { "Email".into() } else { i.clone() }))
            .reduce(|a, b| Query::Or(Box::new(a), Box::new(b)));
        [any(Prop::Sender, senders), any(Prop::Subject, subjects), any(Prop::Participants, recipients)]
            .into_iter()
            .chain([has_attachment.map(Query::HasAttachment), kinds])
            .flatten()
            .reduce(|a, b| Query::And(Box::new(a), Box::new(b)))
            .unwrap_or(Query::All)
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, QueryError> {
        Err(QueryError { position: self.at, message: message.into() })
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    /// A word of letters (and a leading `-`), without moving if there is none.
    fn peek_word(&self) -> String {
        let mut end = self.at;
        if self.chars.get(end) == Some(&'-') {
            end += 1;
        }
        while self.chars.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
            end += 1;
        }
        self.chars[self.at..end].iter().collect()
    }

    fn expr(&mut self) -> Result<Query, QueryError> {
        let mut left = self.conjunction()?;
        loop {
            self.skip_ws();
            if self.peek_word().eq_ignore_ascii_case("-or") {
                self.at += 3;
                let right = self.conjunction()?;
                left = Query::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn conjunction(&mut self) -> Result<Query, QueryError> {
        let mut left = self.term()?;
        loop {
            self.skip_ws();
            if self.peek_word().eq_ignore_ascii_case("-and") {
                self.at += 4;
                let right = self.term()?;
                left = Query::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn term(&mut self) -> Result<Query, QueryError> {
        self.skip_ws();
        if self.chars.get(self.at) == Some(&'(') {
            self.at += 1;
            let inner = self.expr()?;
            self.skip_ws();
            if self.chars.get(self.at) != Some(&')') {
                return self.fail("expected ')'");
            }
            self.at += 1;
            return Ok(inner);
        }
        self.clause()
    }

    fn clause(&mut self) -> Result<Query, QueryError> {
        let word = self.peek_word();
        let prop = match word.to_ascii_lowercase().as_str() {
            "subject" => Prop::Subject,
            "sender" => Prop::Sender,
            "participants" => Prop::Participants,
            "hasattachment" => Prop::HasAttachment,
            "messagekind" => Prop::MessageKind,
            "" => return self.fail("expected a clause: Subject, Sender, Participants, HasAttachment or MessageKind"),
            _ => {
                return self.fail(format!(
                    "'{word}' is not a property a search can look at (Subject, Sender, Participants, HasAttachment, MessageKind)"
                ))
            }
        };
        self.at += word.chars().count();
        self.skip_ws();
        let op_at = self.at;
        let op = self.peek_word().to_ascii_lowercase();
        let like = match op.as_str() {
            "-like" if matches!(prop, Prop::Subject | Prop::Sender | Prop::Participants) => true,
            "-eq" => false,
            _ => {
                return self.fail(format!(
                    "'{word}' takes {}",
                    if matches!(prop, Prop::HasAttachment | Prop::MessageKind) { "-eq" } else { "-like or -eq" }
                ))
            }
        };
        self.at = op_at + op.chars().count();
        self.skip_ws();
        let value_at = self.at;
        let value = self.quoted()?;
        match prop {
            Prop::HasAttachment => match value.to_ascii_lowercase().as_str() {
                "true" => Ok(Query::HasAttachment(true)),
                "false" => Ok(Query::HasAttachment(false)),
                _ => Err(QueryError {
                    position: value_at,
                    message: format!("HasAttachment is 'true' or 'false', not '{value}'"),
                }),
            },
            Prop::MessageKind => match KINDS.iter().find(|k| k.eq_ignore_ascii_case(&value)) {
                Some(k) => Ok(Query::Kind((*k).to_owned())),
                None => Err(QueryError {
                    position: value_at,
                    message: format!("'{value}' is not a MessageKind (Email, Note, Task, Contact, Calendar)"),
                }),
            },
            _ if !like && value.contains('*') => {
                Err(QueryError { position: value_at, message: "-eq takes no wildcard; use -like".into() })
            }
            _ => Ok(Query::Text(prop, value)),
        }
    }

    fn quoted(&mut self) -> Result<String, QueryError> {
        if self.chars.get(self.at) != Some(&'\'') {
            return self.fail("expected a value in single quotes");
        }
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.chars.get(self.at) {
                None => return self.fail("the quoted value does not end"),
                Some('\'') if self.chars.get(self.at + 1) == Some(&'\'') => {
                    out.push('\'');
                    self.at += 2;
                }
                Some('\'') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(*c);
                    self.at += 1;
                }
            }
        }
    }
}

/// Parses a `queryExpression`.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let mut p = Parser { chars: text.chars().collect(), at: 0, text };
    if p.text.trim().is_empty() {
        return p.fail("the query expression is empty");
    }
    let q = p.expr()?;
    p.skip_ws();
    if p.at < p.chars.len() {
        return p.fail("expected -and, -or or the end of the query");
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(subject: &'a str, sender: &'a str, to: &'a str, attached: bool) -> MessageFacts<'a> {
        MessageFacts { subject, sender: vec!["Ann Lee", sender], participants: vec![to], has_attachment: attached }
    }

    #[test]
    fn the_documented_examples_parse_and_match() {
        let q = parse("(Sender -like 'abc@contoso.com') -and (HasAttachment -eq 'true')").unwrap();
        assert!(q.matches(&facts("x", "ABC@contoso.com", "t@contoso.com", true)));
        assert!(!q.matches(&facts("x", "abc@contoso.com", "t@contoso.com", false)));
        let q = parse("(MessageKind -eq 'Calendar') -and (Sender -like 'admin@contoso.com')").unwrap();
        assert!(!q.matches(&facts("x", "admin@contoso.com", "t", false)), "mail is not a calendar item");
        let q = parse("(Subject -like 'Budget*') -or (Participants -like 'cfo*')").unwrap();
        assert!(q.matches(&facts("budget 2027", "a@b", "t@b", false)));
        assert!(q.matches(&facts("other", "a@b", "cfo@contoso.com", false)));
        assert!(!q.matches(&facts("the budget", "a@b", "t@b", false)));
        // An alias and a display name are the sender too; -and binds tighter than -or.
        assert!(parse("Sender -eq 'abc'").unwrap().matches(&facts("x", "abc@contoso.com", "t", false)));
        assert!(parse("Sender -like 'ann*'").unwrap().matches(&facts("x", "z@contoso.com", "t", false)));
        let q = parse("(Subject -eq 'a') -or (Subject -eq 'b') -and (HasAttachment -eq 'true')").unwrap();
        assert!(q.matches(&facts("a", "s", "t", false)));
        assert!(!q.matches(&facts("b", "s", "t", false)));
    }

    #[test]
    fn what_does_not_parse_says_where() {
        for (text, position) in [
            ("", 0),
            ("(Subject -like 'x'", 18),
            ("(Colour -eq 'red')", 1),
            ("(HasAttachment -like 'true')", 15),
            ("(HasAttachment -eq 'maybe')", 19),
            ("(Subject -like x)", 15),
            ("(Subject -like 'x') -nand (Sender -eq 'y')", 20),
            ("(Subject -eq 'x*')", 13),
            ("(Subject -like 'open", 20),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.position, position, "{text}: {e}");
        }
    }

    #[test]
    fn the_structured_form_is_the_same_tree() {
        let q = Query::structured(&["abc@contoso.com".into()], &[], &["t*".into()], Some(true), &["email".into()]);
        assert!(q.matches(&facts("x", "abc@contoso.com", "t@contoso.com", true)));
        assert!(!q.matches(&facts("x", "abc@contoso.com", "u@contoso.com", true)));
        assert_eq!(Query::structured(&[], &[], &[], None, &[]), Query::All);
    }
}
