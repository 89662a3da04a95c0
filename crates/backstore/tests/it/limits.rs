//! Abuse the server the way a hostile or broken client would: each limit answers its own error in
//! Graph's format (or cuts the connection, for a client that never finishes its headers), and the
//! server keeps serving everyone else. HTTPS with a local authority from `backstore cert`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::process::{run, serve, sigterm_and_wait};
use crate::support::*;

async fn healthy(app: &TestApp, token: &str) {
    app.send(Method::GET, &app.url("restoreSessions"), Some(token), None, &[]).await.expect(200);
}

/// Everything the server sends on `stream` until it closes it (bounded).
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut out)).await {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn every_limit_answers_its_error_and_the_server_keeps_serving() {
    let app = TestApp::spawn_custom(None, |c| {
        c.requests.body_timeout = Duration::from_secs(1);
        c.connections.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let token = app.token(TENANT);
    let sessions = app.url("sharePointRestoreSessions");

    // A body over 1 MiB.
    let big = json!({ "siteRestoreArtifacts": [], "pad": "x".repeat(1_100_000) });
    app.send(Method::POST, &sessions, Some(&token), Some(&big), &[]).await.expect_error(413, "RequestEntityTooLarge");
    // Headers over 16 KiB.
    let padding = "p".repeat(20 * 1024);
    let r = app.send(Method::GET, &app.url("restoreSessions"), Some(&token), None, &[("x-padding", &padding)]).await;
    r.expect_error(431, "RequestHeaderFieldsTooLarge");
    // JSON nested 40 deep.
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let r = app.send(Method::POST, &sessions, Some(&token), Some(&json!({ "siteRestoreArtifacts": deep })), &[]).await;
    r.expect_error(400, "BadRequest");
    assert!(r.text.contains("deeper than 32"), "{}", r.text);
    // More than 50 @delta items (and as many on create).
    let items: Vec<Value> =
        (0..51).map(|i| json!({ "restorePoint": { "id": format!("rp-{i}") }, "destinationType": "new" })).collect();
    let created =
        app.send(Method::POST, &sessions, Some(&token), Some(&json!({ "siteRestoreArtifacts": [] })), &[]).await;
    let id = created.body["id"].as_str().map(str::to_owned);
    let r = app.send(Method::POST, &sessions, Some(&token), Some(&json!({ "siteRestoreArtifacts": items })), &[]).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    if let Some(id) = id {
        let url = app.url(&format!("sharePointRestoreSessions/{id}"));
        let r = app
            .send(Method::PATCH, &url, Some(&token), Some(&json!({ "siteRestoreArtifacts@delta": items })), &[])
            .await;
        assert!(r.status.is_client_error(), "{}", r.text);
    }
    // A $filter too long, and one nested too deep.
    let long = format!("restoreSessions?$filter=id eq '{}'", "a".repeat(5000));
    app.send(Method::GET, &app.url(&long), Some(&token), None, &[]).await.expect(400);
    let nested = format!("restoreSessions?$filter={}id eq 'a'{}", "(".repeat(40), ")".repeat(40));
    let r = app.send(Method::GET, &app.url(&nested), Some(&token), None, &[]).await;
    r.expect(400);
    assert!(r.text.contains("deeper than 32"), "{}", r.text);

    let addr = app.origin.trim_start_matches("http://").to_owned();
    // A body that never finishes: 408 after the body timeout, in Graph's format.
    let mut slow_body = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1.0/solutions/backupRestore/sharePointRestoreSessions HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"siteRe"
    );
    slow_body.write_all(head.as_bytes()).await.unwrap();
    // Headers that never finish (slow-loris): the connection is closed after the header timeout.
    let mut loris = TcpStream::connect(&addr).await.unwrap();
    loris.write_all(b"GET /v1.0/solutions/backupRestore HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // Idle connections that never send anything, by the dozen.
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Meanwhile everyone else is served.
    let started = Instant::now();
    healthy(&app, &token).await;
    assert!(started.elapsed() < Duration::from_millis(900), "served while slow clients wait");
    let answer = read_to_close(&mut slow_body, Duration::from_secs(5)).await.expect("the server answers and closes");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"RequestTimeout\""), "{answer}");
    let trickle = async {
        // One header byte every 300 ms: still cut off when the header time is up.
        for _ in 0..20 {
            if loris.write_all(b"X").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let started = Instant::now();
    trickle.await;
    let rest = read_to_close(&mut loris, Duration::from_secs(5)).await;
    assert!(rest.is_some(), "the slow-loris connection was closed");
    assert!(started.elapsed() < Duration::from_secs(6));
    for mut c in idle {
        assert!(read_to_close(&mut c, Duration::from_secs(5)).await.is_some(), "an idle connection was closed");
    }
    healthy(&app, &token).await;
}

#[tokio::test]
async fn https_with_a_local_authority_from_backstore_cert() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let tls = dir.path().join("tls");
    let (ok, out, err) = run(&["cert", "--dir", tls.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("--tls-cert") && out.contains("NODE_EXTRA_CA_CERTS"), "{out}");
    let cert = tls.join("localhost.pem").display().to_string();
    let key = tls.join("localhost-key.pem").display().to_string();
    let s = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--tls-cert", &cert, "--tls-key", &key], &[]);
    assert!(s.origin.starts_with("https://127.0.0.1:"), "{}", s.origin);
    let (_, token, _) = run(&["token", "--data-dir", &d, "--tenant", "tls-tenant"]);
    let ca = reqwest::Certificate::from_pem(&std::fs::read(tls.join("ca.pem")).unwrap()).unwrap();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/v1.0/solutions/backupRestore", s.origin);
    let r = trusting.get(&url).bearer_auth(token.trim()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The console's session cookie is Secure under TLS.
    let sign_in = trusting.post(format!("{}/console/sign-in", s.origin)).header("origin", &s.origin);
    let form = "mode=mint&tenant=tls-tenant&access=read";
    let r = sign_in.header("content-type", "application/x-www-form-urlencoded").body(form).send().await.unwrap();
    let cookie = r.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned());
    assert!(cookie.is_some_and(|c| c.ends_with("; Secure")), "{:?}", r.headers());
    // Without the authority the certificate is not trusted; plain HTTP gets no answer.
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
    assert!(reqwest::Client::new().get(url.replace("https://", "http://")).send().await.is_err());
    // A second run keeps the authority: what trusts it trusts the new certificate.
    let ca_before = std::fs::read(tls.join("ca.pem")).unwrap();
    let (ok, _, err) = run(&["cert", "--dir", tls.to_str().unwrap(), "--name", "backstore.test"]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(tls.join("ca.pem")).unwrap(), ca_before);
    sigterm_and_wait(s);
    let s = serve(&["--listen", "127.0.0.1:0", "--data-dir", &d, "--tls-cert", &cert, "--tls-key", &key], &[]);
    let url = format!("{}/v1.0/solutions/backupRestore", s.origin);
    assert_eq!(trusting.get(&url).bearer_auth(token.trim()).send().await.unwrap().status(), 200);
    sigterm_and_wait(s);
}

#[tokio::test]
async fn the_unlimited_profile_lifts_the_service_counts() {
    let service = TestApp::spawn().await;
    let unlimited = TestApp::spawn_custom(None, |c| c.store.limits = backstore_domain::Limits::UNLIMITED).await;
    for (app, ok) in [(&service, false), (&unlimited, true)] {
        let token = app.token(TENANT);
        let seeded = app.seed(TENANT, 60, 0, 0, 1).await;
        let pts: Vec<&String> = seeded.protection_units.iter().map(|u| &u.restore_point_ids[0]).collect();
        let arts: Vec<Value> =
            pts.iter().map(|p| json!({ "restorePoint": { "id": p }, "destinationType": "new" })).collect();
        let r = app.post("sharePointRestoreSessions", &token, &json!({ "siteRestoreArtifacts": arts })).await;
        if ok {
            r.expect(201);
            assert_eq!(r.body["restoreSessionArtifactCount"]["total"], 60);
        } else {
            r.expect_error(413, "RestoreArtifactsLimitBreached");
        }
        let mut activated = 0;
        for point in pts.iter().take(30) {
            let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[*point]).await;
            if app.activate(s["id"].as_str().unwrap(), &token).await.status == 200 {
                activated += 1;
            }
        }
        assert_eq!(activated, if ok { 30 } else { 25 });
    }
    service.stop().await;
    unlimited.stop().await;
}
