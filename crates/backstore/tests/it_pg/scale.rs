//! Several `backstore serve` processes on one PostgreSQL database: they divide the work, one of them
//! dies mid-run and the others take its jobs over, limits and single activation hold across them,
//! and connections cut under load cost requests a 503, never data.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::{PgPool, Row};

use crate::process::{run, serve, sigterm_and_wait, Serving};
use crate::support::{json_of, TestDb};

const SITES: usize = 20;

struct Cluster {
    dir: tempfile::TempDir,
    db: TestDb,
}

impl Cluster {
    async fn new() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create(dir.path()).await;
        let (ok, _, err) = run(&["migrate", "--database-url", &db.url]);
        assert!(ok, "{err}");
        Cluster { dir, db }
    }

    fn data_dir(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// A cluster with `tenant` seeded: its restore point ids and a token of its own.
    async fn with_tenant(tenant: &str) -> (Cluster, Vec<String>, String) {
        let cluster = Cluster::new().await;
        let points = cluster.seed(tenant);
        let token = cluster.token(tenant);
        (cluster, points, token)
    }

    /// `SITES` sites with one restore point each in `tenant`; their restore point ids.
    fn seed(&self, tenant: &str) -> Vec<String> {
        let sites = SITES.to_string();
        let (ok, out, err) = run(&[
            "seed",
            "--database-url",
            &self.db.url,
            "--tenant",
            tenant,
            "--sites",
            &sites,
            "--mailboxes",
            "0",
            "--drives",
            "0",
            "--restore-points",
            "1",
        ]);
        assert!(ok, "{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        report["protectionUnits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["restorePointIds"][0].as_str().unwrap().to_owned())
            .collect()
    }

    fn token(&self, tenant: &str) -> String {
        let (ok, out, err) = run(&["token", "--data-dir", &self.data_dir(), "--tenant", tenant]);
        assert!(ok, "{err}");
        out.trim().to_owned()
    }

    fn serve(&self, extra: &[&str]) -> Serving {
        let d = self.data_dir();
        serve(&[&self.db.serve_args(&d)[..], &["--listen", "127.0.0.1:0"], extra].concat(), &[])
    }

    async fn pool(&self) -> PgPool {
        PgPool::connect(&self.db.url).await.unwrap()
    }
}

fn base(s: &Serving) -> String {
    format!("{}/v1.0/solutions/backupRestore", s.origin)
}

/// Creates a SharePoint session over `points` through `node`; its id.
async fn create(client: &reqwest::Client, node: &str, token: &str, points: &[String]) -> String {
    let arts: Vec<Value> =
        points.iter().map(|p| json!({ "restorePoint": { "id": p }, "destinationType": "new" })).collect();
    let r = client
        .post(format!("{node}/sharePointRestoreSessions"))
        .bearer_auth(token)
        .json(&json!({ "siteRestoreArtifacts": arts }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn activate(client: &reqwest::Client, node: &str, token: &str, id: &str) -> (u16, Value) {
    let r = client.post(format!("{node}/restoreSessions/{id}/activate")).bearer_auth(token).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn kill_9(mut s: Serving) {
    s.child.kill().expect("SIGKILL");
    s.child.wait().unwrap();
}

#[tokio::test]
async fn three_processes_share_200_sessions_and_take_over_from_one_killed_mid_run() {
    let cluster = Cluster::new().await;
    // 8 tenants × 25 sessions: as many as may run at once in each.
    let tenants: Vec<String> = (0..8).map(|i| format!("scale-{i}")).collect();
    let points: Vec<Vec<String>> = tenants.iter().map(|t| cluster.seed(t)).collect();
    let tokens: Vec<String> = tenants.iter().map(|t| cluster.token(t)).collect();
    let speed = ["--restore-speed", "60ms", "--job-lease", "2s", "--workers", "8"];
    let mut nodes: Vec<Option<Serving>> = (0..3).map(|_| Some(cluster.serve(&speed))).collect();
    let bases: Vec<String> = nodes.iter().map(|n| base(n.as_ref().unwrap())).collect();
    let client = reqwest::Client::new();

    let mut sessions = Vec::new();
    for round in 0..25 {
        for (t, token) in tokens.iter().enumerate() {
            let node = &bases[(round * tokens.len() + t) % 3];
            sessions.push((t, create(&client, node, token, &points[t]).await));
        }
    }
    for (i, (t, id)) in sessions.iter().enumerate() {
        let (status, body) = activate(&client, &bases[i % 3], &tokens[*t], id).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(sessions.len(), 200);

    // Kill one node once some work is done, with more still to do.
    let pool = cluster.pool().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM restore_artifacts WHERE status = 'succeeded'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if done >= 400 {
            assert!(done < 3000, "the run ended before the kill: {done}");
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {done}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let victim = nodes[1].take().unwrap();
    let victim_pid = victim.child.id();
    kill_9(victim);

    // Every artifact ends in exactly one terminal status, read through the surviving nodes.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM restore_artifacts WHERE status NOT IN ('succeeded', 'failed')")
                .fetch_one(&pool)
                .await
                .unwrap();
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} artifacts still open");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (i, (t, id)) in sessions.iter().enumerate() {
        let r = client
            .get(format!("{}/restoreSessions/{id}", bases[[0, 2][i % 2]]))
            .bearer_auth(&tokens[*t])
            .send()
            .await
            .unwrap();
        let s: Value = r.json().await.unwrap();
        assert_eq!(s["status"], "completed", "{s}");
        assert_eq!(
            s["restoreSessionArtifactCount"],
            json!({"total": 20, "completed": 20, "inProgress": 0, "failed": 0})
        );
    }
    let artifacts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM restore_artifacts").fetch_one(&pool).await.unwrap();
    assert_eq!(artifacts, 200 * SITES as i64);
    let ends = sqlx::query(
        "SELECT j.target_id, COUNT(e.seq) AS n FROM jobs j LEFT JOIN job_events e \
         ON e.tenant_id = j.tenant_id AND e.job_id = j.id AND e.event IN ('succeeded', 'failed', 'exhausted') \
         WHERE j.kind = 'restoreArtifact' GROUP BY j.target_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(ends.len(), 200 * SITES);
    assert!(ends.iter().all(|r| r.get::<i64, _>("n") == 1), "an artifact with other than one end");
    // The history shows the takeover: jobs the killed node held were taken by another worker.
    let takeovers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM job_events WHERE event = 'takeover'").fetch_one(&pool).await.unwrap();
    assert!(takeovers >= 1, "no takeover after killing pid {victim_pid}");
    let workers: HashSet<String> =
        sqlx::query_scalar("SELECT DISTINCT worker FROM job_events WHERE event = 'succeeded'")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(workers.len(), 3, "all three nodes did work: {workers:?}");
    // No job ran twice at once: between a claim and its end, no other worker claimed it.
    let overlaps: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM job_events a JOIN job_events b ON a.tenant_id = b.tenant_id AND a.job_id = b.job_id \
         AND b.seq > a.seq AND b.worker <> a.worker AND b.event = 'claimed' WHERE a.event = 'claimed'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(overlaps, 0, "a job was claimed fresh by two workers");
    pool.close().await;
    for n in nodes.into_iter().flatten() {
        sigterm_and_wait(n);
    }
}

#[tokio::test]
async fn limits_and_activation_hold_across_processes() {
    let (cluster, points, token) = Cluster::with_tenant("limits").await;
    // API-only nodes: nothing finishes, so every activated session stays running.
    let nodes: Vec<Serving> = (0..3).map(|_| cluster.serve(&["--role", "api"])).collect();
    let bases: Vec<String> = nodes.iter().map(base).collect();
    let client = reqwest::Client::new();

    // One session activated on two nodes at the same moment: activated once.
    let id = create(&client, &bases[0], &token, &points[..3]).await;
    let (a, b) = tokio::join!(activate(&client, &bases[1], &token, &id), activate(&client, &bases[2], &token, &id));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 403], "{a:?} {b:?}");
    let loser = if a.0 == 403 { a.1 } else { b.1 };
    assert_eq!(loser["error"]["code"], "RestoreSessionActionNotAllowed");
    let pool = cluster.pool().await;
    let jobs: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE tenant_id = 'limits'").fetch_one(&pool).await.unwrap();
    assert_eq!(jobs, 3, "one job per artifact");

    // Two PATCHes of one draft on two nodes at once: both apply, the count is the sum.
    let draft = create(&client, &bases[0], &token, &points[..1]).await;
    let patch = |node: String, pts: Vec<String>| {
        let client = client.clone();
        let token = token.clone();
        let draft = draft.clone();
        async move {
            let items: Vec<Value> =
                pts.iter().map(|p| json!({ "restorePoint": { "id": p }, "destinationType": "new" })).collect();
            let r = client
                .patch(format!("{node}/sharePointRestoreSessions/{draft}"))
                .bearer_auth(&token)
                .json(&json!({ "siteRestoreArtifacts@delta": items }))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    let (p1, p2) =
        tokio::join!(patch(bases[1].clone(), points[1..10].to_vec()), patch(bases[2].clone(), points[10..19].to_vec()));
    assert!(p1 < 300 && p2 < 300, "{p1} {p2}");
    let s = json_of(client.get(format!("{}/restoreSessions/{draft}", bases[0])).bearer_auth(&token)).await;
    assert_eq!(s["restoreSessionArtifactCount"]["total"], 19, "{s}");

    // 30 more sessions activated through three nodes at once: 25 may run, in all.
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(create(&client, &bases[i % 3], &token, &points[..1]).await);
    }
    let mut set = tokio::task::JoinSet::new();
    for (i, id) in ids.into_iter().enumerate() {
        let (client, node, token) = (client.clone(), bases[i % 3].clone(), token.clone());
        set.spawn(async move { activate(&client, &node, &token, &id).await });
    }
    let results = set.join_all().await;
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let refused: Vec<&Value> = results.iter().filter(|r| r.0 != 200).map(|r| &r.1).collect();
    assert_eq!(ok, 24, "one session was already running: 24 more may start");
    assert_eq!(refused.len(), 6);
    assert!(refused.iter().all(|b| b["error"]["code"] == "TooManyActiveRestoreSessions"), "{refused:?}");
    pool.close().await;
    for n in nodes {
        sigterm_and_wait(n);
    }
}

#[tokio::test]
async fn connections_cut_under_load_cost_503s_and_no_accepted_write() {
    let (cluster, points, token) = Cluster::with_tenant("cut").await;
    let node = cluster.serve(&["--db-acquire-timeout", "1s"]);
    let node_base = base(&node);
    let db_name = cluster.db.url.rsplit('/').next().unwrap().to_owned();
    let admin = PgPool::connect(&cluster.db.url.replace(&db_name, "test")).await.unwrap();

    // A client writing and reading without pause, counting what it was told.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (client, base, token, points, stop) =
            (reqwest::Client::new(), node_base.clone(), token.clone(), points.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut accepted, mut unavailable, mut i) = (Vec::new(), 0, 0usize);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let arts = json!([{ "restorePoint": { "id": points[i % points.len()] }, "destinationType": "new" }]);
                let r = client
                    .post(format!("{base}/sharePointRestoreSessions"))
                    .bearer_auth(&token)
                    .json(&json!({ "siteRestoreArtifacts": arts }))
                    .timeout(Duration::from_secs(15))
                    .send()
                    .await
                    .expect("an answer, never a hang or a dropped connection");
                match r.status().as_u16() {
                    201 => accepted.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()),
                    503 => {
                        let after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                        assert!(after >= 1);
                        let body: Value = r.json().await.unwrap();
                        assert_eq!(body["error"]["code"], "serviceNotAvailable", "{body}");
                        assert!(body["error"]["innerError"]["request-id"].is_string());
                        unavailable += 1;
                    }
                    other => panic!("{other}: {}", r.text().await.unwrap()),
                }
            }
            (accepted, unavailable)
        })
    };
    let terminate = format!(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db_name}' AND pid <> pg_backend_pid()"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Cut every connection of the database, five times, under load.
    for _ in 0..5 {
        sqlx::query(&terminate).execute(&admin).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Then the database goes away for a while: no new connections, the old ones cut.
    sqlx::query(&format!("ALTER DATABASE {db_name} ALLOW_CONNECTIONS false")).execute(&admin).await.unwrap();
    sqlx::query(&terminate).execute(&admin).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    sqlx::query(&format!("ALTER DATABASE {db_name} ALLOW_CONNECTIONS true")).execute(&admin).await.unwrap();
    // And it recovers by itself.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (accepted, unavailable) = load.await.unwrap();
    assert!(unavailable >= 1, "the outage was seen as 503s");
    assert!(accepted.len() >= 10, "{} accepted", accepted.len());

    let client = reqwest::Client::new();
    let r = client.get(format!("{node_base}/restoreSessions/$count")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200, "serving again after the outage");
    let stored: usize = r.text().await.unwrap().parse().unwrap();
    assert!(stored >= accepted.len(), "{stored} stored, {} accepted", accepted.len());
    for id in &accepted {
        let r = client.get(format!("{node_base}/restoreSessions/{id}")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200, "accepted session {id} was lost");
    }
    eprintln!("{} accepted, {unavailable} answered 503, {stored} stored", accepted.len());
    admin.close().await;
    sigterm_and_wait(node);
}

/// A worker process claims the jobs an API process queued as the activation commits (`NOTIFY`),
/// not at its next poll: with a poll of ten minutes, the session still ends.
#[tokio::test]
async fn an_activation_on_one_process_wakes_the_workers_of_another() {
    let (cluster, points, token) = Cluster::with_tenant("wake").await;
    let api = cluster.serve(&["--role", "api"]);
    let worker = cluster.serve(&["--role", "worker", "--job-poll", "10m"]);
    // Let the worker make its first look at the (empty) queue and go to sleep.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = reqwest::Client::new();
    let node = base(&api);
    let id = create(&client, &node, &token, &points[..3]).await;
    assert_eq!(activate(&client, &node, &token, &id).await.0, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = json_of(client.get(format!("{node}/restoreSessions/{id}")).bearer_auth(&token)).await;
        if s["status"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "the worker slept through the activation: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for n in [api, worker] {
        sigterm_and_wait(n);
    }
}

#[tokio::test]
async fn migrate_on_postgres_reports_the_version_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(dir.path()).await;
    let (ok, out, err) = run(&["migrate", "--database-url", &db.url]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!({ "schemaVersion": 28, "previousVersion": 0 }));
    let (ok, out, _) = run(&["migrate", "--database-url", &db.url]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!({ "schemaVersion": 28, "previousVersion": 28 }));
    let pool = PgPool::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99, 'from the future', true, '\\x00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let (ok, _, err) = run(&["migrate", "--database-url", &db.url]);
    assert!(!ok);
    assert!(err.contains("schema is at version 99, newer than this backstore knows (28)"), "{err}");
    let d = dir.path().display().to_string();
    let out = std::process::Command::new(crate::process::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", &d, "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("newer than this backstore knows"));
}
