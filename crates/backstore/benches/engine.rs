//! Engine throughput: artifacts finished per second with `instant` speed, for sessions of 1, 50,
//! 25×50 and 1000 artifacts, next to the rate of the same number of plain single-row inserts (one transaction
//! each) into the same SQLite database in the same run: through sqlx's SQLite driver (`inserts/s`,
//! `ratio`) and through `rusqlite` on the calling thread as the store now writes (`native/s`, `ratio
//! native`: the database's own rate, the harder measure). Run with `cargo bench --bench engine`.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backstore::seed::{seed, SeedPlan};
use backstore_domain::{Actor, ArtifactAdd, DeltaItem, DestinationType, RestorePointRef, Workload};
use backstore_engine::{Engine, EngineConfig, Metrics, RestoreSpeed};
use backstore_store::{Clock, Store, Writer};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const TENANT: &str = "bench";

async fn engine_rate(sessions: usize, artifacts: usize) -> (f64, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("backstore.db").display());
    let store: Arc<Store> = backstore_store::open(&url, &Default::default()).await.unwrap();
    let clock = Clock::system();
    let plan = SeedPlan {
        tenant: TENANT.into(),
        sites: artifacts as u32,
        mailboxes: 0,
        drives: 0,
        restore_points: 1,
        seed: 1,
        faulty_units: 0,
        content_bytes: 0,
    };
    let report = seed(store.as_ref(), &plan, clock.now()).await.unwrap();
    let actor = Actor { application_id: "bench".into(), application_name: None, user_id: None, user_name: None };
    let no_check = |_: &backstore_store::SessionRecord| Ok(());
    for _ in 0..sessions {
        let w = Writer { tenant: TENANT, actor: &actor, now: clock.now() };
        let s = store.create_session(w, Workload::SharePoint, Vec::new()).await.unwrap();
        // 50 artifacts per request at most: add them through delta PATCHes, as clients do.
        for chunk in report.protection_units.chunks(50) {
            let items = chunk
                .iter()
                .map(|u| {
                    DeltaItem::Add(ArtifactAdd {
                        restore_point: RestorePointRef::parse(&u.restore_point_ids[0]).unwrap(),
                        destination: DestinationType::New,
                        content_id: None,
                        granular: None,
                    })
                })
                .collect();
            let w = Writer { tenant: TENANT, actor: &actor, now: clock.now() };
            store.apply_delta(w, &s.id, None, items, &no_check).await.unwrap();
        }
        let w = Writer { tenant: TENANT, actor: &actor, now: clock.now() };
        store.activate_session(w, &s.id, None).await.unwrap();
    }
    let config =
        EngineConfig { speed: RestoreSpeed::Instant, poll: Duration::from_millis(1), ..EngineConfig::default() };
    let engine = Arc::new(Engine::new(store.clone(), clock, config, Arc::new(Metrics::default())));
    let (stop, rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let worker = tokio::spawn(engine.run(rx));
    loop {
        let stats = store.engine_stats().await.unwrap();
        if stats.jobs_queued == 0 && stats.jobs_running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    stop.send(true).unwrap();
    worker.await.unwrap();
    let total = sessions * artifacts;
    (total as f64 / elapsed.as_secs_f64(), url, dir)
}

async fn insert_rate(url: &str, n: usize) -> f64 {
    let options = SqliteConnectOptions::from_str(url)
        .unwrap()
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let started = Instant::now();
    for i in 0..n {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("INSERT INTO bench_rows (id, payload) VALUES (?, ?)")
            .bind(format!("{i}-{}", uuid::Uuid::new_v4()))
            .bind("x".repeat(200))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// The same inserts as [`insert_rate`] on one native connection: a prepared statement, `BEGIN
/// IMMEDIATE` and `COMMIT` around each row.
fn native_insert_rate(url: &str, n: usize) -> f64 {
    let path = url.strip_prefix("sqlite://").unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         CREATE TABLE IF NOT EXISTS bench_native (id TEXT PRIMARY KEY, payload TEXT NOT NULL)",
    )
    .unwrap();
    let payload = "x".repeat(200);
    let started = Instant::now();
    for i in 0..n {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let mut insert = conn.prepare_cached("INSERT INTO bench_native (id, payload) VALUES (?, ?)").unwrap();
        insert.execute((format!("{i}-{}", uuid::Uuid::new_v4()), &payload)).unwrap();
        conn.execute_batch("COMMIT").unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    println!(
        "{:<14} {:>10} {:>16} {:>16} {:>8} {:>12} {:>13}",
        "sessions", "artifacts", "artifacts/s", "inserts/s", "ratio", "native/s", "ratio native"
    );
    for (sessions, artifacts) in [(1, 1), (1, 50), (25, 50), (1, 1000)] {
        let (rate, url, _dir) = engine_rate(sessions, artifacts).await;
        let raw = insert_rate(&url, sessions * artifacts).await;
        let native = native_insert_rate(&url, sessions * artifacts);
        println!(
            "{:<14} {:>10} {:>16.1} {:>16.1} {:>8.3} {:>12.1} {:>13.3}",
            format!("{sessions}x{artifacts}"),
            sessions * artifacts,
            rate,
            raw,
            rate / raw,
            native,
            rate / native
        );
    }
}
