//! The real binary: `serve` prints one line and shuts down on SIGTERM, `token` prints a token the
//! server trusts, `seed` is deterministic. This command-line contract is relied on by scripts.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::process::{run, serve, sigterm_and_wait, Remote, BIN};
use crate::support::json_of;

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn data_dir_arg(dir: &Path) -> String {
    dir.display().to_string()
}

/// A new data dir with tenant `c` seeded with `sites` sites by `backstore seed`: the dir, its path,
/// and the seed's report.
fn seeded_dir(sites: &str) -> (tempfile::TempDir, String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let (ok, seed, err) = run(&["seed", "--data-dir", &d, "--tenant", "c", "--sites", sites]);
    assert!(ok, "{err}");
    (dir, d, serde_json::from_str(&seed).unwrap())
}

#[tokio::test]
async fn serve_token_seed_restore_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let s = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d], &[]);

    let (ok, token, _) = run(&["token", "--data-dir", &d, "--tenant", "t-cli"]);
    assert!(ok);
    assert_eq!(token.lines().count(), 1, "token prints the token and nothing else");
    let token = token.trim().to_owned();
    let key = dir.path().join("token-signing.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let (ok, out, err) = run(&[
        "seed",
        "--data-dir",
        &d,
        "--tenant",
        "t-cli",
        "--sites",
        "1",
        "--mailboxes",
        "1",
        "--drives",
        "1",
        "--restore-points",
        "2",
    ]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(&out).expect("seed prints JSON");
    assert_eq!(report["tenantId"], "t-cli");
    let units = report["protectionUnits"].as_array().unwrap();
    assert_eq!(units.iter().map(|u| u["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["site", "mailbox", "drive"]);
    assert!(units.iter().all(|u| u["restorePointIds"].as_array().unwrap().len() == 2));
    assert!(units[1]["email"].as_str().unwrap().contains('@'));
    assert!(units[0]["siteWebUrl"].as_str().unwrap().starts_with("https://"));

    let api = Remote::new(&s.origin, &token);
    let id = api
        .activated("exchangeRestoreSessions", "mailboxRestoreArtifacts", &[&units[1]["restorePointIds"][0]], "new")
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = api.get(&format!("restoreSessions/{id}")).await;
        if got["status"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "the running server did not finish the session: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sigterm_and_wait(s);
}

#[test]
fn serve_reads_its_settings_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let s = serve(&[], &[("BACKSTORE_LISTEN", "127.0.0.1:0"), ("BACKSTORE_DATA_DIR", &d)]);
    assert!(dir.path().join("backstore.db").exists(), "the default database lives in the data dir");
    sigterm_and_wait(s);
    let custom = dir.path().join("elsewhere.db");
    let url = format!("sqlite://{}", custom.display());
    let s = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--database-url", &url], &[]);
    assert!(custom.exists());
    sigterm_and_wait(s);
}

#[test]
fn unsupported_database_urls_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data_dir_arg(dir.path()),
            "--database-url",
            "mysql://x",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(!status.success());
    assert!(err.contains("unsupported database URL 'mysql://x'"), "{err}");
}

#[test]
fn issuers_and_key_files_are_checked_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let config = dir.path().join("issuers.json");
    std::fs::write(&config, r#"[{"issuer": "https://idp.example/", "jwks": {"uri": "http://idp.example/keys"}}]"#)
        .unwrap();
    let tls = dir.path().join("missing.pem").display().to_string();
    let cases: [(&[&str], &str); 4] = [
        (&["--oidc-issuer", "http://idp.example/"], "must be https://"),
        (&["--oidc-config", config.to_str().unwrap()], "must be https://"),
        (&["--oidc-config", "/no/such/file.json"], "cannot read /no/such/file.json"),
        (&["--tls-cert", &tls, "--tls-key", &tls], "cannot read the certificate"),
    ];
    for (extra, expected) in cases {
        let out = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", &d])
            .args(extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(err.contains(expected), "{extra:?}: {err}");
    }
}

#[test]
fn tokens_carry_the_requested_claims() {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let (_, app, _) = run(&["token", "--data-dir", &d, "--tenant", "t1"]);
    let c = claims(app.trim());
    assert_eq!(c["tid"], "t1");
    // Full access by default (issue 4 extended the issue-2 token, which carried Restore.ReadWrite.All).
    assert_eq!(c["roles"], json!(backstore_api::auth::ALL_PERMISSIONS));
    assert!(c["roles"].as_array().unwrap().contains(&json!("BackupRestore-Restore.ReadWrite.All")));
    assert!(c.get("scp").is_none());
    for claim in ["iss", "aud", "iat", "exp", "oid"] {
        assert!(c.get(claim).is_some(), "{claim}");
    }
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3600);
    let (_, user, _) =
        run(&["token", "--data-dir", &d, "--tenant", "t1", "--user", "u-42", "--read-only", "--ttl", "60"]);
    let c = claims(user.trim());
    assert_eq!(c["scp"], backstore_api::auth::READ_PERMISSIONS.join(" "));
    assert!(c["scp"].as_str().unwrap().split(' ').any(|p| p == "BackupRestore-Restore.Read.All"));
    assert_eq!(c["oid"], "u-42");
    assert!(c.get("roles").is_none());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);
    let (_, one, _) =
        run(&["token", "--data-dir", &d, "--tenant", "t1", "--permission", "BackupRestore-Search.Read.All"]);
    assert_eq!(claims(one.trim())["roles"], json!(["BackupRestore-Search.Read.All"]));
    let (ok, _, err) = run(&["token", "--data-dir", &d, "--tenant", "t1", "--permission", "BackupRestore-Everything"]);
    assert!(!ok && err.contains("unknown permission 'BackupRestore-Everything'"), "{err}");
    let (ok, _, err) = run(&["token", "--data-dir", &d]);
    assert!(!ok && err.contains("--tenant"), "{err}");
}

#[test]
fn the_same_seed_gives_the_same_data() {
    let ids = |seed: &str| {
        let dir = tempfile::tempdir().unwrap();
        let (ok, out, err) = run(&[
            "seed",
            "--data-dir",
            &data_dir_arg(dir.path()),
            "--tenant",
            "t",
            "--seed",
            seed,
            "--restore-points",
            "4",
        ]);
        assert!(ok, "{err}");
        let mut v: Value = serde_json::from_str(&out).unwrap();
        for u in v["protectionUnits"].as_array_mut().unwrap() {
            u.as_object_mut().unwrap().remove("restorePointIds").unwrap();
        }
        (v, out)
    };
    let (a, raw_a) = ids("7");
    let (b, raw_b) = ids("7");
    let (c, _) = ids("8");
    assert_eq!(a, b);
    assert_eq!(raw_a, raw_b, "restore point ids too");
    assert_ne!(a, c);
}

#[tokio::test]
async fn sessions_watch_follows_sessions_to_their_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let s = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--restore-speed", "300ms"], &[]);
    let (_, out, _) =
        run(&["seed", "--data-dir", &d, "--tenant", "w", "--sites", "3", "--mailboxes", "0", "--drives", "0"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    let (_, token, _) = run(&["token", "--data-dir", &d, "--tenant", "w"]);
    let token = token.trim();
    let (ok, idle, _) = run(&["sessions", "watch", "--server", &s.origin, "--tenant", "w", "--data-dir", &d]);
    assert!(ok);
    assert_eq!(idle.trim(), "no activating or active restore sessions");

    let api = Remote::new(&s.origin, token);
    let mut ids = Vec::new();
    for units in report["protectionUnits"].as_array().unwrap().chunks(2) {
        let points: Vec<&Value> = units.iter().map(|u| &u["restorePointIds"][0]).collect();
        ids.push(api.activated("sharePointRestoreSessions", "siteRestoreArtifacts", &points, "new").await);
    }
    // One session by id, with a token given on the command line.
    let (ok, out, err) =
        run(&["sessions", "watch", "--server", &s.origin, "--token", token, "--interval", "50ms", &ids[0]]);
    assert!(ok, "{err}");
    let last = out.lines().last().unwrap();
    assert_eq!(last, format!("{} sharePointRestoreSession completed 2/2 succeeded=2", ids[0]), "{out}");
    assert!(out.lines().all(|l| l.starts_with(&ids[0])), "{out}");
    // Every running session of the tenant (the second may have finished meanwhile: then none is left).
    let (ok, out, err) =
        run(&["sessions", "watch", "--server", &s.origin, "--tenant", "w", "--data-dir", &d, "--interval", "50ms"]);
    assert!(ok, "{err}");
    assert!(
        out.trim() == "no activating or active restore sessions"
            || out.lines().last().unwrap().ends_with("completed 1/1 succeeded=1"),
        "{out}"
    );
    let (ok, _, err) = run(&["sessions", "watch", "--server", &s.origin, "--token", token, "no-such-session"]);
    assert!(!ok && err.contains("404"), "{err}");
    sigterm_and_wait(s);
}

#[tokio::test]
async fn serve_reads_fault_rules_from_a_file_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let (_, out, _) =
        run(&["seed", "--data-dir", &d, "--tenant", "f", "--sites", "0", "--mailboxes", "2", "--drives", "0"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    let units = report["protectionUnits"].as_array().unwrap();
    let faults = dir.path().join("faults.json");
    let rule = json!({"rules": [{"protectionUnitId": units[0]["id"], "action": "fail", "code": "ArtifactNotFound"}]});
    std::fs::write(&faults, rule.to_string()).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"rules": [{"action": "fail"}]}"#).unwrap();
    let (ok, _, err) =
        run(&["serve", "--listen", "127.0.0.1:0", "--data-dir", &d, "--faults", &bad.display().to_string()]);
    assert!(!ok && err.contains("names neither protectionUnitId nor restorePointId"), "{err}");

    let s = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--faults", &faults.display().to_string()], &[]);
    let (_, token, _) = run(&["token", "--data-dir", &d, "--tenant", "f"]);
    let token = token.trim();
    let api = Remote::new(&s.origin, token);
    let points: Vec<&Value> = units.iter().map(|u| &u["restorePointIds"][0]).collect();
    let id = &api.activated("exchangeRestoreSessions", "mailboxRestoreArtifacts", &points, "inPlace").await;
    let (ok, out, err) = run(&["sessions", "watch", "--server", &s.origin, "--token", token, "--interval", "50ms", id]);
    assert!(ok, "{err}");
    assert!(out.lines().last().unwrap().ends_with("completedWithError 2/2 succeeded=1 failed=1"), "{out}");
    let list = api.get(&format!("exchangeRestoreSessions/{id}/mailboxRestoreArtifacts")).await;
    let failed = list["value"].as_array().unwrap().iter().find(|a| a["status"] == "failed").unwrap();
    assert_eq!(failed["restorePoint"]["id"], units[0]["restorePointIds"][0]);
    assert_eq!(failed["error"]["code"], "ArtifactNotFound");
    assert_eq!(failed["error"]["message"], "Restore Artifact doesn't exist.");
    sigterm_and_wait(s);
}

#[tokio::test]
async fn clock_advance_reaches_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let s = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d], &[]);
    let (ok, shown, _) = run(&["clock", "show", "--data-dir", &d]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&shown).unwrap()["offsetSeconds"], 0);
    let (ok, out, err) = run(&["clock", "advance", "2d", "--data-dir", &d]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["offsetSeconds"], 2 * 86400);
    let (_, token, _) = run(&["token", "--data-dir", &d, "--tenant", "c"]);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = json_of(client.get(format!("{}/admin/clock", s.origin)).bearer_auth(token.trim())).await;
        if c["offsetSeconds"] == 2 * 86400 {
            let now = chrono::DateTime::parse_from_rfc3339(c["now"].as_str().unwrap()).unwrap();
            assert!(now.with_timezone(&chrono::Utc) - chrono::Utc::now() > chrono::Duration::hours(47));
            break;
        }
        assert!(Instant::now() < deadline, "the server did not follow the clock: {c}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What the CLI writes afterwards lives on the same clock: seeded points are two days ahead.
    let (ok, out, err) =
        run(&["seed", "--data-dir", &d, "--tenant", "c", "--sites", "1", "--mailboxes", "0", "--drives", "0"]);
    assert!(ok, "{err}");
    let seeded: Value = serde_json::from_str(&out).unwrap();
    let point = seeded["protectionUnits"][0]["restorePointIds"][0].as_str().unwrap().to_owned();
    let p = json_of(
        client
            .get(format!("{}/v1.0/solutions/backupRestore/restorePoints/{point}", s.origin))
            .bearer_auth(token.trim()),
    )
    .await;
    let at = chrono::DateTime::parse_from_rfc3339(p["protectionDateTime"].as_str().unwrap()).unwrap();
    assert!(at.with_timezone(&chrono::Utc) - chrono::Utc::now() > chrono::Duration::hours(47), "{p}");
    sigterm_and_wait(s);
}

#[tokio::test]
async fn migrate_reports_the_version_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = data_dir_arg(dir.path());
    let (ok, out, err) = run(&["migrate", "--data-dir", &d]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let known = v["schemaVersion"].as_i64().unwrap();
    assert_eq!((v["previousVersion"].as_i64(), known), (Some(0), 28));
    let (ok, out, _) = run(&["migrate", "--data-dir", &d]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!({ "schemaVersion": 28, "previousVersion": 28 }));

    // A newer backstore migrated this database: this one refuses it, and writes nothing.
    let url = format!("sqlite://{}", dir.path().join("backstore.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99, 'from the future', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let (ok, _, err) = run(&["migrate", "--data-dir", &d]);
    assert!(!ok);
    assert!(err.contains("schema is at version 99, newer than this backstore knows (28)"), "{err}");
    let out = Command::new(BIN).args(["serve", "--listen", "127.0.0.1:0", "--data-dir", &d]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("newer than this backstore knows"));
}

#[tokio::test]
async fn an_api_process_and_a_worker_process_share_one_database() {
    let (_dir, d, seed) = seeded_dir("2");
    let api = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--role", "api"], &[]);
    let (_, token, _) = run(&["token", "--data-dir", &d, "--tenant", "c"]);
    let token = token.trim();
    let client = reqwest::Client::new();
    let base = format!("{}/v1.0/solutions/backupRestore", api.origin);
    let rp = seed["protectionUnits"][0]["restorePointIds"][0].as_str().unwrap();
    let created = json_of(
        client
            .post(format!("{base}/sharePointRestoreSessions"))
            .bearer_auth(token)
            .json(&json!({ "siteRestoreArtifacts": [{ "restorePoint": { "id": rp }, "destinationType": "new" }] })),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let r = client.post(format!("{base}/restoreSessions/{id}/activate")).bearer_auth(token).send().await.unwrap();
    assert!(r.status().is_success());
    let status = |client: reqwest::Client| {
        let url = format!("{base}/restoreSessions/{id}");
        async move {
            let v: Value = client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
            v["status"].as_str().unwrap().to_owned()
        }
    };
    // The api process runs no workers: nothing moves.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(status(client.clone()).await, "activating");

    // A worker process (no Graph API, only /metrics) finishes it.
    let worker = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--role", "worker"], &[]);
    let r =
        client.get(format!("{}/v1.0/solutions/backupRestore", worker.origin)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = client.get(format!("{}/metrics", worker.origin)).send().await.unwrap();
    assert!(r.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while status(client.clone()).await != "completed" {
        assert!(Instant::now() < deadline, "the worker did not finish the session");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sigterm_and_wait(worker);
    sigterm_and_wait(api);
}

#[tokio::test]
async fn throttled_callers_that_honour_retry_after_get_through_and_hammering_ones_do_not() {
    let (_dir, d, _) = seeded_dir("1");
    let s = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--throttle-app", "4/s"], &[]);
    let (_, polite, _) = run(&["token", "--data-dir", &d, "--tenant", "c"]);
    let client = reqwest::Client::new();
    let url = format!("{}/v1.0/solutions/backupRestore/protectionUnits", s.origin);

    // Hammering: 40 requests back to back; most are refused, each with Graph's error and Retry-After.
    let mut refused = 0;
    for _ in 0..40 {
        let r = client.get(&url).bearer_auth(polite.trim()).send().await.unwrap();
        if r.status() == 429 {
            refused += 1;
            let after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=2).contains(&after), "{after}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "TooManyRequests");
        }
    }
    assert!(refused >= 25, "a hammering client stays throttled: {refused} of 40 refused");

    // Polite: 12 requests that wait out Retry-After when told; every one gets through in the end.
    let mut done = 0;
    let mut waits = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while done < 12 {
        assert!(Instant::now() < deadline);
        let r = client.get(&url).bearer_auth(polite.trim()).send().await.unwrap();
        match r.status().as_u16() {
            200 => done += 1,
            429 => {
                waits += 1;
                let after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                tokio::time::sleep(Duration::from_secs(after)).await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(waits <= 6, "a client that honours Retry-After is rarely refused: {waits}");
    sigterm_and_wait(s);
}
