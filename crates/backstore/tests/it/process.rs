//! Running the real binary from tests: one-shot commands, `serve` processes and their origin, and a
//! small client for a server started that way.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_backstore");

pub(crate) fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) struct Serving {
    pub child: Child,
    pub origin: String,
    rest: mpsc::Receiver<String>,
}

/// Starts `backstore serve` and waits (bounded) for its `listening on` line.
pub(crate) fn serve(args: &[&str], envs: &[(&str, &str)]) -> Serving {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve").args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("serve starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("a listening line");
    let origin =
        line.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line: {line}")).to_owned();
    let port: u16 = origin.rsplit(':').next().unwrap().parse().expect("a port");
    let local = origin.starts_with("http://127.0.0.1:") || origin.starts_with("https://127.0.0.1:");
    assert!(local && port > 0, "{origin}");
    Serving { child, origin, rest: rx }
}

pub(crate) fn sigterm_and_wait(mut s: Serving) {
    let killed = Command::new("kill").args(["-TERM", &s.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            assert!(status.success(), "serve exited with {status}");
            break;
        }
        assert!(Instant::now() < deadline, "serve did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let extra: Vec<String> = s.rest.try_iter().collect();
    assert!(extra.is_empty(), "stdout carries only the listening line, also got {extra:?}");
}

/// The API of a server the test started as a process, for one tenant's token.
pub(crate) struct Remote {
    client: reqwest::Client,
    pub base: String,
    token: String,
}

impl Remote {
    pub fn new(origin: &str, token: &str) -> Remote {
        Remote {
            client: reqwest::Client::new(),
            base: format!("{origin}/v1.0/solutions/backupRestore"),
            token: token.trim().to_owned(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let r = req.bearer_auth(&self.token).send().await.expect("the server answers");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> Value {
        self.send(self.client.get(format!("{}/{path}", self.base))).await.1
    }

    pub async fn post(&self, path: &str, body: &Value) -> Value {
        self.send(self.client.post(format!("{}/{path}", self.base)).json(body)).await.1
    }

    /// Creates a session of `set` over `points` and activates it; returns its id.
    pub async fn activated(&self, set: &str, nav: &str, points: &[&Value], destination: &str) -> String {
        let arts: Vec<Value> =
            points.iter().map(|p| json!({"restorePoint": {"id": p}, "destinationType": destination})).collect();
        let created = self.post(set, &json!({ nav: arts })).await;
        let id = created["id"].as_str().unwrap_or_else(|| panic!("not created: {created}")).to_owned();
        let (status, body) = self.send(self.client.post(format!("{}/restoreSessions/{id}/activate", self.base))).await;
        assert_eq!(status, 200, "{body}");
        id
    }
}
