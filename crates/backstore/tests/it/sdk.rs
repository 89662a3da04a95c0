//! Microsoft's own clients against the real binary: the Python SDKs (msgraph-sdk on /v1.0,
//! msgraph-beta-sdk on /beta) and the JavaScript client (both versions) each drive the whole restore
//! lifecycle through their request builders (`tests/sdk/lifecycle.py`, `tests/sdk/lifecycle.mjs`).
//! `tests/sdk/setup.sh` installs them once into `.cache/sdk`. `tests/sdk/files.py` does the same for
//! files: drives, folders, uploads, downloads, renames and deletes through the Python SDKs, and
//! `tests/sdk/mail.py` for mail: folders, messages from JSON and MIME, attachments, filters, paging,
//! moves and a folder delta; `tests/sdk/restores.py` browses a site's point and reads restored files
//! and mail back, whole and granular (a browsed item, a mail search's matches); `tests/sdk/odata_client.py`
//! reads sessions through python-odata, a client that knows only what `$metadata` tells it.

use std::path::Path;
use std::process::Command;

use crate::process::{run, serve, sigterm_and_wait};
use crate::support::{repo_root, test_tools};

const TENANT: &str = "tenant-sdk";

/// Runs one client script against a freshly seeded server; returns its output.
fn lifecycle(program: &Path, script: &Path, version: &str) -> String {
    seeded_run(program, script, version, &[])
}

/// [`lifecycle`] with more `seed` arguments (`--content SIZE`).
fn seeded_run(program: &Path, script: &Path, version: &str, seed_args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, seed, err) = run(&[
        "seed",
        "--data-dir",
        d,
        "--tenant",
        TENANT,
        "--sites",
        "3",
        "--mailboxes",
        "2",
        "--drives",
        "2",
        "--restore-points",
        "3",
    ]
    .iter()
    .chain(seed_args)
    .copied()
    .collect::<Vec<_>>());
    assert!(ok, "{err}");
    let seed_file = dir.path().join("seed.json");
    std::fs::write(&seed_file, seed).unwrap();
    let (ok, token, err) = run(&["token", "--data-dir", d, "--tenant", TENANT]);
    assert!(ok, "{err}");
    let server = serve(&["--data-dir", d, "--listen", "127.0.0.1:0"], &[]);
    let out = Command::new(program)
        .arg(script)
        .args([&server.origin, version, token.trim(), seed_file.to_str().unwrap()])
        .current_dir(script.parent().unwrap())
        .output()
        .expect("the client script runs");
    sigterm_and_wait(server);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} {version} failed:\n{text}", script.display());
    let last = text.lines().rfind(|l| l.ends_with(" failed")).unwrap_or_default();
    assert!(last.ends_with(" 0 failed") && !last.starts_with("0 passed"), "{text}");
    text
}

/// Runs a script of `tests/sdk` with both Python SDKs (beta and v1.0).
fn python_sdks(script: &str) {
    let python = test_tools().join("venv/bin/python");
    let script = repo_root().join("tests/sdk").join(script);
    for version in ["beta", "v1.0"] {
        println!("{}", lifecycle(&python, &script, version));
    }
}

/// Every answer of the wire recording (`wire.rs`), of the files and mail paths and (beta) of
/// full-service protection, activity logs and reports that has a context, read into the official
/// Python SDK's model of the type its context names and written back (`tests/sdk/round_trip.py`):
/// every member must be one the model knows, and come back as it went.
#[tokio::test]
async fn the_python_sdks_models_round_trip_every_served_type() {
    let app = crate::support::TestApp::spawn().await;
    let python = test_tools().join("venv/bin/python");
    let script = repo_root().join("tests/sdk/round_trip.py");
    for version in ["v1.0", "beta"] {
        let (_, mut raw) = crate::wire::record(&app, version).await;
        let mut more = crate::metadata::content_answers(&app, version).await;
        if version == "beta" {
            more.extend(crate::exclusions::beta_answers(&app, crate::support::OTHER_TENANT).await);
        }
        for (name, answer) in more {
            raw.insert(format!("more-{name}"), answer["body"].clone());
        }
        let answers = crate::metadata::typed_answers(&app, version, &raw).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("answers.json");
        std::fs::write(&file, serde_json::to_vec(&answers).unwrap()).unwrap();
        let out = Command::new(&python)
            .arg(&script)
            .args([&app.origin, version, "-", file.to_str().unwrap()])
            .current_dir(script.parent().unwrap())
            .output()
            .expect("the round trip runs");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{version}:\n{text}");
        println!("{text}");
    }
}

#[test]
fn an_odata_client_reads_sessions_through_metadata() {
    python_sdks("odata_client.py");
}

#[test]
fn the_python_sdk_reads_and_writes_files() {
    python_sdks("files.py");
}

#[test]
fn the_python_sdk_browses_restores_and_reads_restored_content() {
    let python = test_tools().join("venv/bin/python");
    let script = repo_root().join("tests/sdk/restores.py");
    for version in ["beta", "v1.0"] {
        println!("{}", seeded_run(&python, &script, version, &["--content", "2MiB"]));
    }
}

#[test]
fn the_python_sdk_reads_and_writes_mail() {
    python_sdks("mail.py");
}

#[test]
fn the_official_sdks_drive_the_whole_lifecycle() {
    let cache = test_tools();
    let python = cache.join("venv/bin/python");
    let py_script = repo_root().join("tests/sdk/lifecycle.py");
    let js_script = cache.join("node/lifecycle.mjs");
    for version in ["beta", "v1.0"] {
        println!("{}", lifecycle(&python, &py_script, version));
        println!("{}", lifecycle(Path::new("node"), &js_script, version));
    }
}
