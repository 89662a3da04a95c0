//! `backstore bench`: drives running servers over HTTP with N concurrent connections and reports
//! requests/s and p50/p99 latency per scenario, next to the ceiling of the HTTP stack here — a bare
//! axum handler in this process answering the same method with a fixed JSON body of the same size,
//! measured in the same run with the same client and connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::{json, Value};

use crate::seed::SeedPlan;

/// What one scenario's run measured.
pub struct Measured {
    pub requests: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    /// The size of the response bodies (the last one seen).
    pub response_bytes: usize,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
}

/// The servers under test, a tenant seeded for the run, and a token for it.
pub struct Target {
    pub servers: Vec<String>,
    pub token: String,
    pub client: reqwest::Client,
    /// Restore point ids of the seeded sites, one per site.
    pub points: Vec<String>,
    next: AtomicUsize,
}

impl Target {
    pub fn new(servers: Vec<String>, token: String, points: Vec<String>, connections: usize) -> Target {
        let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("an HTTP client");
        Target { servers, token, client, points, next: AtomicUsize::new(0) }
    }

    /// The Graph base of the next server, round-robin.
    fn base(&self) -> String {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.servers.len();
        format!("{}/v1.0/solutions/backupRestore", self.servers[i].trim_end_matches('/'))
    }

    async fn send(&self, req: reqwest::RequestBuilder, expect: u16) -> anyhow::Result<(Value, usize)> {
        let r = req.bearer_auth(&self.token).send().await?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await?;
        if status != expect {
            bail!("expected {expect}, got {status}: {}", String::from_utf8_lossy(&bytes));
        }
        let len = bytes.len();
        Ok((serde_json::from_slice(&bytes).unwrap_or(Value::Null), len))
    }

    fn artifacts(points: &[String]) -> Value {
        Value::Array(points.iter().map(|p| json!({ "restorePoint": { "id": p }, "destinationType": "new" })).collect())
    }

    /// Creates a SharePoint session over `points`; its id and the response size.
    pub async fn create(&self, points: &[String]) -> anyhow::Result<(String, usize)> {
        let body = json!({ "siteRestoreArtifacts": Self::artifacts(points) });
        let (v, len) =
            self.send(self.client.post(format!("{}/sharePointRestoreSessions", self.base())).json(&body), 201).await?;
        Ok((v["id"].as_str().context("a session id")?.to_owned(), len))
    }

    pub async fn patch(&self, session: &str, points: &[String]) -> anyhow::Result<usize> {
        let body = json!({ "siteRestoreArtifacts@delta": Self::artifacts(points) });
        let url = format!("{}/sharePointRestoreSessions/{session}", self.base());
        let r = self.client.patch(url).json(&body).bearer_auth(&self.token).send().await?;
        if !r.status().is_success() {
            bail!("PATCH: {} {}", r.status(), r.text().await?);
        }
        Ok(r.bytes().await?.len())
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(Value, usize)> {
        self.send(self.client.get(format!("{}/{path}", self.base())), 200).await
    }

    /// A GET that must answer 200; its size, the body left unparsed (as the bare ceiling's is).
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<usize> {
        let r = self.client.get(format!("{}/{path}", self.base())).bearer_auth(&self.token).send().await?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await?;
        if status != 200 {
            bail!("expected 200, got {status}: {}", String::from_utf8_lossy(&bytes));
        }
        Ok(bytes.len())
    }

    /// Activates a session and polls it until it is terminal; the activation's response size.
    pub async fn activate_to_terminal(&self, session: &str) -> anyhow::Result<usize> {
        let url = format!("{}/restoreSessions/{session}/activate", self.base());
        let (_, len) = self.send(self.client.post(url), 200).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (s, _) = self.get(&format!("restoreSessions/{session}")).await?;
            match s["status"].as_str() {
                Some("completed" | "completedWithError" | "failed") => return Ok(len),
                _ if Instant::now() > deadline => bail!("session {session} did not finish: {s}"),
                _ => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
    }
}

/// Runs `step` on `connections` tasks for `duration`; `step(worker, round)` does one timed request
/// (and may do untimed preparation first, returning the instant its timed part started).
pub async fn measure<F, Fut>(connections: usize, duration: Duration, step: F) -> anyhow::Result<Measured>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<(Instant, usize)>> + Send,
{
    let step = Arc::new(step);
    let started = Instant::now();
    let end = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..connections {
        let step = step.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut bytes = 0;
            let mut round = 0;
            while Instant::now() < end {
                let (from, len) = step(worker, round).await?;
                latencies.push(from.elapsed());
                bytes = len;
                round += 1;
            }
            anyhow::Ok((latencies, bytes))
        });
    }
    let mut latencies = Vec::new();
    let mut response_bytes = 0;
    while let Some(done) = tasks.join_next().await {
        let (l, b) = done??;
        latencies.extend(l);
        response_bytes = response_bytes.max(b);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(Measured { requests: latencies.len(), elapsed, latencies, response_bytes })
}

/// A bare axum server on 127.0.0.1:0 that answers every request with `bytes` bytes of fixed JSON.
pub async fn bare_server(bytes: usize) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let filler = bytes.saturating_sub(r#"{"value":""}"#.len());
    let body: &'static str = Box::leak(format!(r#"{{"value":"{}"}}"#, "x".repeat(filler)).into_boxed_str());
    let handler = move || async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((origin, task))
}

/// The same method and request body against the bare server, returning `bytes` bytes.
pub async fn ceiling(
    client: &reqwest::Client,
    method: reqwest::Method,
    request: Option<Value>,
    bytes: usize,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let (origin, server) = bare_server(bytes).await?;
    let client = client.clone();
    let request = Arc::new(request);
    let m = measure(connections, duration, move |_, _| {
        let mut req = client.request(method.clone(), format!("{origin}/v1.0/solutions/backupRestore/bare"));
        if let Some(body) = request.as_ref() {
            req = req.json(body);
        }
        async move {
            let from = Instant::now();
            let len = req.send().await?.bytes().await?.len();
            Ok((from, len))
        }
    })
    .await;
    server.abort();
    m
}

/// The seed of a bench tenant: enough sites for a 100-artifact session and ten 10-item PATCHes.
pub fn plan(tenant: &str) -> SeedPlan {
    SeedPlan {
        tenant: tenant.to_owned(),
        sites: 110,
        mailboxes: 0,
        drives: 0,
        restore_points: 1,
        seed: 7,
        faulty_units: 0,
        content_bytes: 0,
    }
}

/// The resident set size of a process, from /proc (Linux), in bytes.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("no process {pid}"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")?;
    Ok(kb * 1024)
}

/// How a run goes: where, how hard, how long, and whether to fill the database afterwards.
pub struct Settings {
    pub connections: usize,
    pub duration: Duration,
    /// Create sessions of 50 artifacts until this many exist, then report the servers' RSS.
    pub fill: Option<u64>,
    pub pids: Vec<u32>,
    /// Only these scenarios (all when empty).
    pub scenarios: Vec<String>,
}

/// The scenarios of a run, in the order they run.
pub const SCENARIOS: [&str; 5] =
    ["get-session", "list-100-artifacts", "create-50-artifacts", "patch-10-items", "activate-to-terminal"];

impl Settings {
    fn runs(&self, scenario: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|s| s == scenario)
    }
}

fn line(name: &str, m: &Measured, ceiling: &Measured) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{name:<20} {:>9.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  | bare {:>9.1} req/s  p50 {:>6.2} ms  | fraction {:.3}  ({} B)",
        m.per_second(),
        ms(m.percentile(0.5)),
        ms(m.percentile(0.99)),
        ceiling.per_second(),
        ms(ceiling.percentile(0.5)),
        m.per_second() / ceiling.per_second(),
        m.response_bytes,
    )
}

/// A GET scenario: `path` read over and over, against the bare server's ceiling for answers of the
/// same size. Every answer must be a 200 of the same size; the first of each connection is parsed
/// and checked too. (Parsing every answer, which the ceiling's client does not, spent a share of the
/// machine's two cores on the client side: a third of the page of 100's rate.)
async fn reads(
    target: &Arc<Target>,
    s: &Settings,
    name: &str,
    path: String,
    check: fn(&Value) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (n, d) = (s.connections, s.duration);
    let t = target.clone();
    let first = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let m = measure(n, d, move |_, round| {
        let (t, path, first) = (t.clone(), path.clone(), first.clone());
        async move {
            let from = Instant::now();
            if round > 0 {
                let len = t.get_bytes(&path).await?;
                let want = first.load(Ordering::Relaxed);
                anyhow::ensure!(len == want, "an answer of {len} bytes where the first had {want}");
                return Ok((from, len));
            }
            let (v, len) = t.get(&path).await?;
            check(&v)?;
            first.store(len, Ordering::Relaxed);
            Ok((from, len))
        }
    })
    .await?;
    let c = ceiling(&target.client, reqwest::Method::GET, None, m.response_bytes, n, d).await?;
    println!("{}", line(name, &m, &c));
    Ok(())
}

/// Runs every scenario against `target`, printing one line each, then the fill if asked.
pub async fn run(target: Arc<Target>, s: &Settings) -> anyhow::Result<()> {
    let (n, d) = (s.connections, s.duration);
    let pts = target.points.clone();
    anyhow::ensure!(pts.len() >= 110, "the bench tenant needs 110 restore points, has {}", pts.len());
    println!("{} server(s), {n} connections, {d:?} per scenario", target.servers.len());

    // A session of 100 artifacts to read.
    let (big, _) = target.create(&pts[..50]).await?;
    target.patch(&big, &pts[50..100]).await?;

    if s.runs("get-session") {
        let one = |_: &Value| Ok(());
        reads(&target, s, "get-session", format!("restoreSessions/{big}"), one).await?;
    }
    if s.runs("list-100-artifacts") {
        let page_of_100 = |v: &Value| {
            anyhow::ensure!(v["value"].as_array().map(Vec::len) == Some(100), "not a page of 100");
            Ok(())
        };
        let path = format!("sharePointRestoreSessions/{big}/siteRestoreArtifacts?$top=100");
        reads(&target, s, "list-100-artifacts", path, page_of_100).await?;
    }
    if s.runs("create-50-artifacts") {
        create_50(&target, s).await?;
    }
    if s.runs("patch-10-items") {
        patch_10(&target, s).await?;
    }
    if s.runs("activate-to-terminal") {
        activate(&target, s).await?;
    }
    if let Some(goal) = s.fill {
        fill(&target, goal, n).await?;
    }
    for pid in &s.pids {
        println!("rss pid {pid}: {:.1} MiB", rss_bytes(*pid)? as f64 / (1024.0 * 1024.0));
    }
    Ok(())
}

/// Sessions of 50 artifacts created over and over.
async fn create_50(target: &Arc<Target>, s: &Settings) -> anyhow::Result<()> {
    let (n, d, pts) = (s.connections, s.duration, &target.points);
    let t = target.clone();
    let m = measure(n, d, move |_, _| {
        let t = t.clone();
        async move {
            let from = Instant::now();
            Ok((from, t.create(&t.points[..50]).await?.1))
        }
    })
    .await?;
    let body = json!({ "siteRestoreArtifacts": Target::artifacts(&pts[..50]) });
    let c = ceiling(&target.client, reqwest::Method::POST, Some(body), m.response_bytes, n, d).await?;
    println!("{}", line("create-50-artifacts", &m, &c));
    Ok(())
}

/// Delta PATCHes of 10 new restore points each.
async fn patch_10(target: &Arc<Target>, s: &Settings) -> anyhow::Result<()> {
    let (n, d, pts) = (s.connections, s.duration, &target.points);

    // Each connection grows a draft of its own by 10 new restore points a PATCH, ten times, then
    // starts another (untimed).
    let t = target.clone();
    let drafts: Arc<Vec<tokio::sync::Mutex<String>>> =
        Arc::new((0..n).map(|_| tokio::sync::Mutex::new(String::new())).collect());
    let m = measure(n, d, move |worker, round| {
        let (t, drafts) = (t.clone(), drafts.clone());
        async move {
            let mut draft = drafts[worker].lock().await;
            if round % 10 == 0 {
                *draft = t.create(&t.points[100 + worker % 10..101 + worker % 10]).await?.0;
            }
            let from = Instant::now();
            let k = (round % 10) * 10;
            Ok((from, t.patch(&draft, &t.points[k..k + 10]).await?))
        }
    })
    .await?;
    let body = json!({ "siteRestoreArtifacts@delta": Target::artifacts(&pts[..10]) });
    let c = ceiling(&target.client, reqwest::Method::PATCH, Some(body), m.response_bytes, n, d).await?;
    println!("{}", line("patch-10-items", &m, &c));
    Ok(())
}

/// Sessions of one artifact activated, then polled until they end.
async fn activate(target: &Arc<Target>, s: &Settings) -> anyhow::Result<()> {
    let (n, d) = (s.connections, s.duration);
    // At most 20 at once: a tenant may run 25 sessions.
    let active = n.min(20);
    let t = target.clone();
    let m = measure(active, d, move |worker, _| {
        let t = t.clone();
        async move {
            let (id, _) = t.create(&t.points[worker % 110..worker % 110 + 1]).await?;
            let from = Instant::now();
            Ok((from, t.activate_to_terminal(&id).await?))
        }
    })
    .await?;
    let c = ceiling(&target.client, reqwest::Method::POST, None, m.response_bytes, active, d).await?;
    println!("{}  (bare: one POST)", line("activate-to-terminal", &m, &c));
    Ok(())
}

/// Creates sessions of 50 artifacts over HTTP until about `goal` artifacts exist in the run's tenant.
async fn fill(target: &Arc<Target>, goal: u64, connections: usize) -> anyhow::Result<()> {
    let sessions = goal.div_ceil(50);
    let bar = indicatif::ProgressBar::new(sessions);
    bar.set_style(
        indicatif::ProgressStyle::with_template("fill {bar:40} {pos}/{len} sessions of 50 ({per_sec}, {eta})")
            .expect("a valid template"),
    );
    let left = Arc::new(std::sync::atomic::AtomicU64::new(sessions));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (t, left, bar) = (target.clone(), left.clone(), bar.clone());
        tasks.spawn(async move {
            while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1)).is_ok() {
                t.create(&t.points[..50]).await?;
                bar.inc(1);
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    bar.finish_and_clear();
    println!("filled: {} artifacts in {} new sessions", sessions * 50, sessions);
    Ok(())
}
