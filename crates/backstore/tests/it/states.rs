//! `backstore state`: a whole store saved under a name, loaded back, reset; on SQLite and on
//! PostgreSQL (through `TestDb`), with content whose packs the saved state shares.

use serde_json::{json, Value};

use crate::process::{run, serve, sigterm_and_wait, Remote};
use crate::support::{json_of, on_postgres, TestDb};

const TENANT: &str = "t-state";

/// `backstore ARGS… <the database and data dir>`, which must succeed; its JSON.
fn ok_json(args: &[&str], place: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend_from_slice(place);
    let (ok, out, err) = run(&all);
    assert!(ok, "{all:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{all:?} printed no JSON ({e}): {out}"))
}

/// What a client of the tenant sees: its units, sessions, the clock, a drive's files.
async fn seen(origin: &str, token: &str, drive: &str) -> Value {
    let api = Remote::new(origin, token);
    let client = reqwest::Client::new();
    let clock = json_of(client.get(format!("{origin}/admin/clock")).bearer_auth(token)).await;
    let files = json_of(client.get(format!("{origin}/v1.0/drives/{drive}/root/children")).bearer_auth(token)).await;
    let all = json!({
        "units": api.get("protectionUnits").await,
        "sites": api.get("siteProtectionUnits").await,
        "sessions": api.get("restoreSessions").await,
        "policies": api.get("protectionPolicies").await,
        "offsetSeconds": clock["offsetSeconds"],
        "files": files,
    });
    // Each server listens on a port of its own; its origin is in every `@odata.context`.
    serde_json::from_str(&all.to_string().replace(origin, "http://server")).unwrap()
}

#[tokio::test]
async fn a_saved_state_loads_back_as_it_was_and_its_content_outlives_garbage_collection() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(dir.path()).await;
    let d = dir.path().display().to_string();
    let place = db.serve_args(&d);
    let seed = |seed: &str| {
        let args = ["seed", "--tenant", TENANT, "--sites", "1", "--mailboxes", "1", "--drives", "0", "--seed", seed];
        ok_json(&[&args[..], &["--content", "256KiB"]].concat(), &place)
    };
    let seeded = seed("1");
    let site = seeded["protectionUnits"].as_array().unwrap().iter().find(|u| u["kind"] == "site").unwrap().clone();
    let drive = site["driveId"].as_str().unwrap().to_owned();
    let (ok, token, _) = run(&["token", "--data-dir", &d, "--tenant", TENANT]);
    assert!(ok);
    let token = token.trim().to_owned();

    // Saved while a server runs: SQLite copies a consistent snapshot; PostgreSQL copies a
    // database only while nobody else is connected to it, and says so.
    let s = serve(&[&["--listen", "127.0.0.1:0"][..], &place].concat(), &[]);
    let before = seen(&s.origin, &token, &drive).await;
    assert_eq!(before["units"]["value"].as_array().unwrap().len(), 2, "{before}");
    assert!(!before["files"]["value"].as_array().unwrap().is_empty(), "{before}");
    let (saved_live, _, err) = run(&[&["state", "save", "base"][..], &db_args(&db, &d)].concat());
    assert_eq!(saved_live, !on_postgres(), "{err}");
    if on_postgres() {
        assert!(err.contains("other connection(s) (backstore-"), "{err}");
    }
    sigterm_and_wait(s);
    let saved = ok_json(&["state", "save", "base"], &db_args(&db, &d));
    assert_eq!(
        (&saved["name"], &saved["backend"], saved["schemaVersion"].as_i64().unwrap() > 0),
        (&json!("base"), &json!(if on_postgres() { "postgresql" } else { "sqlite" }), true),
        "{saved}"
    );

    // Change everything a client sees: a restore, a policy, a drive's files, the clock.
    let s = serve(&[&["--listen", "127.0.0.1:0"][..], &place].concat(), &[]);
    let api = Remote::new(&s.origin, &token);
    let policy =
        api.post("oneDriveForBusinessProtectionPolicies", &json!({ "displayName": "Added after the save" })).await;
    assert!(policy["id"].is_string(), "{policy}");
    api.activated("sharePointRestoreSessions", "siteRestoreArtifacts", &[&site["restorePointIds"][0]], "new").await;
    let local = tempfile::tempdir().unwrap();
    std::fs::write(local.path().join("added after the save.txt"), "new").unwrap();
    let site_url = site["siteWebUrl"].as_str().unwrap();
    ok_json(&["import", "--tenant", TENANT, "--site", site_url, local.path().to_str().unwrap()], &place);
    let advanced = json_of(
        reqwest::Client::new()
            .post(format!("{}/admin/clock/advance", s.origin))
            .bearer_auth(&token)
            .json(&json!({ "by": "3d" })),
    )
    .await;
    assert_eq!(advanced["offsetSeconds"], 3 * 86400, "{advanced}");
    let changed = seen(&s.origin, &token, &drive).await;
    assert_ne!(changed["sessions"], before["sessions"]);
    assert_ne!(changed["policies"], before["policies"]);
    assert_ne!(changed["files"], before["files"]);
    assert_ne!(changed["offsetSeconds"], before["offsetSeconds"]);
    sigterm_and_wait(s);

    // Load: every answer is the one before the change.
    let loaded = ok_json(&["state", "load", "base"], &db_args(&db, &d));
    assert_eq!(loaded["savedAt"], saved["savedAt"]);
    let s = serve(&[&["--listen", "127.0.0.1:0"][..], &place].concat(), &[]);
    let after = seen(&s.origin, &token, &drive).await;
    assert!(after == before, "after the load:\n{after}\nbefore the change:\n{before}");
    sigterm_and_wait(s);

    // Reset empties the store and keeps the states; the signing key stays, so tokens still work.
    let reset = ok_json(&["state", "reset"], &db_args(&db, &d));
    assert_eq!(reset["schemaVersion"], saved["schemaVersion"]);
    let s = serve(&[&["--listen", "127.0.0.1:0"][..], &place].concat(), &[]);
    let empty = Remote::new(&s.origin, &token);
    // The tenant is as new: the service is not even enabled.
    let units = empty.get("protectionUnits").await;
    assert_eq!(units["error"]["code"], "BackupServiceNotEnabled", "{units}");
    sigterm_and_wait(s);
    let listed = ok_json(&["state", "list"], &db_args(&db, &d));
    assert_eq!(listed["states"].as_array().unwrap().iter().map(|s| &s["name"]).collect::<Vec<_>>(), [&json!("base")]);

    // Other content for the same tenant, then a collection with no grace: the live index does not
    // know the saved state's packs, which are kept because the state names them.
    // (What the import wrote after the save is in neither index, and goes.)
    seed("2");
    let gc = ok_json(&["gc", "--grace", "0s"], &place);
    let orphans_while_saved = gc["tenants"][0]["orphanPacks"].as_u64().unwrap();
    ok_json(&["state", "load", "base"], &db_args(&db, &d));
    let verified = ok_json(&["verify"], &place);
    assert_eq!((verified["snapshots"].as_u64().unwrap() > 0, &verified["damaged"]), (true, &json!([])), "{verified}");

    // Errors name what is wrong, and change nothing.
    for (args, says) in [
        (&["state", "load", "nope"][..], "no saved state named 'nope'"),
        (&["state", "save", "no spaces"][..], "is not a state name"),
        (&["state", "delete", "nope"][..], "no saved state named 'nope'"),
    ] {
        let (ok, _, err) = run(&[args, &db_args(&db, &d)].concat());
        assert!(!ok && err.contains(says), "{args:?}: {err}");
    }

    // Once the state is deleted, a collection frees what only it had.
    ok_json(&["state", "reset"], &db_args(&db, &d));
    seed("3");
    ok_json(&["state", "delete", "base"], &db_args(&db, &d));
    assert_eq!(ok_json(&["state", "list"], &db_args(&db, &d)), json!({ "states": [] }));
    let gc = ok_json(&["gc", "--grace", "0s"], &place);
    assert!(gc["tenants"][0]["orphanPacks"].as_u64().unwrap() > orphans_while_saved + 1, "{gc}");

    // One tenant emptied from the command line.
    let reset = ok_json(&["state", "reset", "--tenant", TENANT], &db_args(&db, &d));
    assert_eq!(reset["tenantId"], TENANT);
    assert!(reset["removedRows"].as_u64().unwrap() > 0, "{reset}");
    assert_eq!(ok_json(&["verify"], &place)["snapshots"], 0);
}

/// The arguments that name the database alone (state and clock commands take no data dir with
/// a database URL).
fn db_args<'a>(db: &'a TestDb, d: &'a str) -> Vec<&'a str> {
    db.db_args(d)
}

/// `POST /admin/state/save|load|reset` and `GET /admin/state` on a running server, while clients
/// read: every answer is 200 on one state or the other, or 503 with `Retry-After` during the
/// switch; after the load is answered, nobody sees the state it replaced.
#[tokio::test]
async fn a_running_server_loads_and_resets_states_atomically_for_its_clients() {
    use crate::support::{points, TestApp, OTHER_TENANT, TENANT as TENANT_A};
    let app = TestApp::spawn_with_engine().await;
    let token = app.token(TENANT_A);
    let report = app.seed(TENANT_A, 2, 0, 0, 2).await;
    let other = app.seed(OTHER_TENANT, 1, 0, 0, 1).await;
    let sites = points(&report, "site");
    let admin = |path: &str| format!("{}/admin/state{path}", app.origin);

    let saved = app.post_abs(&admin("/save"), &token, &json!({ "name": "two-sites" })).await;
    saved.expect(200);
    assert_eq!(saved.body["name"], "two-sites");
    let listed = app.get_abs(&admin(""), &token).await;
    assert_eq!(listed.body["states"][0]["name"], "two-sites", "{}", listed.text);

    // Change: three sessions, the clock two days on.
    for p in &sites {
        app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&p[0]]).await;
    }
    app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&sites[0][1]]).await;
    app.post_abs(&format!("{}/admin/clock/advance", app.origin), &token, &json!({"by": "2d"})).await.expect(200);
    assert_eq!(app.get("restoreSessions", &token).await.body["value"].as_array().unwrap().len(), 3);

    // Readers hammer the server while it loads the saved state.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loaded_at = std::sync::Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (client, url, token) = (reqwest::Client::new(), app.url("restoreSessions"), token.clone());
        let (done, loaded_at) = (done.clone(), loaded_at.clone());
        readers.push(tokio::spawn(async move {
            let (mut ok, mut waited) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let sent = std::time::Instant::now();
                let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
                let status = r.status().as_u16();
                let retry = r.headers().get("retry-after").is_some();
                let body: Value = r.json().await.unwrap();
                match status {
                    200 => {
                        let n = body["value"].as_array().unwrap().len();
                        let after_load = loaded_at.lock().unwrap().is_some_and(|t| sent > t);
                        assert!(n == 0 || (n == 3 && !after_load), "{n} sessions (after the load: {after_load})");
                        ok += 1;
                    }
                    503 => {
                        assert!(retry && body["error"]["code"] == "serviceNotAvailable", "{body}");
                        waited += 1;
                    }
                    other => panic!("{other}: {body}"),
                }
            }
            (ok, waited)
        }));
    }
    // And a writer creates sessions in the other tenant all along: each is made or told to wait.
    let writer = {
        let (client, url, token) =
            (reqwest::Client::new(), app.url("sharePointRestoreSessions"), app.token(OTHER_TENANT));
        let body = json!({ "siteRestoreArtifacts": [{ "restorePoint": { "id": points(&other, "site")[0][0] }, "destinationType": "new" }] });
        let done = done.clone();
        tokio::spawn(async move {
            let (mut made, mut waited) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let r = client.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                match r.status().as_u16() {
                    201 => made += 1,
                    503 => waited += 1,
                    // The tenant's limit of running sessions does not apply to drafts; anything
                    // else is a failure of the switch.
                    other => panic!("{other}: {}", r.text().await.unwrap()),
                }
            }
            (made, waited)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let loaded = app.post_abs(&admin("/load"), &token, &json!({ "name": "two-sites" })).await;
    loaded.expect(200);
    *loaded_at.lock().unwrap() = Some(std::time::Instant::now());
    assert_eq!(loaded.body["savedAt"], saved.body["savedAt"]);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for r in readers {
        let (ok, _) = r.await.unwrap();
        assert!(ok > 0);
    }
    let (made, _) = writer.await.unwrap();
    assert!(made > 0);
    assert_eq!(app.get("restoreSessions", &token).await.body["value"], json!([]));
    let clock = app.get_abs(&format!("{}/admin/clock", app.origin), &token).await;
    assert_eq!(clock.body["offsetSeconds"], 0, "the clock is the state's again");

    // The new state's engine runs: a restore activated now completes.
    let id = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&sites[1][0]]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.activate(&id, &token).await.expect(200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.get(&format!("restoreSessions/{id}"), &token).await.body["status"] != "completed" {
        assert!(std::time::Instant::now() < deadline, "the engine of the loaded state did not run");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Refusals: a missing state, a bad name, no name, a read-only token; none switches anything.
    let nope = app.post_abs(&admin("/load"), &token, &json!({ "name": "nope" })).await;
    assert_eq!((nope.status.as_u16(), nope.error_code()), (404, "itemNotFound"));
    let bad = app.post_abs(&admin("/save"), &token, &json!({ "name": "a/b" })).await;
    assert_eq!((bad.status.as_u16(), bad.error_code()), (400, "BadRequest"), "{}", bad.text);
    let none = app.post_abs(&admin("/save"), &token, &json!({})).await;
    assert_eq!(none.status.as_u16(), 400);
    let reader = app.token_with(TENANT_A, true, None, 3600);
    let denied = app.post_abs(&admin("/reset"), &reader, &json!({})).await;
    assert_eq!(denied.status.as_u16(), 403, "{}", denied.text);
    assert_eq!(app.get("restoreSessions", &token).await.body["value"].as_array().unwrap().len(), 1);

    // Reset: an empty store; the same token still signs in.
    let reset = app.post_abs(&admin("/reset"), &token, &json!({})).await;
    reset.expect(200);
    assert_eq!(reset.body["reset"], true);
    let units = app.get("protectionUnits", &token).await;
    assert_eq!(units.error_code(), "BackupServiceNotEnabled");
    app.stop().await;
}

/// `POST /admin/tenants/{id}/reset` empties the caller's tenant and nothing of another's.
#[tokio::test]
async fn a_tenant_is_reset_alone() {
    use crate::support::{points, TestApp, OTHER_TENANT, TENANT as TENANT_A};
    let app = TestApp::spawn().await;
    let (a, b) = (app.token(TENANT_A), app.token(OTHER_TENANT));
    let report_a = app.seed(TENANT_A, 2, 1, 0, 2).await;
    let report_b = app.seed(OTHER_TENANT, 1, 1, 1, 2).await;
    app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &a, &[&points(&report_a, "site")[0][0]]).await;
    app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &b, &[&points(&report_b, "site")[0][0]]).await;
    let seen = |token: String| {
        let app = &app;
        async move {
            let mut all = Vec::new();
            for path in ["protectionUnits", "restoreSessions", "protectionPolicies", "serviceApps"] {
                all.push(app.get(path, &token).await.text);
            }
            all
        }
    };
    let b_before = seen(b.clone()).await;

    let reset = |tenant: &str, token: &str| {
        let url = format!("{}/admin/tenants/{tenant}/reset", app.origin);
        let token = token.to_owned();
        let app = &app;
        async move { app.post_abs(&url, &token, &json!({})).await }
    };
    // Another tenant's token, or a read-only one, resets nothing.
    let denied = reset(TENANT_A, &b).await;
    assert_eq!((denied.status.as_u16(), denied.error_code()), (403, "accessDenied"), "{}", denied.text);
    let reader = app.token_with(TENANT_A, true, None, 3600);
    assert_eq!(reset(TENANT_A, &reader).await.status.as_u16(), 403);
    assert_eq!(app.get("restoreSessions", &a).await.body["value"].as_array().unwrap().len(), 1);

    let done = reset(TENANT_A, &a).await;
    done.expect(200);
    assert_eq!(done.body["tenantId"], TENANT_A);
    assert!(done.body["removedRows"].as_u64().unwrap() > 10, "{}", done.text);
    // Tenant A is as new (its service not even enabled); tenant B sees exactly what it saw.
    assert_eq!(app.get("protectionUnits", &a).await.error_code(), "BackupServiceNotEnabled");
    assert_eq!(seen(b.clone()).await, b_before);
    // And A starts again from scratch: seeded anew, it has its units back and no sessions.
    app.seed(TENANT_A, 1, 0, 0, 1).await;
    assert_eq!(app.get("protectionUnits", &a).await.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("restoreSessions", &a).await.body["value"], json!([]));
    app.stop().await;
}

/// `serve --from-state NAME`: two servers on forks of one state, side by side; what one writes the
/// other and the root never see; a collection on the root keeps the content a fork wrote; each
/// fork is gone when its server stops.
#[tokio::test]
async fn forks_of_a_state_serve_side_by_side_and_keep_each_others_content() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(dir.path()).await;
    let d = dir.path().display().to_string();
    let place = db.serve_args(&d);
    let args = ["seed", "--tenant", TENANT, "--sites", "1", "--mailboxes", "0", "--drives", "0", "--content", "256KiB"];
    let seeded = ok_json(&args, &place);
    let drive = seeded["protectionUnits"][0]["driveId"].as_str().unwrap().to_owned();
    let (_, token, _) = run(&["token", "--data-dir", &d, "--tenant", TENANT]);
    let token = token.trim().to_owned();
    ok_json(&["state", "save", "base"], &db_args(&db, &d));

    let fork_args = [&["--listen", "127.0.0.1:0", "--from-state", "base"][..], &place].concat();
    let (one, two) = (serve(&fork_args, &[]), serve(&fork_args, &[]));
    let a = seen(&one.origin, &token, &drive).await;
    assert_eq!(a, seen(&two.origin, &token, &drive).await, "both forks start as the state");

    // Fork one restores and writes a file; fork two sees neither.
    Remote::new(&one.origin, &token)
        .activated(
            "sharePointRestoreSessions",
            "siteRestoreArtifacts",
            &[&seeded["protectionUnits"][0]["restorePointIds"][0]],
            "new",
        )
        .await;
    let body: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let client = reqwest::Client::new();
    let file = |origin: &str| format!("{origin}/v1.0/drives/{drive}/root:/fork-only.bin:/content");
    let put = client.put(file(&one.origin)).bearer_auth(&token).body(body.clone()).send().await.unwrap();
    assert_eq!(put.status().as_u16(), 201);
    assert_eq!(seen(&two.origin, &token, &drive).await, a);
    let missing = client.get(file(&two.origin)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // A collection of the root with no grace: the fork's packs are named by the fork's index only.
    ok_json(&["gc", "--grace", "0s"], &place);
    let read = client.get(file(&one.origin)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(read.status().as_u16(), 200);
    assert!(read.bytes().await.unwrap() == body, "the fork's file survived the root's collection");

    sigterm_and_wait(one);
    sigterm_and_wait(two);
    // The forks are gone; the root is as it was.
    if on_postgres() {
        use sqlx::Connection as _;
        let admin = db.url.rsplit_once('/').unwrap().0.to_owned() + "/test";
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        let name = db.url.rsplit('/').next().unwrap().to_owned();
        let forks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE left(datname, length($1)) = $1")
            .bind(format!("{name}.fork."))
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(forks, 0);
    } else {
        let left: Vec<_> = std::fs::read_dir(dir.path().join("forks")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
    let root = serve(&[&["--listen", "127.0.0.1:0"][..], &place].concat(), &[]);
    assert_eq!(seen(&root.origin, &token, &drive).await, a);
    sigterm_and_wait(root);
    let (ok, _, err) = run(&[&["serve", "--from-state", "nope", "--listen", "127.0.0.1:0"][..], &place].concat());
    assert!(!ok && err.contains("no saved state named 'nope'"), "{err}");
}

/// `state export` on this binary's backend, `state import` on the other one: the loaded state
/// answers every request as the original does, and its content reads back whole.
#[tokio::test]
async fn an_exported_state_imports_on_the_other_backend() {
    let (from_dir, to_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let from = TestDb::create(from_dir.path()).await;
    let to = TestDb::create_on(to_dir.path(), !on_postgres()).await;
    let (fd, td) = (from_dir.path().display().to_string(), to_dir.path().display().to_string());
    let (from_place, to_place) = (from.args(&fd), to.args(&td));
    let args = ["seed", "--tenant", TENANT, "--sites", "1", "--mailboxes", "1", "--drives", "0", "--content", "256KiB"];
    let seeded = ok_json(&args, &from_place);
    let drive = seeded["protectionUnits"][0]["driveId"].as_str().unwrap().to_owned();
    let (_, token, _) = run(&["token", "--data-dir", &fd, "--tenant", TENANT]);
    let token = token.trim().to_owned();
    let s = serve(&[&["--listen", "127.0.0.1:0"][..], &from_place].concat(), &[]);
    let before = seen(&s.origin, &token, &drive).await;
    sigterm_and_wait(s);
    ok_json(&["state", "save", "base"], &from.db_args(&fd));

    let file = from_dir.path().join("base.tar");
    let exported = ok_json(&["state", "export", "base", file.to_str().unwrap()], &from_place);
    assert!(exported["packs"].as_u64().unwrap() > 0 && exported["rows"].as_u64().unwrap() > 50, "{exported}");
    let imported = ok_json(&["state", "import", file.to_str().unwrap(), "moved"], &to_place);
    assert_eq!(imported["backend"], if on_postgres() { "sqlite" } else { "postgresql" }, "{imported}");
    assert_eq!((&imported["rows"], &imported["packs"]), (&exported["rows"], &exported["packs"]));
    ok_json(&["state", "load", "moved"], &to.db_args(&td));

    // The other data dir had no keys: the archive's are now its own, and a token of its key works.
    let (_, token, _) = run(&["token", "--data-dir", &td, "--tenant", TENANT]);
    let token = token.trim().to_owned();
    let s = serve(&[&["--listen", "127.0.0.1:0"][..], &to_place].concat(), &[]);
    assert!(seen(&s.origin, &token, &drive).await == before, "the imported state answers as the original");
    sigterm_and_wait(s);
    let verified = ok_json(&["verify"], &to_place);
    assert_eq!((verified["snapshots"].as_u64().unwrap() > 0, &verified["damaged"]), (true, &json!([])), "{verified}");

    // A second import into the same data dir has the same keys: fine. Other keys, or a file that
    // is no archive, are refused and make no state.
    ok_json(&["state", "import", file.to_str().unwrap(), "again"], &to_place);
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(other.path().join("keys/content")).unwrap();
    std::fs::write(other.path().join(format!("keys/content/{TENANT}.json")), "{}").unwrap();
    let od = other.path().display().to_string();
    let (ok, _, err) = run(&["state", "import", file.to_str().unwrap(), "x", "--data-dir", &od]);
    assert!(!ok && err.contains("already has other content keys"), "{err}");
    std::fs::write(other.path().join("junk.tar"), "not an archive").unwrap();
    let junk = other.path().join("junk.tar").display().to_string();
    let (ok, _, err) = run(&["state", "import", &junk, "x", "--data-dir", &od]);
    assert!(!ok && err.contains("archive"), "{err}");
    assert_eq!(ok_json(&["state", "list"], &["--data-dir", &od]), json!({ "states": [] }));
}
