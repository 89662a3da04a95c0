//! Tokens of an OpenID Connect issuer the tests stand up themselves (discovery document and JWKS
//! over loopback HTTP, RSA keys generated here): one good token works, and every defect of a token
//! is refused, each for its own reason.

use std::sync::{Arc, Mutex, OnceLock};

use backstore_api::oidc::{IssuerConfig, JwksSource};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::support::*;

const AUDIENCE: &str = "https://graph.microsoft.com";

/// An RSA key pair with a key id: the private key as PKCS#1 DER, the public one as a JWK and as PEM.
struct Key {
    private_der: Vec<u8>,
    public_pem: String,
    jwk: Value,
}

fn key(kid: &str) -> Key {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("an RSA key");
    let public = private.to_public_key();
    let b64 = |b: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    Key {
        private_der: private.to_pkcs1_der().unwrap().as_bytes().to_vec(),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(public.n().to_bytes_be()), "e": b64(public.e().to_bytes_be()),
        }),
    }
}

/// Three keys made once per test binary (generation is the slow part).
fn keys() -> &'static [Key; 3] {
    static KEYS: OnceLock<[Key; 3]> = OnceLock::new();
    KEYS.get_or_init(|| [key("k1"), key("k2"), key("rotated")])
}

/// The issuer: `/.well-known/openid-configuration` and `/keys`, whose key set tests may change.
struct Idp {
    issuer: String,
    jwks: Arc<Mutex<Value>>,
    _task: tokio::task::JoinHandle<()>,
}

async fn idp() -> Idp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/tenant-issuer", listener.local_addr().unwrap());
    let jwks = Arc::new(Mutex::new(json!({ "keys": [keys()[0].jwk.clone(), keys()[1].jwk.clone()] })));
    let discovery = json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/keys") });
    let served = jwks.clone();
    let app = axum::Router::new()
        .route(
            "/tenant-issuer/.well-known/openid-configuration",
            axum::routing::get(move || {
                let d = discovery.clone();
                async move { json_response(&d) }
            }),
        )
        .route(
            "/tenant-issuer/keys",
            axum::routing::get(move || {
                let k = served.lock().unwrap().clone();
                async move { json_response(&k) }
            }),
        );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Idp { issuer, jwks, _task: task }
}

fn json_response(v: &Value) -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], v.to_string())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of a good application token of `TENANT` from `issuer`.
fn app_claims(issuer: &str) -> Value {
    json!({
        "iss": issuer, "aud": AUDIENCE, "iat": now(), "nbf": now(), "exp": now() + 3600,
        "tid": TENANT, "oid": "sp-object-1", "sub": "sp-object-1",
        "appid": "11111111-2222-3333-4444-555555555555", "app_displayname": "Contoso Backup",
        "idtyp": "app", "roles": ["BackupRestore-Restore.ReadWrite.All", "BackupRestore-Restore.Read.All"],
    })
}

fn sign(claims: &Value, key: &Key, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&key.private_der)).unwrap()
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn unsigned(header: Value, claims: &Value) -> String {
    let b = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", b(&header), b(claims))
}

async fn status_of(app: &TestApp, token: &str) -> (u16, String) {
    let r = app.send(Method::GET, &app.url("restoreSessions"), Some(token), None, &[]).await;
    let code = if r.status.is_success() { String::new() } else { r.error_code().to_owned() };
    (r.status.as_u16(), code)
}

#[tokio::test]
async fn tokens_of_a_configured_issuer_work_and_every_defect_is_refused() {
    let idp = idp().await;
    let config = IssuerConfig { min_refresh_seconds: 0, ..IssuerConfig::discovered(&idp.issuer) };
    let app = TestApp::spawn_trusting(None, vec![config]).await;
    let [k1, k2, rotated] = keys();
    let good = app_claims(&idp.issuer);

    // The good token, and what it records as the caller.
    let token = sign(&good, k1, "k1");
    assert_eq!(status_of(&app, &token).await, (200, String::new()));
    let report = app.seed(TENANT, 1, 0, 0, 1).await;
    let point = &report.protection_units[0].restore_point_ids[0];
    let body = json!({ "siteRestoreArtifacts": [{ "restorePoint": { "id": point }, "destinationType": "new" }] });
    let created = app.send(Method::POST, &app.url("sharePointRestoreSessions"), Some(&token), Some(&body), &[]).await;
    created.expect(201);
    assert_eq!(
        created.body["createdBy"],
        json!({ "application": { "id": "11111111-2222-3333-4444-555555555555", "displayName": "Contoso Backup" }, "user": null })
    );

    // A delegated token: the user from oid and name, permissions from scp.
    let delegated = with(
        good.clone(),
        json!({ "idtyp": "user", "roles": null, "scp": "BackupRestore-Restore.ReadWrite.All", "oid": "user-7", "name": "Megan Bowen" }),
    );
    let created = app
        .send(Method::POST, &app.url("sharePointRestoreSessions"), Some(&sign(&delegated, k1, "k1")), Some(&body), &[])
        .await;
    created.expect(201);
    assert_eq!(created.body["createdBy"]["user"], json!({ "id": "user-7", "displayName": "Megan Bowen" }));

    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let mut payload_swapped: Vec<String> = token.split('.').map(str::to_owned).collect();
    payload_swapped[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(with(good.clone(), json!({ "tid": OTHER_TENANT })).to_string());
    let hs_with_public = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(k1.public_pem.as_bytes())).unwrap()
    };
    let cases: Vec<(&str, String, u16)> = vec![
        ("tampered signature", tampered, 401),
        ("claims changed after signing", payload_swapped.join("."), 401),
        ("signed with another key under k1's kid", sign(&good, k2, "k1"), 401),
        ("a kid the issuer does not have", sign(&good, rotated, "rotated"), 401),
        ("alg none", unsigned(json!({ "alg": "none", "kid": "k1", "typ": "JWT" }), &good), 401),
        ("HS256 keyed with the RSA public key", hs_with_public, 401),
        ("expired", sign(&with(good.clone(), json!({ "exp": now() - 600, "nbf": now() - 3600 })), k1, "k1"), 401),
        ("not yet valid", sign(&with(good.clone(), json!({ "nbf": now() + 600 })), k1, "k1"), 401),
        ("no exp", sign(&with(good.clone(), json!({ "exp": null })), k1, "k1"), 401),
        ("wrong audience", sign(&with(good.clone(), json!({ "aud": "https://management.azure.com" })), k1, "k1"), 401),
        ("unknown issuer", sign(&with(good.clone(), json!({ "iss": "https://evil.example/" })), k1, "k1"), 401),
        ("missing tid", sign(&with(good.clone(), json!({ "tid": null })), k1, "k1"), 401),
        (
            "consumer tenant",
            sign(&with(good.clone(), json!({ "tid": "9188040d-6c67-4c5b-b112-36a304b66dad" })), k1, "k1"),
            401,
        ),
        (
            "application token with delegated permissions",
            sign(&with(good.clone(), json!({ "roles": null, "scp": "BackupRestore-Restore.Read.All" })), k1, "k1"),
            401,
        ),
        (
            "delegated token with application permissions",
            sign(&with(good.clone(), json!({ "idtyp": "user" })), k1, "k1"),
            401,
        ),
        ("no permissions at all", sign(&with(good.clone(), json!({ "roles": null })), k1, "k1"), 401),
        (
            "a permission that does not grant reading sessions",
            sign(&with(good.clone(), json!({ "roles": ["BackupRestore-Search.Read.All"] })), k1, "k1"),
            403,
        ),
        (
            "the local issuer's name on an RS256 token",
            sign(&with(good.clone(), json!({ "iss": backstore_api::auth::LOCAL_ISSUER })), k1, "k1"),
            401,
        ),
    ];
    for (name, token, status) in &cases {
        let (got, code) = status_of(&app, token).await;
        assert_eq!(got, *status, "{name}: {code}");
        let expected = if *status == 401 { "InvalidAuthenticationToken" } else { "accessDenied" };
        assert_eq!(code, expected, "{name}");
    }
    // The server's own tokens still work beside the issuer's.
    assert_eq!(status_of(&app, &app.token(TENANT)).await.0, 200);

    // The issuer rotates its keys: a token with the new kid makes the server fetch them again.
    *idp.jwks.lock().unwrap() = json!({ "keys": [rotated.jwk.clone()] });
    assert_eq!(status_of(&app, &sign(&good, rotated, "rotated")).await.0, 200);
    eprintln!("{} token defects refused", cases.len());
}

#[tokio::test]
async fn a_key_set_from_a_file_pins_each_key_to_its_algorithm() {
    let [k1, ..] = keys();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, json!({ "keys": [k1.jwk] }).to_string()).unwrap();
    let issuer = "https://keycloak.example/realms/backup";
    let config = IssuerConfig {
        issuer: issuer.into(),
        audiences: vec!["backstore".into()],
        jwks: JwksSource::File(file),
        min_refresh_seconds: 10,
    };
    let app = TestApp::spawn_trusting(None, vec![config]).await;
    // Keycloak names the client in azp and has no idtyp.
    let claims =
        with(app_claims(issuer), json!({ "aud": "backstore", "appid": null, "azp": "backup-cli", "idtyp": null }));
    assert_eq!(status_of(&app, &sign(&claims, k1, "k1")).await.0, 200);
    let graph_aud = with(claims.clone(), json!({ "aud": AUDIENCE }));
    assert_eq!(status_of(&app, &sign(&graph_aud, k1, "k1")).await.0, 401, "only the configured audiences");
    let mut header = Header::new(Algorithm::RS384);
    header.kid = Some("k1".into());
    let rs384 = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(&k1.private_der)).unwrap();
    assert_eq!(status_of(&app, &rs384).await.0, 401, "RS384 with a key published for RS256");
}

#[tokio::test]
async fn every_write_leaves_an_audit_record_with_tenant_caller_and_request_id() {
    let (app, token, report) = TestApp::seeded(TENANT, 1, 0, 0, 1).await;
    let point = &report.protection_units[0].restore_point_ids[0];
    let body = json!({ "siteRestoreArtifacts": [{ "restorePoint": { "id": point }, "destinationType": "new" }] });
    let created = app.send(Method::POST, &app.url("sharePointRestoreSessions"), Some(&token), Some(&body), &[]).await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    app.send(Method::GET, &app.url(&format!("restoreSessions/{id}")), Some(&token), None, &[]).await.expect(200);
    let read_only = app.token_with(TENANT, true, None, 3600);
    let refused =
        app.send(Method::POST, &app.url("sharePointRestoreSessions"), Some(&read_only), Some(&body), &[]).await;
    refused.expect(403);
    let deleted = app.send(Method::DELETE, &app.url(&format!("restoreSessions/{id}")), Some(&token), None, &[]).await;
    deleted.expect(204);

    let text = std::fs::read_to_string(app.data_dir().join("audit.jsonl")).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 3, "writes only, refused ones included: {text}");
    let first = &records[0];
    assert_eq!(first["tenant"], TENANT);
    assert_eq!(first["caller"]["applicationId"], backstore_api::auth::DEFAULT_APP_ID);
    assert_eq!(first["requestId"].as_str(), created.header("request-id"));
    assert_eq!((first["method"].as_str(), first["status"].as_u64()), (Some("POST"), Some(201)));
    assert_eq!(first["path"], "/v1.0/solutions/backupRestore/sharePointRestoreSessions");
    assert_eq!(first["resultId"], id.as_str());
    assert_eq!(first["request"], body);
    assert_eq!(
        (records[1]["status"].as_u64(), records[1]["requestId"].as_str()),
        (Some(403), refused.header("request-id"))
    );
    assert_eq!(records[2]["method"], "DELETE");
    assert!(records[2]["path"].as_str().unwrap().ends_with(&id));
}
