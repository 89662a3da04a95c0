//! `backstore bench content`: the content store's ingest on a generated document library and ten
//! edited versions of it, next to restic and rustic backing up the same directory in the same run
//! (when they are on the PATH), and to the single-core rates of BLAKE3, zstd, the AEAD and FastCDC
//! and the disk's write rate measured here too: the limits an ingest chases.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use backstore_content::{BlobId, Keyring, Objects, Repository};
use serde::Serialize;

use crate::corpus::Corpus;

/// What to measure.
pub struct Settings {
    /// Bytes of the generated library.
    pub size: u64,
    /// Edited versions after the first.
    pub versions: u32,
    /// Per cent of the files edited between versions (plus half as many added, a quarter deleted,
    /// a quarter renamed).
    pub edit_percent: u32,
    /// Where the library and every tool's repository go (removed afterwards).
    pub work_dir: PathBuf,
    /// Skip restic and rustic.
    pub no_peers: bool,
    /// Leave the work directory in place.
    pub keep: bool,
}

/// One tool's figures over all versions.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolFigures {
    pub tool: String,
    /// Seconds per version (the first reads everything; later ones skip unchanged files).
    pub seconds: Vec<f64>,
    /// Bytes the tool's repository takes on disk after the last version.
    pub stored_bytes: u64,
    /// The highest resident memory during any version.
    pub peak_rss_bytes: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub files: usize,
    /// Bytes of the library at each version.
    pub version_bytes: Vec<u64>,
    pub rates: backstore_content::rates::Rates,
    /// Sequential write with one `fsync` at the end, bytes/s.
    pub disk_write: f64,
    pub tools: Vec<ToolFigures>,
}

const MIB: f64 = 1024.0 * 1024.0;

/// The peak resident memory of a process (Linux `VmHWM`), in bytes.
fn peak_rss(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn du(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if meta.is_dir() {
        std::fs::read_dir(path).map(|d| d.flatten().map(|e| du(&e.path())).sum()).unwrap_or(0)
    } else {
        meta.len()
    }
}

fn on_path(program: &str) -> bool {
    Command::new(program).arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Runs a command to its end: its wall time, peak resident memory (sampled every 10 ms; the kernel's
/// high-water mark, so a sample late in the run covers what came before) and standard output.
fn run_child(mut command: Command) -> anyhow::Result<(Duration, u64, String)> {
    let started = Instant::now();
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().context("start")?;
    let pid = child.id().to_string();
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let mut peak = 0;
    loop {
        peak = peak.max(peak_rss(&pid));
        if let Some(status) = child.try_wait()? {
            let elapsed = started.elapsed();
            let out = reader.join().expect("reader thread")?;
            if !status.success() {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().expect("piped"), &mut err)?;
                bail!("{command:?} failed: {err}");
            }
            return Ok((elapsed, peak, out));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The ingest the bench times (run in a child process): the directory into the repository under
/// `work` (SQLite index, local packs, keys), taking unchanged files from `parent`; the new root.
pub async fn ingest(work: &Path, dir: &Path, parent: Option<BlobId>) -> anyhow::Result<BlobId> {
    let index_url = format!("sqlite://{}", work.join("backstore-index.db").display());
    let store = backstore_store::open(&index_url, &backstore_store::StoreOptions::default()).await?;
    let repo = Repository::new(
        Objects::local(&work.join("backstore-blobs"))?,
        Keyring::new(work.join("backstore-keys")),
        store.as_ref(),
    );
    let mut writer = repo.writer("bench")?;
    let (root, _) = writer.write_dir(dir, parent).await?;
    writer.flush().await?;
    Ok(root)
}

/// A peer's cache in the work directory (so runs do not share one) and no progress output.
fn peer_env(command: &mut Command, peer: &str, work: &Path) {
    match peer {
        "restic" => command.env("RESTIC_CACHE_DIR", work.join("restic-cache")),
        _ => command.env("RUSTIC_CACHE_DIR", work.join("rustic-cache")).env("RUSTIC_NO_PROGRESS", "true"),
    };
}

/// A sample of the library to measure the primitives on: up to 64 MiB of its files.
fn sample(corpus: &Corpus) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut stack = vec![corpus.root().to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir)?.flatten() {
            if out.len() >= 64 << 20 {
                return Ok(out);
            }
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                out.extend_from_slice(&std::fs::read(e.path())?);
            }
        }
    }
    Ok(out)
}

fn disk_write_rate(dir: &Path, bytes: usize) -> anyhow::Result<f64> {
    let path = dir.join("disk-rate");
    let block = vec![0x5au8; 4 << 20];
    let started = Instant::now();
    let mut f = std::fs::File::create(&path)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len());
        f.write_all(&block[..n])?;
        left -= n;
    }
    f.sync_all()?;
    let rate = bytes as f64 / started.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(rate)
}

pub async fn run(settings: &Settings) -> anyhow::Result<Report> {
    let work = settings.work_dir.join(format!("backstore-bench-content-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let outcome = measure(settings, &work).await;
    if settings.keep {
        eprintln!("kept {}", work.display());
    } else {
        let _ = std::fs::remove_dir_all(&work);
    }
    outcome
}

async fn measure(settings: &Settings, work: &Path) -> anyhow::Result<Report> {
    eprintln!("generating a {:.0} MiB library …", settings.size as f64 / MIB);
    let mut corpus = Corpus::generate(&work.join("library"), settings.size, 1)?;
    let rates = backstore_content::rates::measure(&sample(&corpus)?);
    let disk_write = disk_write_rate(work, (settings.size as usize).min(512 << 20))?;

    let peers: Vec<&str> =
        if settings.no_peers { Vec::new() } else { ["restic", "rustic"].into_iter().filter(|p| on_path(p)).collect() };
    let password = work.join("peer-password");
    std::fs::write(&password, "bench")?;
    for peer in &peers {
        let repo_dir = work.join(format!("{peer}-repo"));
        let mut init = Command::new(peer);
        init.arg("-r").arg(&repo_dir).arg("--password-file").arg(&password).arg("init");
        peer_env(&mut init, peer, work);
        if *peer == "restic" {
            init.args(["--repository-version", "2"]);
        }
        run_child(init).with_context(|| format!("{peer} init"))?;
    }

    let mut ours = ToolFigures { tool: "backstore".into(), ..Default::default() };
    let mut theirs: Vec<ToolFigures> =
        peers.iter().map(|p| ToolFigures { tool: (*p).to_owned(), ..Default::default() }).collect();
    let mut version_bytes = Vec::new();
    let mut parent: Option<String> = None;
    let me = std::env::current_exe().context("this program's path")?;
    for version in 0..=settings.versions {
        if version > 0 {
            corpus.edit(settings.edit_percent)?;
        }
        version_bytes.push(corpus.bytes());
        let mut ingest = Command::new(&me);
        ingest.args(["bench", "content", "--work-dir"]).arg(work).arg("--ingest").arg(corpus.root());
        if let Some(parent) = &parent {
            ingest.args(["--parent", parent]);
        }
        let (elapsed, rss, root) = run_child(ingest).context("backstore's ingest")?;
        ours.seconds.push(elapsed.as_secs_f64());
        ours.peak_rss_bytes = ours.peak_rss_bytes.max(rss);
        parent = Some(root.trim().to_owned());

        for (peer, figures) in peers.iter().zip(theirs.iter_mut()) {
            let mut backup = Command::new(peer);
            backup.arg("-r").arg(work.join(format!("{peer}-repo"))).arg("--password-file").arg(&password);
            backup.arg("backup").arg(corpus.root());
            peer_env(&mut backup, peer, work);
            if *peer == "restic" {
                backup.arg("--quiet");
            }
            let (elapsed, rss, _) = run_child(backup).with_context(|| format!("{peer} backup"))?;
            figures.seconds.push(elapsed.as_secs_f64());
            figures.peak_rss_bytes = figures.peak_rss_bytes.max(rss);
        }
        eprintln!("version {version}: {:.0} MiB", *version_bytes.last().expect("pushed") as f64 / MIB);
    }
    ours.stored_bytes = du(&work.join("backstore-blobs"));
    for figures in &mut theirs {
        figures.stored_bytes = du(&work.join(format!("{}-repo", figures.tool)));
    }
    let mut tools = vec![ours];
    tools.extend(theirs);
    Ok(Report { files: corpus.files(), version_bytes, rates, disk_write, tools })
}

/// The report as the lines `backstore bench content` prints.
pub fn render(report: &Report, settings: &Settings) -> String {
    let mut out = String::new();
    let first = report.version_bytes[0] as f64;
    let total: u64 = report.version_bytes.iter().sum();
    out.push_str(&format!(
        "library: {} files, {:.0} MiB; {} edited versions after it ({} % of files edited each), {:.0} MiB in all\n",
        report.files,
        first / MIB,
        settings.versions,
        settings.edit_percent,
        total as f64 / MIB
    ));
    let r = &report.rates;
    out.push_str(&format!(
        "limits (one core): BLAKE3 keyed {:.0} MB/s, zstd-3 {:.0} MB/s, XChaCha20-Poly1305 {:.0} MB/s, FastCDC {:.0} MB/s, \
         SHA-256 {:.0} MB/s, quickXorHash {:.0} MB/s; disk write {:.0} MB/s\n",
        r.blake3 / 1e6,
        r.zstd / 1e6,
        r.aead / 1e6,
        r.chunking / 1e6,
        r.sha256 / 1e6,
        r.quick_xor / 1e6,
        report.disk_write / 1e6
    ));
    out.push_str(
        "tool       first ingest MB/s   later versions s (median)   stored MiB   dedup ratio   peak RSS MiB\n",
    );
    for t in &report.tools {
        let mut later: Vec<f64> = t.seconds[1..].to_vec();
        later.sort_by(f64::total_cmp);
        let median = later.get(later.len() / 2).copied().unwrap_or(0.0);
        out.push_str(&format!(
            "{:<10} {:>17.1}   {:>25.2}   {:>10.1}   {:>11.2}   {:>12.1}\n",
            t.tool,
            first / t.seconds[0] / 1e6,
            median,
            t.stored_bytes as f64 / MIB,
            total as f64 / t.stored_bytes.max(1) as f64,
            t.peak_rss_bytes as f64 / MIB
        ));
    }
    out
}
