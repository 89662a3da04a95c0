//! `kill -9` of the real server in the middle of restores, at several points, then restarts on the
//! same data: every artifact ends in exactly one terminal status, none is lost or duplicated, and
//! the job history shows the takeovers; restores of content (a site's library and a mailbox, in
//! place and new, and a granular copy of the library) end with what the restore point holds,
//! written once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::process::{run, serve, sigterm_and_wait, Remote, Serving};
use crate::support::TestDb;

const TENANT: &str = "crash-tenant";

fn start(db: &[&str]) -> Serving {
    serve(
        &[db, &["--listen", "127.0.0.1:0", "--restore-speed", "250ms", "--job-lease", "1s", "--workers", "2"]].concat(),
        &[],
    )
}

fn kill_9(mut s: Serving) {
    s.child.kill().expect("SIGKILL");
    s.child.wait().unwrap();
}

/// A token of the test tenant from data dir `d`'s key, and the report of seeding the tenant into
/// `database` with `args`.
fn token_and_seed(database: &TestDb, d: &str, args: &[&str]) -> (String, Value) {
    let (ok, token, _) = run(&["token", "--data-dir", d, "--tenant", TENANT]);
    assert!(ok);
    let (ok, out, err) = run(&[&["seed", "--tenant", TENANT][..], &database.serve_args(d), args].concat());
    assert!(ok, "{err}");
    (token.trim().to_owned(), serde_json::from_str(&out).unwrap())
}

async fn artifacts(api: &Remote, sessions: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in sessions {
        let s = api.get(&format!("restoreSessions/{id}?$expand=*")).await;
        let nav = ["siteRestoreArtifacts", "driveRestoreArtifacts", "mailboxRestoreArtifacts"]
            .into_iter()
            .find(|n| s[*n].as_array().is_some_and(|a| !a.is_empty()));
        match nav {
            Some(nav) => out.extend(s[nav].as_array().unwrap().iter().cloned()),
            // A granular session's artifacts are in a collection of their own.
            None => {
                let granular = api.get(&format!("sharePointRestoreSessions/{id}/granularSiteRestoreArtifacts")).await;
                out.extend(granular["value"].as_array().unwrap().iter().cloned());
            }
        }
    }
    out
}

async fn wait_for(api: &Remote, sessions: &[String], what: &str, done: impl Fn(&[Value]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = artifacts(api, sessions).await;
        if done(&all) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {all:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn kill_9_at_several_points_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let database = TestDb::create(dir.path()).await;
    let db = database.serve_args(&d);
    let (token, report) =
        token_and_seed(&database, &d, &["--sites", "6", "--mailboxes", "0", "--drives", "6", "--restore-points", "1"]);
    let units = report["protectionUnits"].as_array().unwrap();
    let s = start(&db);
    let api = Remote::new(&s.origin, &token);
    let mut sessions = Vec::new();
    for (set, nav, kind) in [
        ("sharePointRestoreSessions", "siteRestoreArtifacts", "site"),
        ("oneDriveForBusinessRestoreSessions", "driveRestoreArtifacts", "drive"),
    ] {
        let pts: Vec<&Value> = units.iter().filter(|u| u["kind"] == kind).map(|u| &u["restorePointIds"][0]).collect();
        for half in pts.chunks(3) {
            sessions.push(api.activated(set, nav, half, "new").await);
        }
    }
    let ids: Vec<String> =
        artifacts(&api, &sessions).await.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 12);

    // 1: right after activation, before the workers got far.
    kill_9(s);
    // 2: restarted, killed while restores are in progress (their leases held by the dead process).
    let s = start(&db);
    wait_for(&Remote::new(&s.origin, &token), &sessions, "a restore in progress", |all| {
        all.iter().any(|a| a["status"] == "inProgress")
    })
    .await;
    kill_9(s);
    // 3: restarted, killed at once, before its workers could take the expired leases over.
    let s = start(&db);
    kill_9(s);
    // Last start: everything finishes.
    let s = start(&db);
    let api = Remote::new(&s.origin, &token);
    wait_for(&api, &sessions, "every artifact terminal", |all| {
        all.iter().all(|a| a["status"] == "succeeded" || a["status"] == "failed")
    })
    .await;
    let all = artifacts(&api, &sessions).await;
    let mut after: Vec<String> = all.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    after.sort();
    let mut before = ids.clone();
    before.sort();
    assert_eq!(after, before, "no artifact lost or duplicated");
    assert!(all.iter().all(|a| a["status"] == "succeeded"), "no faults were configured: {all:?}");
    let mut urls: Vec<&str> = all.iter().map(|a| a["restoredSiteWebUrl"].as_str().unwrap()).collect();
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 12, "every restore got its own site");
    for id in &sessions {
        let got = api.get(&format!("restoreSessions/{id}")).await;
        assert_eq!(got["status"], "completed");
        assert_eq!(
            got["restoreSessionArtifactCount"],
            json!({"total": 3, "completed": 3, "inProgress": 0, "failed": 0})
        );
    }
    sigterm_and_wait(s);

    // The job history, read from the database the servers shared.
    let store = backstore_store::open(&database.url, &Default::default()).await.unwrap();
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        let h = store.job_history(TENANT, id).await.unwrap();
        let terminal = h.iter().filter(|e| ["succeeded", "failed", "exhausted"].contains(&e.event.as_str())).count();
        assert_eq!(terminal, 1, "artifact {id}: {h:?}");
        assert_eq!(h.last().unwrap().event, "succeeded");
        for e in &h {
            *kinds.entry(e.event.clone()).or_default() += 1;
        }
    }
    assert!(kinds.get("takeover").copied().unwrap_or(0) >= 1, "the history shows takeovers: {kinds:?}");
}

#[tokio::test]
async fn restores_of_content_killed_at_several_points_end_with_the_points_content_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let database = TestDb::create(dir.path()).await;
    let db = database.serve_args(&d);
    let seed = ["--sites", "1", "--mailboxes", "1", "--drives", "0", "--restore-points", "2", "--content", "16MiB"];
    let (token, report) = token_and_seed(&database, &d, &seed);
    let units = report["protectionUnits"].as_array().unwrap();
    let unit = |kind: &str| units.iter().find(|u| u["kind"] == kind).unwrap();
    let (site, mailbox) = (unit("site"), unit("mailbox"));
    assert!(site["itemCount"].as_u64().unwrap() > 80 && mailbox["messageCount"].as_u64().unwrap() > 100, "{report}");

    let mut s = start(&db);
    let api = Remote::new(&s.origin, &token);
    let mut sessions = Vec::new();
    for (set, nav, u) in [
        ("sharePointRestoreSessions", "siteRestoreArtifacts", site),
        ("exchangeRestoreSessions", "mailboxRestoreArtifacts", mailbox),
    ] {
        // The older point: in place undoes the changes seeded after it.
        let point = u["restorePointIds"].as_array().unwrap().last().unwrap();
        for destination in ["new", "inPlace"] {
            sessions.push(api.activated(set, nav, &[point], destination).await);
        }
    }
    // And granular: the older point's whole library copied beside the live one.
    let older = site["restorePointIds"].as_array().unwrap().last().unwrap();
    let browse = api.post("sharePointBrowseSessions", &json!({"restorePointId": older})).await;
    let browse_id = browse["id"].as_str().unwrap().to_owned();
    let top = api.post(&format!("sharePointBrowseSessions/{browse_id}/browse"), &json!({})).await;
    let library = api
        .post(
            &format!("sharePointBrowseSessions/{browse_id}/browse"),
            &json!({"browseLocationItemKey": top["value"][0]["itemKey"]}),
        )
        .await;
    let key = library["value"][0]["itemKey"].clone();
    let granular = api
        .post(
            "sharePointRestoreSessions",
            &json!({"granularSiteRestoreArtifacts": [{"browseSessionId": browse_id, "id": key}]}),
        )
        .await;
    let granular_id = granular["id"].as_str().unwrap().to_owned();
    api.post(&format!("restoreSessions/{granular_id}/activate"), &json!({})).await;
    sessions.push(granular_id);
    // Killed while the restores wait out their pace, as they start writing, and right after.
    for pause in [400, 1_050, 1_150, 1_300] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        kill_9(s);
        s = start(&db);
    }
    let api = Remote::new(&s.origin, &token);
    wait_for(&api, &sessions, "every artifact terminal", |all| {
        all.iter().all(|a| a["status"] == "succeeded" || a["status"] == "failed")
    })
    .await;
    let all = artifacts(&api, &sessions).await;
    assert!(all.iter().all(|a| a["status"] == "succeeded"), "{all:?}");

    // Each restore's proof: what it wrote is what the point holds.
    for id in &sessions {
        let (ok, out, err) = run(&["sessions", "verify", "--server", &s.origin, "--token", &token, id]);
        assert!(ok && out.lines().count() == 1 && out.contains(" match point="), "{out}{err}");
    }
    // Written once: one new site, one "Restored Items" folder, however often the restores ran.
    let user = mailbox["directoryObjectId"].as_str().unwrap();
    let graph = format!("{}/v1.0", s.origin);
    let client = reqwest::Client::new();
    let get = |url: String| {
        let client = client.clone();
        let token = token.clone();
        async move { client.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let top = get(format!("{graph}/users/{user}/mailFolders?$top=100")).await;
    let restored: Vec<&Value> = top["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["displayName"].as_str().unwrap().starts_with("Restored Items"))
        .collect();
    assert_eq!(restored.len(), 1, "{top}");
    let new_mail = all.iter().find(|a| a["restoredFolderName"].is_string()).unwrap();
    assert_eq!(restored[0]["id"], new_mail["restoredFolderId"]);
    let new_site = all.iter().find(|a| a["restoredSiteWebUrl"].as_str().is_some_and(|u| u.ends_with("R0"))).unwrap();
    let drive = get(format!("{graph}/sites/{}/drive", new_site["restoredSiteId"].as_str().unwrap())).await;
    assert!(drive["id"].is_string(), "{drive}");
    // And one "Recovered Items" folder in the live library, holding one copy of the library.
    let live = get(format!("{graph}/sites/{}/drive/root/children?$top=1000", site["siteId"].as_str().unwrap())).await;
    let recovered: Vec<&Value> = live["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"].as_str().unwrap().starts_with("Recovered Items"))
        .collect();
    assert_eq!(recovered.len(), 1, "{live}");
    let live_drive = get(format!("{graph}/sites/{}/drive", site["siteId"].as_str().unwrap())).await;
    let inside = get(format!(
        "{graph}/drives/{}/items/{}/children",
        live_drive["id"].as_str().unwrap(),
        recovered[0]["id"].as_str().unwrap()
    ))
    .await;
    let copies: Vec<&str> = inside["value"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(copies, ["Shared Documents"], "{inside}");
    sigterm_and_wait(s);
}
