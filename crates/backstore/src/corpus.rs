//! Deterministic, realistic file trees: what a SharePoint library or a OneDrive holds, for benches
//! (and the content seed). Documents compress like office files (words in markup), images and
//! archives do not, some files are exact copies elsewhere in the tree and some near copies (an
//! edited draft beside the original); [`Corpus::edit`] then changes a tree the way a week of work
//! does: files edited in place, appended to, added, deleted, renamed.

use std::path::{Path, PathBuf};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "report",
    "budget",
    "quarter",
    "project",
    "customer",
    "meeting",
    "review",
    "contoso",
    "fabrikam",
    "sales",
    "forecast",
    "team",
    "draft",
    "final",
    "approved",
    "revenue",
    "plan",
    "risk",
    "schedule",
    "update",
    "summary",
    "contract",
    "invoice",
    "policy",
    "design",
    "migration",
    "tenant",
    "backup",
    "restore",
    "onboarding",
    "training",
    "release",
    "milestone",
    "is",
    "for",
    "with",
    "on",
    "by",
    "this",
    "that",
    "we",
    "will",
    "our",
    "are",
    "from",
    "next",
    "week",
    "Monday",
    "Friday",
    "north",
    "region",
    "growth",
    "cost",
];

const FOLDERS: &[&str] = &[
    "Documents",
    "Finance",
    "Marketing",
    "Projects",
    "Shared",
    "Archive",
    "Contracts",
    "Reports",
    "Photos",
    "Presentations",
    "HR",
    "Legal",
    "2024",
    "2025",
    "2026",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "Drafts",
];

/// What kind of file, by how it compresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Words in markup (.docx/.xlsx/.pptx bodies, .txt, .csv, .html): compresses several times.
    Document,
    /// Already compressed (.jpg, .png, .zip, .mp4): does not compress.
    Media,
    /// Half and half (.pdf with embedded images).
    Mixed,
}

impl Kind {
    fn extension(self, rng: &mut ChaCha8Rng) -> &'static str {
        let pick = |rng: &mut ChaCha8Rng, of: &[&'static str]| of[rng.gen_range(0..of.len())];
        match self {
            Kind::Document => pick(rng, &["docx", "xlsx", "pptx", "txt", "csv", "html", "md"]),
            Kind::Media => pick(rng, &["jpg", "png", "zip", "mp4"]),
            Kind::Mixed => "pdf",
        }
    }
}

/// A generated tree on disk.
pub struct Corpus {
    root: PathBuf,
    rng: ChaCha8Rng,
    files: Vec<PathBuf>,
    next_name: u64,
}

/// Bytes of a file of `kind`.
fn content(rng: &mut ChaCha8Rng, kind: Kind, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    match kind {
        Kind::Media => {
            out.resize(len, 0);
            rng.fill_bytes(&mut out);
        }
        Kind::Document => {
            while out.len() < len {
                out.extend_from_slice(b"<w:p><w:r><w:t>");
                for _ in 0..rng.gen_range(6..24) {
                    out.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())].as_bytes());
                    out.push(b' ');
                }
                out.extend_from_slice(format!("{}", rng.gen_range(0..100_000)).as_bytes());
                out.extend_from_slice(b"</w:t></w:r></w:p>\n");
            }
            out.truncate(len);
        }
        Kind::Mixed => {
            let half = len / 2;
            out = content(rng, Kind::Document, half);
            out.extend_from_slice(&content(rng, Kind::Media, len - half));
        }
    }
    out
}

/// A file size like those of a document library: mostly tens to hundreds of KiB, some MiB, a few
/// tens of MiB (log-uniform between 2 KiB and 24 MiB, skewed small).
fn size(rng: &mut ChaCha8Rng) -> usize {
    let exp: f64 = rng.gen_range(11.0f64..24.5).min(rng.gen_range(11.0f64..24.5));
    exp.exp2() as usize
}

impl Corpus {
    /// Writes a new tree of about `bytes` under `root` (which must not exist yet).
    pub fn generate(root: &Path, bytes: u64, seed: u64) -> std::io::Result<Corpus> {
        std::fs::create_dir_all(root)?;
        let mut corpus =
            Corpus { root: root.to_owned(), rng: ChaCha8Rng::seed_from_u64(seed), files: Vec::new(), next_name: 0 };
        let mut total = 0u64;
        while total < bytes {
            total += corpus.add_file()?;
        }
        Ok(corpus)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Bytes of every file now in the tree.
    pub fn bytes(&self) -> u64 {
        self.files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum()
    }

    pub fn files(&self) -> usize {
        self.files.len()
    }

    fn folder(&mut self) -> PathBuf {
        let depth = self.rng.gen_range(0..4);
        let mut dir = self.root.clone();
        for _ in 0..depth {
            dir.push(FOLDERS[self.rng.gen_range(0..FOLDERS.len())]);
        }
        dir
    }

    fn name(&mut self, ext: &str) -> String {
        self.next_name += 1;
        let word = WORDS[self.rng.gen_range(5..WORDS.len())];
        format!("{word}-{}.{ext}", self.next_name)
    }

    /// Adds one file (a new one, an exact copy, or a near copy of an existing one); its size.
    fn add_file(&mut self) -> std::io::Result<u64> {
        let roll = self.rng.gen_range(0..100);
        let dir = self.folder();
        std::fs::create_dir_all(&dir)?;
        let copied = |from: &Path| from.extension().and_then(|e| e.to_str()).unwrap_or("bin").to_owned();
        let (data, ext) = if roll < 8 && !self.files.is_empty() {
            // An exact copy elsewhere ("Copy of …", a file mailed around and saved again).
            let from = self.files[self.rng.gen_range(0..self.files.len())].clone();
            (std::fs::read(&from)?, copied(&from))
        } else if roll < 16 && !self.files.is_empty() {
            // A near copy: the same document, edited.
            let from = self.files[self.rng.gen_range(0..self.files.len())].clone();
            let mut data = std::fs::read(&from)?;
            self.edit_bytes(&mut data);
            (data, copied(&from))
        } else {
            let kind = match self.rng.gen_range(0..100) {
                0..=59 => Kind::Document,
                60..=84 => Kind::Media,
                _ => Kind::Mixed,
            };
            let len = size(&mut self.rng);
            (content(&mut self.rng, kind, len), kind.extension(&mut self.rng).to_owned())
        };
        let path = dir.join(self.name(&ext));
        std::fs::write(&path, &data)?;
        self.files.push(path);
        Ok(data.len() as u64)
    }

    /// An edit inside a file: a paragraph rewritten, one inserted, or text appended.
    fn edit_bytes(&mut self, data: &mut Vec<u8>) {
        let at = if data.is_empty() { 0 } else { self.rng.gen_range(0..data.len()) };
        let len = self.rng.gen_range(100..4000);
        let patch = content(&mut self.rng, Kind::Document, len);
        match self.rng.gen_range(0..3) {
            0 => {
                let end = (at + patch.len()).min(data.len());
                data.splice(at..end, patch);
            }
            1 => {
                data.splice(at..at, patch);
            }
            _ => data.extend_from_slice(&patch),
        }
    }

    /// A week of work: about `percent` % of the files edited, and as many again added, deleted or
    /// renamed between them.
    pub fn edit(&mut self, percent: u32) -> std::io::Result<()> {
        let n = (self.files.len() as u64 * u64::from(percent)).div_ceil(100) as usize;
        for _ in 0..n {
            let i = self.rng.gen_range(0..self.files.len());
            let path = self.files[i].clone();
            let mut data = std::fs::read(&path)?;
            self.edit_bytes(&mut data);
            std::fs::write(&path, data)?;
        }
        for _ in 0..n.div_ceil(2) {
            self.add_file()?;
        }
        for _ in 0..n.div_ceil(4) {
            let i = self.rng.gen_range(0..self.files.len());
            std::fs::remove_file(self.files.swap_remove(i))?;
        }
        for _ in 0..n.div_ceil(4) {
            let i = self.rng.gen_range(0..self.files.len());
            let ext = self.files[i].extension().and_then(|e| e.to_str()).unwrap_or("bin").to_owned();
            let name = self.name(&ext);
            let to = self.files[i].with_file_name(name);
            std::fs::rename(&self.files[i], &to)?;
            self.files[i] = to;
        }
        Ok(())
    }
}
