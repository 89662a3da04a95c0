//! The restore engine against the real store: leases and takeovers between workers, retries and
//! exhaustion, hangs, the fault rules, graceful shutdown, metrics. Time passes by moving the server's
//! clock, never by sleeping for the engine.

use std::sync::Arc;
use std::time::Duration;

use backstore::seed::SeedPlan;
use backstore_engine::{EngineConfig, FaultRules, RestoreSpeed};
use backstore_store::JobEventRecord;
use serde_json::{json, Value};

use crate::support::*;

fn rules(v: Value) -> Arc<FaultRules> {
    Arc::new(serde_json::from_value(v).unwrap())
}

fn worker(name: &str, faults: Arc<FaultRules>) -> EngineConfig {
    EngineConfig { worker_id: name.into(), faults, max_attempts: 3, ..EngineConfig::default() }
}

/// One activated Exchange session over `n` seeded mailboxes; returns (session id, artifacts, points).
async fn activated(app: &TestApp, token: &str, n: u32) -> (String, Vec<Value>, Vec<String>) {
    activated_of(app, (TENANT, token), ("exchangeRestoreSessions", "mailboxRestoreArtifacts", "mailbox"), n).await
}

/// One activated session of the (typed set, artifact navigation, seed kind) over `n` units seeded in
/// `tenant`; returns (session id, artifacts, points).
async fn activated_of(
    app: &TestApp,
    (tenant, token): (&str, &str),
    (set, nav, kind): (&str, &str, &str),
    n: u32,
) -> (String, Vec<Value>, Vec<String>) {
    let (sites, mailboxes) = if kind == "site" { (n, 0) } else { (0, n) };
    let seeded = app.seed(tenant, sites, mailboxes, 0, 1).await;
    let pts: Vec<String> = points(&seeded, kind).into_iter().map(|p| p[0].clone()).collect();
    let refs: Vec<&str> = pts.iter().map(String::as_str).collect();
    let s = app.create(set, nav, token, &refs).await;
    let id = s["id"].as_str().unwrap().to_owned();
    app.activate(&id, token).await.expect(200);
    let arts = app.get(&format!("{set}/{id}/{nav}"), token).await;
    (id, arts.body["value"].as_array().unwrap().clone(), pts)
}

/// A server whose engine polls every 10 ms and takes `restore` over each restore, and its tenant's token.
async fn with_slow_engine(restore: Duration) -> (TestApp, String) {
    let config = EngineConfig {
        poll: Duration::from_millis(10),
        speed: RestoreSpeed::Fixed(restore),
        ..EngineConfig::default()
    };
    let app = TestApp::spawn_with(Some(config)).await;
    let token = app.token(TENANT);
    (app, token)
}

/// A server without an engine and its tenant's token, with [`activated`]'s session of `n` mailboxes.
async fn spawn_activated(n: u32) -> (TestApp, String, (String, Vec<Value>, Vec<String>)) {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let activated = activated(&app, &token, n).await;
    (app, token, activated)
}

async fn artifact(app: &TestApp, token: &str, session: &str, id: &str) -> Value {
    app.get(&format!("exchangeRestoreSessions/{session}/mailboxRestoreArtifacts/{id}"), token).await.body
}

async fn history(app: &TestApp, artifact_id: &str) -> Vec<JobEventRecord> {
    app.store().job_history(TENANT, artifact_id).await.unwrap()
}

fn events(h: &[JobEventRecord]) -> Vec<(String, String, i64)> {
    h.iter().map(|e| (e.event.clone(), e.worker.clone(), e.attempt)).collect()
}

fn ev(event: &str, worker: &str, attempt: i64) -> (String, String, i64) {
    (event.into(), worker.into(), attempt)
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff_then_succeed() {
    let (app, token, (session, arts, pts)) = spawn_activated(1).await;
    let a = arts[0]["id"].as_str().unwrap();
    let engine = app.engine(worker(
        "w1",
        rules(json!({"rules": [{"restorePointId": pts[0], "action": "failAttempts", "attempts": 2}]})),
    ));

    engine.run_until_idle(10).await.unwrap();
    let first = artifact(&app, &token, &session, a).await;
    assert_eq!(first["status"], "inProgress", "waiting for its retry: {first}");
    assert!(first["startDateTime"].is_string());
    // The retry is not due until the backoff (1 s, then 2 s) has passed.
    assert_eq!(engine.run_pending().await.unwrap(), 0);
    app.clock().advance(chrono::Duration::seconds(1));
    engine.run_until_idle(10).await.unwrap();
    assert_eq!(engine.run_pending().await.unwrap(), 0, "second backoff is 2 s");
    app.clock().advance(chrono::Duration::seconds(2));
    engine.run_until_idle(10).await.unwrap();

    let done = artifact(&app, &token, &session, a).await;
    assert_eq!(done["status"], "succeeded");
    let h = history(&app, a).await;
    assert_eq!(
        events(&h),
        [
            ev("claimed", "w1", 1),
            ev("retry", "w1", 1),
            ev("claimed", "w1", 2),
            ev("retry", "w1", 2),
            ev("claimed", "w1", 3),
            ev("succeeded", "w1", 3)
        ]
    );
    assert!(h[1].detail.as_deref().unwrap().contains("injected transient failure"));
    let s = app.get(&format!("restoreSessions/{session}"), &token).await;
    assert_eq!(s.body["status"], "completed");
}

#[tokio::test]
async fn a_job_that_spends_its_attempts_fails_its_artifact_clearly() {
    let (app, token, (session, arts, pts)) = spawn_activated(2).await;
    let engine = app.engine(worker(
        "w1",
        rules(json!({"rules": [{"restorePointId": pts[0], "action": "failAttempts", "attempts": 99}]})),
    ));
    for _ in 0..6 {
        engine.run_until_idle(10).await.unwrap();
        app.clock().advance(chrono::Duration::minutes(10));
    }
    let bad = artifact(&app, &token, &session, arts[0]["id"].as_str().unwrap()).await;
    assert_eq!(bad["status"], "failed");
    assert_eq!(bad["error"]["code"], "UnknownError");
    let message = bad["error"]["message"].as_str().unwrap();
    assert!(message.contains("after 3 attempts") && message.contains("injected transient failure"), "{message}");
    let h = history(&app, arts[0]["id"].as_str().unwrap()).await;
    assert_eq!(h.last().unwrap().event, "exhausted");
    assert_eq!(h.iter().filter(|e| e.event == "claimed").count(), 3);
    let good = artifact(&app, &token, &session, arts[1]["id"].as_str().unwrap()).await;
    assert_eq!(good["status"], "succeeded");
    let s =
        app.send(reqwest::Method::GET, &app.url(&format!("restoreSessions/{session}")), Some(&token), None, &[]).await;
    assert_eq!(s.body["status"], "completedWithError");
}

#[tokio::test]
async fn a_hung_job_is_taken_over_by_another_worker_when_its_lease_expires() {
    let (app, token, (session, arts, pts)) = spawn_activated(1).await;
    let a = arts[0]["id"].as_str().unwrap();
    let hang_once = rules(json!({"rules": [{"restorePointId": pts[0], "action": "hang", "attempts": 1}]}));
    let w1 = app.engine(worker("w1", hang_once.clone()));
    let w2 = app.engine(worker("w2", hang_once));

    assert_eq!(w1.run_pending().await.unwrap(), 1);
    assert_eq!(artifact(&app, &token, &session, a).await["status"], "inProgress");
    // While w1's lease holds, nobody else may run the job.
    assert_eq!(w2.run_pending().await.unwrap(), 0);
    app.clock().advance(chrono::Duration::seconds(29));
    assert_eq!(w2.run_pending().await.unwrap(), 0);
    app.clock().advance(chrono::Duration::seconds(2));
    assert_eq!(w2.run_pending().await.unwrap(), 1);

    assert_eq!(artifact(&app, &token, &session, a).await["status"], "succeeded");
    assert_eq!(
        events(&history(&app, a).await),
        [ev("claimed", "w1", 1), ev("takeover", "w2", 2), ev("succeeded", "w2", 2)]
    );
    let metrics = reqwest::get(format!("{}/metrics", app.origin)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("backstore_lease_takeovers_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_job_that_always_hangs_ends_failed_instead_of_hanging_the_session() {
    let (app, token, (session, arts, pts)) = spawn_activated(1).await;
    let engine = app.engine(worker("w1", rules(json!({"rules": [{"restorePointId": pts[0], "action": "hang"}]}))));
    for _ in 0..5 {
        engine.run_until_idle(10).await.unwrap();
        app.clock().advance(chrono::Duration::seconds(31));
    }
    let a = artifact(&app, &token, &session, arts[0]["id"].as_str().unwrap()).await;
    assert_eq!(a["status"], "failed");
    assert!(a["error"]["message"].as_str().unwrap().contains("did not finish before its lease expired"), "{a}");
    let prefer = [("Prefer", "include-unknown-enum-members")];
    let s = app
        .send(reqwest::Method::GET, &app.url(&format!("restoreSessions/{session}")), Some(&token), None, &prefer)
        .await;
    assert_eq!(s.body["status"], "failed");
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_cannot_finish_the_job() {
    let (app, token, (session, arts, _)) = spawn_activated(1).await;
    let a = arts[0]["id"].as_str().unwrap();
    let store = app.store();
    // A worker that claims and then stalls (a crash, a GC pause): its claim is all that is left of it.
    let stale = store.claim_jobs("stalled", app.clock().now(), chrono::Duration::seconds(30), 10).await.unwrap();
    assert_eq!(stale.len(), 1);
    app.clock().advance(chrono::Duration::seconds(31));
    app.engine(worker("w2", Arc::default())).run_until_idle(10).await.unwrap();
    let done = artifact(&app, &token, &session, a).await;
    assert_eq!(done["status"], "succeeded");

    let failure = backstore_domain::restore::artifact_error("UnknownError");
    let now = app.clock().now();
    let job = &stale[0].job;
    assert!(!store
        .finish_job(job, backstore_store::ArtifactStep::Failed(failure), backstore_store::JobEvent::Failed, now)
        .await
        .unwrap());
    assert!(!store.retry_job(job, now, "late", now).await.unwrap());
    assert!(!store.renew_lease(job, now, chrono::Duration::seconds(30)).await.unwrap());
    assert_eq!(artifact(&app, &token, &session, a).await, done, "exactly one terminal status");
    let terminal = history(&app, a)
        .await
        .iter()
        .filter(|e| ["succeeded", "failed", "exhausted"].contains(&e.event.as_str()))
        .count();
    assert_eq!(terminal, 1);
}

#[tokio::test]
async fn faulty_units_fail_with_a_realistic_error() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let plan = SeedPlan {
        tenant: TENANT.into(),
        sites: 3,
        mailboxes: 3,
        drives: 3,
        restore_points: 1,
        seed: 5,
        faulty_units: 4,
        content_bytes: 0,
    };
    let report = backstore::seed::seed(&app.store(), &plan, app.clock().now()).await.unwrap();
    let faulty: Vec<_> = report.protection_units.iter().filter(|u| u.fault.is_some()).collect();
    assert_eq!(faulty.len(), 4);
    let mut sessions = Vec::new();
    for (set, nav, kind, _) in KINDS {
        let pts: Vec<&str> = report
            .protection_units
            .iter()
            .filter(|u| u.kind == kind)
            .map(|u| u.restore_point_ids[0].as_str())
            .collect();
        sessions.push((set, nav, app.create(set, nav, &token, &pts).await["id"].as_str().unwrap().to_owned()));
        app.activate(&sessions.last().unwrap().2, &token).await.expect(200);
    }
    app.drain().await;
    let mut failed = 0;
    for (set, nav, id) in sessions {
        for a in app.get(&format!("{set}/{id}/{nav}"), &token).await.body["value"].as_array().unwrap() {
            let unit =
                report.protection_units.iter().find(|u| u.restore_point_ids[0] == a["restorePoint"]["id"]).unwrap();
            match &unit.fault {
                Some(code) => {
                    failed += 1;
                    assert_eq!(a["status"], "failed");
                    assert_eq!(a["error"]["code"], code.as_str());
                    let known = backstore_domain::restore::ARTIFACT_ERRORS.iter().find(|(c, _)| c == code).unwrap();
                    assert_eq!(a["error"]["message"], known.1);
                }
                None => assert_eq!(a["status"], "succeeded"),
            }
        }
    }
    assert_eq!(failed, 4);
}

/// The engine claims the jobs an activation queued at once, not at its next poll: with a poll of
/// ten minutes, the session still ends.
#[tokio::test]
async fn an_activation_wakes_the_engine_of_its_process() {
    let config = EngineConfig { poll: Duration::from_secs(600), ..EngineConfig::default() };
    let app = TestApp::spawn_with(Some(config)).await;
    let token = app.token(TENANT);
    // Let the engine make its first look at the (empty) queue and go to sleep.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (session, _, _) = activated(&app, &token, 2).await;
    completes_soon(&app, &token, &session, "the engine slept through the activation").await;
}

/// Polls `session` until it is `completed`, for at most 20 s (`why` when it is not by then).
async fn completes_soon(app: &TestApp, token: &str, session: &str, why: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = app.get(&format!("restoreSessions/{session}"), token).await.body;
        if s["status"] == "completed" {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{why}: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A worker that found the queue drained does not look again when a job of its own ends, but a
/// job put back for another attempt is looked for at once: with a poll of ten minutes and no
/// backoff, two failed attempts of each artifact do not hold the session up.
#[tokio::test]
async fn a_job_put_back_for_another_attempt_is_claimed_again_without_a_poll() {
    let config = EngineConfig {
        poll: Duration::from_secs(600),
        backoff_base: Duration::ZERO,
        max_attempts: 5,
        faults: rules(json!({"rules": [{"action": "failAttempts", "attempts": 2}]})),
        ..EngineConfig::default()
    };
    let app = TestApp::spawn_with(Some(config)).await;
    let token = app.token(TENANT);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (session, _, _) = activated(&app, &token, 3).await;
    completes_soon(&app, &token, &session, "a retried job waited for the poll").await;
    let metrics = reqwest::get(format!("{}/metrics", app.origin)).await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "backstore_jobs_retried_total 6"), "{metrics}");
}

#[tokio::test]
async fn a_background_worker_shows_every_state_and_metrics_count_it() {
    let (app, token) = with_slow_engine(Duration::from_millis(600)).await;
    let (session, arts, _) = activated(&app, &token, 2).await;
    // Poll as a client would (bounded): the session passes through active with artifacts in progress.
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = app.get(&format!("restoreSessions/{session}"), &token).await.body;
        let status = s["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "active" {
            let a = artifact(&app, &token, &session, arts[0]["id"].as_str().unwrap()).await;
            if a["status"] == "inProgress" {
                assert!(a["startDateTime"].is_string() && a["completionDateTime"].is_null());
            }
        }
        if status == "completed" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "stuck: {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen.contains(&"active".to_owned()), "{seen:?}");
    let metrics = reqwest::get(format!("{}/metrics", app.origin)).await.unwrap().text().await.unwrap();
    for needle in [
        "backstore_jobs_succeeded_total 2",
        "backstore_jobs_queued 0",
        "backstore_jobs_in_progress 0",
        "backstore_restore_sessions{status=\"completed\"} 1",
        "backstore_job_duration_seconds_count 2",
        "backstore_jobs_retried_total 0",
        "backstore_jobs_failed_total 0",
    ] {
        assert!(metrics.lines().any(|l| l == needle), "missing '{needle}' in\n{metrics}");
    }
}

#[tokio::test]
async fn graceful_shutdown_gives_back_the_jobs_in_hand_and_stops_in_time() {
    let mut app = TestApp::spawn_with(Some(EngineConfig {
        worker_id: "slow".into(),
        poll: Duration::from_millis(10),
        speed: RestoreSpeed::Fixed(Duration::from_secs(600)),
        ..EngineConfig::default()
    }))
    .await;
    let token = app.token(TENANT);
    let (session, arts, _) = activated(&app, &token, 1).await;
    let a = arts[0]["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while artifact(&app, &token, &session, &a).await["status"] != "inProgress" {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let store = app.server.as_ref().unwrap().store();
    let clock = app.clock().clone();
    let started = std::time::Instant::now();
    app.halt().await;
    assert!(started.elapsed() < Duration::from_secs(5), "stopped in {:?}", started.elapsed());
    let h = store.job_history(TENANT, &a).await.unwrap();
    assert_eq!(events(&h), [ev("claimed", "slow", 1), ev("released", "slow", 1)]);
    // The job is due again at once, not after a lease, and a released claim is not an attempt.
    let again = store.claim_jobs("next", clock.now(), chrono::Duration::seconds(30), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job.attempt, 1);
    assert!(!again[0].takeover);
}

const SITES: (&str, &str, &str) = ("sharePointRestoreSessions", "siteRestoreArtifacts", "site");

#[tokio::test]
async fn jobs_claimed_and_ended_in_batches_keep_leases_counts_and_histories_apart() {
    let (app, token) = TestApp::spawn_for(TENANT).await;
    let other = app.token(OTHER_TENANT);
    let (mine, _, _) = activated_of(&app, (TENANT, &token), SITES, 5).await;
    let (theirs, _, _) = activated_of(&app, (OTHER_TENANT, &other), SITES, 3).await;
    let store = app.store();
    let now = app.clock().now();
    // One claim takes the jobs of both tenants, and every artifact is `scheduled`.
    let claimed = store.claim_jobs("w1", now, chrono::Duration::seconds(30), 100).await.unwrap();
    assert_eq!(claimed.len(), 8);
    let s = app.get(&format!("sharePointRestoreSessions/{mine}"), &token).await.body;
    assert_eq!(s["status"], "active", "{s}");
    let mut ends = Vec::new();
    for (i, c) in claimed.iter().enumerate() {
        let backstore_store::JobWork::Restore(work) = &c.work else { panic!("a restore job") };
        assert_eq!(work.artifact.status, backstore_domain::ArtifactStatus::Scheduled);
        let mut job = c.job.clone();
        if i == 0 {
            // Not the holder's attempt: this end must not land.
            job.attempt += 1;
        }
        let outcome = backstore_domain::restore::RestoreOutcome {
            restored_site_id: Some(format!("restored-{i}")),
            ..Default::default()
        };
        ends.push(backstore_store::JobEnd {
            job,
            step: backstore_store::ArtifactStep::Succeeded(outcome),
            event: backstore_store::JobEvent::Succeeded,
            new_site_of: work.unit.resource.site_web_url.clone(),
        });
    }
    let held = store.finish_jobs(&ends, app.clock().now()).await.unwrap();
    assert_eq!(held, [false, true, true, true, true, true, true, true]);

    // Each tenant's session counts what ended; the one whose end did not land is still in hand.
    let lost_tenant = &claimed[0].job.tenant_id;
    for (tenant, set, tok, n) in [(TENANT, &mine, &token, 5), (OTHER_TENANT, &theirs, &other, 3)] {
        let s = app.get(&format!("sharePointRestoreSessions/{set}"), tok).await.body;
        let arts = app.get(&format!("sharePointRestoreSessions/{set}/siteRestoreArtifacts"), tok).await.body;
        let arts = arts["value"].as_array().unwrap();
        let succeeded: Vec<&Value> = arts.iter().filter(|a| a["status"] == "succeeded").collect();
        let expected = if lost_tenant == tenant { n - 1 } else { n };
        assert_eq!(succeeded.len(), expected, "{tenant}: {arts:?}");
        assert_eq!(s["status"], if expected == n { "completed" } else { "active" }, "{tenant}: {s}");
        for a in &succeeded {
            let url = a["restoredSiteWebUrl"].as_str().unwrap();
            assert!(url.ends_with("R0") || url.ends_with("R0/"), "each site restored once: {url}");
            assert!(a["completionDateTime"].is_string() && a["startDateTime"].is_string(), "{a}");
        }
    }
    // Histories: claimed then succeeded, by the one worker at its attempt; none for the lost end.
    for (c, h) in claimed.iter().zip(&held) {
        let h_events = store.job_history(&c.job.tenant_id, &c.job.target_id).await.unwrap();
        let want =
            if *h { vec![ev("claimed", "w1", 1), ev("succeeded", "w1", 1)] } else { vec![ev("claimed", "w1", 1)] };
        assert_eq!(events(&h_events), want);
    }
    // The job still in hand ends when its holder ends it.
    let mut last = ends[0].clone();
    last.job = claimed[0].job.clone();
    assert_eq!(store.finish_jobs(&[last], app.clock().now()).await.unwrap(), [true]);
    let tok = if lost_tenant == TENANT { &token } else { &other };
    let set = if lost_tenant == TENANT { &mine } else { &theirs };
    let s = app.get(&format!("sharePointRestoreSessions/{set}"), tok).await.body;
    assert_eq!(s["status"], "completed", "{s}");
}
