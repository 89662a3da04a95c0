//! Keyset paging: the latency of page 1 and of page 1000 (`$top=100`) of a 100 000-artifact
//! session over HTTP, with and without `$orderby`, as a ratio measured in one run. A ratio near 1
//! is the point: `$skiptoken` seeks, it does not count rows off. `$skip` to the same place is
//! shown for contrast. Run with `cargo bench --bench paging`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backstore::seed::{seed, SeedPlan};
use backstore::server::{Server, ServerConfig};
use backstore_api::auth::{issue_token, TokenRequest, ALL_PERMISSIONS, DEFAULT_APP_ID};
use backstore_api::query::encode_skiptoken;
use backstore_domain::{Actor, ArtifactAdd, DeltaItem, DestinationType, RestorePointRef, Workload};
use backstore_store::{Bind, Clock, ListSpec, Store, Writer};

const TENANT: &str = "bench";
const ARTIFACTS: usize = 100_000;
const PAGE: usize = 100;
const ROUNDS: usize = 60;

/// The median of `ROUNDS` GETs of `url`.
async fn median(client: &reqwest::Client, url: &str, token: &str) -> Duration {
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let r = client.get(url).bearer_auth(token).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["value"].as_array().unwrap().len(), PAGE);
        times.push(started.elapsed());
    }
    times.sort();
    times[ROUNDS / 2]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("backstore.db").display());
    let clock = Clock::system();
    let session = {
        let store: Arc<Store> = backstore_store::open(&url, &Default::default()).await.unwrap();
        let plan = SeedPlan {
            tenant: TENANT.into(),
            sites: (ARTIFACTS / 100) as u32,
            mailboxes: 0,
            drives: 0,
            restore_points: 100,
            seed: 1,
            faulty_units: 0,
            content_bytes: 0,
        };
        let started = Instant::now();
        let report = seed(store.as_ref(), &plan, clock.now()).await.unwrap();
        let actor = Actor { application_id: "bench".into(), application_name: None, user_id: None, user_name: None };
        let w = Writer { tenant: TENANT, actor: &actor, now: clock.now() };
        let s = store.create_session(w, Workload::SharePoint, Vec::new()).await.unwrap();
        let points: Vec<&String> = report.protection_units.iter().flat_map(|u| &u.restore_point_ids).collect();
        let no_check = |_: &backstore_store::SessionRecord| Ok(());
        for chunk in points[..ARTIFACTS].chunks(50) {
            let items = chunk
                .iter()
                .map(|p| {
                    DeltaItem::Add(ArtifactAdd {
                        restore_point: RestorePointRef::parse(p).unwrap(),
                        destination: DestinationType::New,
                        content_id: None,
                        granular: None,
                    })
                })
                .collect();
            let w = Writer { tenant: TENANT, actor: &actor, now: clock.now() };
            store.apply_delta(w, &s.id, None, items, &no_check).await.unwrap();
        }
        eprintln!("{ARTIFACTS} artifacts in place in {:.1?}", started.elapsed());
        s.id
    };
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().to_owned(), url);
    let server = Server::start(ServerConfig { clock, ..config }).await.unwrap();
    let token = issue_token(
        &server.key,
        &TokenRequest {
            tenant: TENANT.into(),
            permissions: ALL_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
            user: None,
            ttl_seconds: 3600,
            app_id: DEFAULT_APP_ID.into(),
        },
    )
    .unwrap();
    let base = format!(
        "http://{}/v1.0/solutions/backupRestore/sharePointRestoreSessions/{session}/siteRestoreArtifacts",
        server.addr
    );
    // Where page 1000 starts: after row 99 900 in each order.
    let before = (999 * PAGE) as i64;
    let by_seq = server.store().list_artifacts((TENANT, &session, false), &ListSpec::first(before)).await.unwrap();
    let last = by_seq.rows.last().unwrap();
    let plain_token = encode_skiptoken(last.record.seq, &[]);
    let order = backstore_odata::parse_orderby("createdDateTime desc").unwrap();
    let by_time = server
        .store()
        .list_artifacts((TENANT, &session, false), &ListSpec { order, limit: before, ..ListSpec::default() })
        .await
        .unwrap();
    let last = by_time.rows.last().unwrap();
    let keys: Vec<Bind> = last.keys.clone();
    let desc_token = encode_skiptoken(last.record.seq, &keys);

    let client = reqwest::Client::new();
    println!("{:<34} {:>12} {:>12} {:>8}", "query ($top=100)", "page 1", "page 1000", "ratio");
    for (name, first, thousandth) in [
        (
            "creation order, $skiptoken",
            format!("{base}?$top={PAGE}"),
            format!("{base}?$top={PAGE}&$skiptoken={plain_token}"),
        ),
        (
            "$orderby=createdDateTime desc",
            format!("{base}?$top={PAGE}&$orderby=createdDateTime%20desc"),
            format!("{base}?$top={PAGE}&$orderby=createdDateTime%20desc&$skiptoken={desc_token}"),
        ),
        ("$skip (for contrast)", format!("{base}?$top={PAGE}"), format!("{base}?$top={PAGE}&$skip={before}")),
    ] {
        let a = median(&client, &first, &token).await;
        let b = median(&client, &thousandth, &token).await;
        println!("{name:<34} {:>12.2?} {:>12.2?} {:>8.2}", a, b, b.as_secs_f64() / a.as_secs_f64());
    }
    server.stop().await;
}
