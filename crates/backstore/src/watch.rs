//! `backstore sessions watch`: follows restore sessions on a running server until they are terminal,
//! with a progress bar per session (artifact counts by state beside it) on a terminal, or one line
//! per change when the output is not a terminal. A session that restores content also shows the
//! items and bytes written so far, the rate and the time left (`/admin/restoreSessions/{id}/progress`):
//! `… items=120/400 bytes=1048576/4194304 rate=52428B/s eta=60s`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Context as _};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::Value;

const NAVS: [&str; 3] = ["siteRestoreArtifacts", "mailboxRestoreArtifacts", "driveRestoreArtifacts"];
const STATES: [&str; 6] = ["added", "scheduling", "scheduled", "inProgress", "succeeded", "failed"];
const TERMINAL: [&str; 3] = ["completed", "completedWithError", "failed"];

pub struct WatchPlan {
    /// `http://host:port`
    pub server: String,
    pub token: String,
    pub session: Option<String>,
    pub interval: Duration,
}

/// What one look at a session shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    kind: String,
    status: String,
    states: BTreeMap<&'static str, u64>,
    total: u64,
    /// `items=…/… bytes=…/… rate=…B/s eta=…s` while or after it restores content.
    progress: Option<String>,
}

impl Snapshot {
    fn done(&self) -> u64 {
        self.states.get("succeeded").copied().unwrap_or(0) + self.states.get("failed").copied().unwrap_or(0)
    }

    /// Artifacts by state, the states with none left out: `inProgress=1 succeeded=2`.
    fn states(&self) -> String {
        let states: Vec<String> =
            STATES.iter().filter_map(|s| self.states.get(s).filter(|n| **n > 0).map(|n| format!("{s}={n}"))).collect();
        states.join(" ")
    }

    /// One line for logs and pipes: `sharePointRestoreSession active 2/3 inProgress=1 succeeded=2`.
    fn line(&self) -> String {
        let line = format!("{} {} {}/{} {}", self.kind, self.status, self.done(), self.total, self.states());
        match &self.progress {
            Some(p) => format!("{line} {p}"),
            None => line,
        }
    }

    /// Beside a bar, which shows the count itself.
    fn bar_message(&self) -> String {
        match &self.progress {
            Some(p) => format!("{} {} {p}", self.status, self.states()),
            None => format!("{} {}", self.status, self.states()),
        }
    }
}

/// A client of a running server's Graph and admin paths, with one token.
pub(crate) struct Client {
    http: reqwest::Client,
    /// `http://host:port`, and its Graph root for the Backup Storage API.
    server: String,
    base: String,
    token: String,
}

impl Client {
    /// A client of `server` (`http://host:port`).
    pub(crate) fn new(server: &str, token: String) -> Client {
        let server = server.trim_end_matches('/').to_owned();
        Client { http: reqwest::Client::new(), base: format!("{server}/v1.0/solutions/backupRestore"), server, token }
    }

    /// `http://host:port`
    pub(crate) fn server(&self) -> &str {
        &self.server
    }

    /// GETs `url`, refusing an answer that is not a success.
    pub(crate) async fn get(&self, url: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .header("Prefer", "include-unknown-enum-members")
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = r.status();
        let body: Value = r.json().await.with_context(|| format!("{url} did not answer JSON"))?;
        if !status.is_success() {
            bail!("{url}: {status} {}", body["error"]["message"].as_str().unwrap_or(""));
        }
        Ok(body)
    }

    /// The sessions to follow: the one asked for, or every activating or active one.
    async fn sessions(&self, one: Option<&str>) -> anyhow::Result<Vec<String>> {
        if let Some(id) = one {
            return Ok(vec![id.to_owned()]);
        }
        let mut url = format!("{}/restoreSessions", self.base);
        let mut out = Vec::new();
        loop {
            let page = self.get(&url).await?;
            for s in page["value"].as_array().into_iter().flatten() {
                if matches!(s["status"].as_str(), Some("activating" | "active")) {
                    out.extend(s["id"].as_str().map(str::to_owned));
                }
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_owned(),
                None => return Ok(out),
            }
        }
    }

    async fn snapshot(&self, id: &str) -> anyhow::Result<Snapshot> {
        let s = self.get(&format!("{}/restoreSessions/{id}?$expand=*", self.base)).await?;
        let mut states = BTreeMap::new();
        let mut total = 0;
        for nav in NAVS {
            for a in s[nav].as_array().into_iter().flatten() {
                if let Some(state) = STATES.iter().find(|st| a["status"] == **st) {
                    *states.entry(*state).or_default() += 1;
                }
                total += 1;
            }
        }
        let kind = s["@odata.type"].as_str().unwrap_or("").trim_start_matches("#microsoft.graph.").to_owned();
        let p = self.get(&format!("{}/admin/restoreSessions/{id}/progress", self.server)).await?;
        let progress = p["value"].as_array().is_some_and(|v| !v.is_empty()).then(|| {
            format!(
                "items={}/{} bytes={}/{} rate={}B/s eta={}s",
                p["itemsDone"], p["itemsTotal"], p["bytesDone"], p["bytesTotal"], p["bytesPerSecond"], p["etaSeconds"]
            )
        });
        Ok(Snapshot { kind, status: s["status"].as_str().unwrap_or("unknown").to_owned(), states, total, progress })
    }
}

pub async fn watch(plan: WatchPlan) -> anyhow::Result<()> {
    let client = Client::new(&plan.server, plan.token);
    let ids = client.sessions(plan.session.as_deref()).await?;
    let mut out = std::io::stdout();
    if ids.is_empty() {
        writeln!(out, "no activating or active restore sessions")?;
        return Ok(());
    }
    let tty = out.is_terminal();
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    let mut watched: Vec<(String, Option<ProgressBar>, Option<Snapshot>)> = ids
        .into_iter()
        .map(|id| {
            let bar = tty.then(|| {
                let b = bars.add(ProgressBar::new(0));
                b.set_style(style.clone());
                b.set_prefix(id.clone());
                b
            });
            (id, bar, None)
        })
        .collect();
    loop {
        let mut all_done = true;
        for (id, bar, last) in &mut watched {
            let snap = client.snapshot(id).await?;
            if last.as_ref() != Some(&snap) {
                match bar {
                    Some(b) => {
                        b.set_length(snap.total);
                        b.set_position(snap.done());
                        b.set_message(snap.bar_message());
                    }
                    None => writeln!(out, "{id} {}", snap.line())?,
                }
            }
            let terminal = TERMINAL.contains(&snap.status.as_str());
            if terminal {
                if let Some(b) = bar {
                    b.finish_with_message(snap.bar_message());
                }
            }
            all_done &= terminal;
            *last = Some(snap);
        }
        if all_done {
            return Ok(());
        }
        tokio::time::sleep(plan.interval).await;
    }
}
