//! Generated mail for `seed --content`: a mailbox's folder tree filled with threads between people
//! of the tenant's directory, bodies of plain and HTML text, attachments of real types (some the
//! very same file in many messages, as a policy handbook sent around is), and the changes a mailbox
//! sees between restore points: new mail, moves to the archive, deletions and messages read.
//! Deterministic: the same seed gives the same mail.

use backstore_api::mail_store::{put_message, PutError};
use backstore_api::mime::{self, Body, Compose, NewAttachment};
use backstore_domain::Timestamp;
use backstore_store::sql::drives::DriveRecord;
use backstore_store::sql::mail_messages::{MessageChange, Recipient};
use backstore_store::sql::mailboxes::well_known_id;
use backstore_store::{Store, StoreError, Writer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::content::Content;

/// The folders made below the well-known ones, by parent's well-known name.
const FOLDERS: &[(&str, &str)] =
    &[("inbox", "Projects"), ("inbox", "Clients"), ("inbox", "Newsletters"), ("archive", "2025")];

const TOPICS: &[&str] = &[
    "Quarterly plan",
    "Budget review",
    "Customer escalation",
    "Offsite agenda",
    "Hiring update",
    "Release checklist",
    "Contract renewal",
    "Security training",
    "Travel approval",
    "Design review",
    "Team lunch",
    "Vendor invoice",
];

const WORDS: &[&str] = &[
    "please",
    "review",
    "the",
    "attached",
    "draft",
    "before",
    "friday",
    "we",
    "need",
    "numbers",
    "from",
    "finance",
    "and",
    "a",
    "decision",
    "on",
    "scope",
    "thanks",
    "for",
    "quick",
    "turnaround",
    "let",
    "me",
    "know",
    "if",
    "anything",
    "is",
    "missing",
    "customer",
    "meeting",
    "moved",
    "to",
    "next",
    "week",
    "agenda",
    "updated",
];

/// One attachment everybody forwards: the same bytes in many messages.
const HANDBOOK: (&str, &str, usize) = ("Policy handbook.pdf", "application/pdf", 180_000);

/// Kinds of attachments made per message: name, type, size range, leading bytes.
const KINDS: &[(&str, &str, usize, usize, &[u8])] = &[
    ("report.pdf", "application/pdf", 20_000, 150_000, b"%PDF-1.7\n"),
    ("budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 8_000, 60_000, b"PK\x03\x04"),
    ("photo.jpg", "image/jpeg", 30_000, 250_000, b"\xff\xd8\xff\xe0"),
    ("notes.txt", "text/plain", 500, 6_000, b""),
];

fn bytes_of(rng: &mut ChaCha8Rng, lead: &[u8], len: usize, text: bool) -> Vec<u8> {
    let mut out = lead.to_vec();
    while out.len() < len {
        if text {
            out.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())].as_bytes());
            out.push(if rng.gen_ratio(1, 12) { b'\n' } else { b' ' });
        } else {
            out.push(rng.r#gen());
        }
    }
    out.truncate(len);
    out
}

fn sentence(rng: &mut ChaCha8Rng) -> String {
    let n = rng.gen_range(6..16);
    let words: Vec<&str> = (0..n).map(|_| WORDS[rng.gen_range(0..WORDS.len())]).collect();
    let mut s = words.join(" ");
    s[..1].make_ascii_uppercase();
    s + "."
}

/// A mailbox being filled and changed.
pub struct MailboxCorpus {
    rng: ChaCha8Rng,
    mailbox: DriveRecord,
    owner: Recipient,
    people: Vec<Recipient>,
    folders: Vec<String>,
    handbook: Vec<u8>,
    /// Live messages: id and folder.
    messages: Vec<(String, String)>,
    pub bytes: u64,
    threads: u32,
}

fn failed(e: PutError) -> StoreError {
    match e {
        PutError::Store(e) => e,
        PutError::Content(e) => StoreError::InvalidTreeChange(format!("seeding mail: {e}")),
    }
}

impl MailboxCorpus {
    /// Makes the mailbox's folders and fills them with about `bytes` of mail received up to `now`.
    #[allow(clippy::too_many_arguments)]
    pub async fn generate(
        store: &Store,
        content: &Content,
        w: Writer<'_>,
        mailbox: DriveRecord,
        owner: Recipient,
        people: Vec<Recipient>,
        bytes: u64,
        seed: u64,
    ) -> Result<MailboxCorpus, StoreError> {
        let rng = ChaCha8Rng::seed_from_u64(seed);
        let handbook = bytes_of(&mut ChaCha8Rng::seed_from_u64(7), b"%PDF-1.4\n", HANDBOOK.2, false);
        let mut folders: Vec<String> =
            ["inbox", "sentitems", "archive"].iter().map(|n| well_known_id(&mailbox, n).expect("well known")).collect();
        for (parent, name) in FOLDERS {
            let parent = well_known_id(&mailbox, parent).expect("well known");
            let made = match store.create_mail_folder(w, &mailbox.drive_id, &parent, name, false).await {
                Ok(f) => f.id,
                Err(StoreError::NameExists(_)) => {
                    let all = store.mail_folders(w.tenant, &mailbox.drive_id, &parent, true).await?;
                    all.into_iter().find(|f| f.display_name == *name).map(|f| f.id).ok_or(StoreError::ItemNotFound)?
                }
                Err(e) => return Err(e),
            };
            folders.push(made);
        }
        let people = if people.is_empty() { vec![owner.clone()] } else { people };
        let mut corpus = MailboxCorpus {
            rng,
            mailbox,
            owner,
            people,
            folders,
            handbook,
            messages: Vec::new(),
            bytes: 0,
            threads: 0,
        };
        while corpus.bytes < bytes {
            let at = w.now - chrono::Duration::seconds(corpus.rng.gen_range(0..30 * 86_400));
            corpus.add_thread(store, content, w, at).await?;
        }
        Ok(corpus)
    }

    /// The mailbox's id among the drives.
    pub fn mailbox_id(&self) -> &str {
        &self.mailbox.drive_id
    }

    /// A thread of one to four messages on a topic, the last received at `at`.
    async fn add_thread(
        &mut self,
        store: &Store,
        content: &Content,
        w: Writer<'_>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.threads += 1;
        let topic = format!("{} #{}", TOPICS[self.rng.gen_range(0..TOPICS.len())], self.threads);
        let replies = self.rng.gen_range(1..=4);
        let folder = self.folders[self.rng.gen_range(0..self.folders.len())].clone();
        for n in 0..replies {
            let subject = if n == 0 { topic.clone() } else { format!("RE: {topic}") };
            let received = at - chrono::Duration::minutes(37 * i64::from(replies - 1 - n));
            self.add_message(store, content, w, &folder, &subject, received).await?;
        }
        Ok(())
    }

    async fn add_message(
        &mut self,
        store: &Store,
        content: &Content,
        w: Writer<'_>,
        folder: &str,
        subject: &str,
        received: Timestamp,
    ) -> Result<(), StoreError> {
        let rng = &mut self.rng;
        let from = self.people[rng.gen_range(0..self.people.len())].clone();
        let mut to = vec![self.owner.clone()];
        if rng.gen_ratio(1, 3) {
            to.push(self.people[rng.gen_range(0..self.people.len())].clone());
        }
        let paragraphs: Vec<String> = (0..rng.gen_range(1..5)).map(|_| sentence(rng)).collect();
        let body = if rng.gen_ratio(1, 2) {
            Body { content_type: "html", content: paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect() }
        } else {
            Body { content_type: "text", content: paragraphs.join("\r\n\r\n") }
        };
        let mut attachments = Vec::new();
        if rng.gen_ratio(1, 6) {
            let (name, ct, _) = HANDBOOK;
            attachments.push(NewAttachment {
                name: name.into(),
                content_type: ct.into(),
                is_inline: false,
                content_id: None,
                bytes: self.handbook.clone(),
            });
        }
        if rng.gen_ratio(1, 4) {
            let (name, ct, lo, hi, lead) = KINDS[rng.gen_range(0..KINDS.len())];
            let len = rng.gen_range(lo..hi);
            attachments.push(NewAttachment {
                name: name.into(),
                content_type: ct.into(),
                is_inline: false,
                content_id: None,
                bytes: bytes_of(rng, lead, len, ct == "text/plain"),
            });
        }
        let message_id = format!("{:016x}.{}@{}", rng.r#gen::<u64>(), self.threads, "backstore.seed");
        let mime_bytes = mime::compose(&Compose {
            subject,
            body: &body,
            from: Some(&from),
            to: &to,
            cc: &[],
            bcc: &[],
            reply_to: &[],
            date: received - chrono::Duration::seconds(rng.gen_range(5..600)),
            message_id: &message_id,
            importance: if rng.gen_ratio(1, 10) { "high" } else { "normal" },
            attachments: &attachments,
        });
        let mut fields =
            mime::derive(&mime_bytes, &self.mailbox.drive_id, received).expect("a composed message parses").fields;
        fields.is_draft = false;
        fields.is_read = received < w.now - chrono::Duration::days(2) || rng.gen_ratio(1, 2);
        if rng.gen_ratio(1, 8) {
            fields.categories = vec![["Red category", "Blue category", "Green category"][rng.gen_range(0..3)].into()];
        }
        let m = put_message(content, store, w, &self.mailbox.drive_id, folder, &mime_bytes, &fields)
            .await
            .map_err(failed)?;
        self.bytes += m.size;
        self.messages.push((m.id, folder.to_owned()));
        Ok(())
    }

    /// What a mailbox sees between two restore points, up to `w.now`: new mail (about `percent` of
    /// its messages, received in the hour before), some moved to the archive, some deleted, some read.
    pub async fn edit(
        &mut self,
        store: &Store,
        content: &Content,
        w: Writer<'_>,
        percent: u32,
    ) -> Result<(), StoreError> {
        let n = (self.messages.len() * percent as usize / 100).max(1);
        for _ in 0..n.div_ceil(2) {
            let at = w.now - chrono::Duration::seconds(self.rng.gen_range(0..3_600));
            self.add_thread(store, content, w, at).await?;
        }
        let archive = well_known_id(&self.mailbox, "archive").expect("well known");
        for _ in 0..n.div_ceil(4) {
            if self.messages.is_empty() {
                break;
            }
            let i = self.rng.gen_range(0..self.messages.len());
            match self.rng.gen_range(0..3) {
                0 => {
                    let (id, _) = self.messages.remove(i);
                    store.delete_message(w, &self.mailbox.drive_id, &id).await?;
                }
                1 => {
                    store.move_message(w, &self.mailbox.drive_id, &self.messages[i].0, &archive).await?;
                    self.messages[i].1 = archive.clone();
                }
                _ => {
                    let change = MessageChange { is_read: Some(true), ..MessageChange::default() };
                    store.update_message(w, &self.mailbox.drive_id, &self.messages[i].0, &change).await?;
                }
            }
        }
        Ok(())
    }
}
