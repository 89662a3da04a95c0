//! Manifests: a folder as a list of entries, stored content-addressed like chunks.
//!
//! A file entry lists its chunks; a folder entry names its child manifest. A manifest's id is the
//! keyed hash of its canonical encoding (entries sorted by name, then id; JSON with fixed member
//! order), so equal folders get equal ids, a change to a file changes the ids on its path to the root
//! and nothing else, and a snapshot of a whole drive or mailbox is the root's id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::BlobId;

/// One chunk of a file's content: its id and plaintext length (so a range read can skip chunks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    pub id: BlobId,
    pub len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryKind {
    File,
    Folder,
}

/// One item of a folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub name: String,
    /// The item's id in the live tree it was taken from (a restore in place matches on it).
    pub id: String,
    pub kind: EntryKind,
    /// Bytes of a file; of everything below, for a folder.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<ChunkRef>,
    /// A folder's manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<BlobId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_by: Option<String>,
    /// What else the workload keeps about the item (a file's hashes and media type, a message's
    /// subject and sender), sorted so the encoding stays canonical.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, String>,
}

impl Entry {
    pub fn file(name: impl Into<String>, id: impl Into<String>, size: u64, chunks: Vec<ChunkRef>) -> Self {
        Entry {
            name: name.into(),
            id: id.into(),
            kind: EntryKind::File,
            size,
            chunks,
            tree: None,
            created: None,
            modified: None,
            created_by: None,
            modified_by: None,
            props: BTreeMap::new(),
        }
    }

    pub fn folder(name: impl Into<String>, id: impl Into<String>, size: u64, tree: BlobId) -> Self {
        Entry { kind: EntryKind::Folder, tree: Some(tree), ..Entry::file(name, id, size, Vec::new()) }
    }
}

/// A folder's manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub entries: Vec<Entry>,
}

impl Tree {
    /// The canonical bytes: entries in order of name, then id.
    pub fn encode(&self) -> Vec<u8> {
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        #[derive(Serialize)]
        struct Canonical<'a> {
            entries: Vec<&'a Entry>,
        }
        serde_json::to_vec(&Canonical { entries }).expect("a manifest serializes")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// Bytes of everything in the folder.
    pub fn size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}
