//! `TestApp`: a real server on 127.0.0.1:0 over a fresh database, tokens for any tenant, seeding,
//! and a hand on the engine so tests never sleep to wait for it.
//!
//! The same tests run twice: the `it` binary on a SQLite file per test, the `it_pg` binary (which
//! includes these modules) on a PostgreSQL database per test, created on the machine's server and
//! dropped when the test ends, pass or fail.

use std::time::Duration;

use backstore::seed::{SeedPlan, SeedReport};
use backstore::server::{Server, ServerConfig};
use backstore_api::auth::{issue_token, TokenRequest, ALL_PERMISSIONS, DEFAULT_APP_ID, READ_PERMISSIONS};
use backstore_domain::restore::{Resource, UnitInfo};
use backstore_domain::{RestorePointTags, Workload};
use backstore_engine::{Engine, EngineConfig, FaultRules};
use backstore_store::{Clock, ProtectionUnitRecord, RestorePointRecord, Store};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[path = "fixtures.rs"]
mod fixtures;
pub use fixtures::*;

pub const TENANT: &str = "tenant-a";
pub const OTHER_TENANT: &str = "tenant-b";

pub struct TestApp {
    pub origin: String,
    pub server: Option<Server>,
    pub client: reqwest::Client,
    /// Dropped after the server: the database, then the data dir.
    #[allow(dead_code)] // read by the PostgreSQL suite's lock tests only
    pub db: TestDb,
    _dir: tempfile::TempDir,
}

/// Whether this test binary runs the suite on PostgreSQL (`it_pg`) rather than SQLite (`it`).
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME") == "it_pg"
}

/// The PostgreSQL server the `it_pg` tests create their databases on.
fn postgres_admin_url() -> String {
    std::env::var("BACKSTORE_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A test's own database: a SQLite file in its data dir, or a PostgreSQL database of a unique name
/// that is dropped (connections and all) when this is.
pub struct TestDb {
    pub url: String,
    postgres: Option<String>,
}

impl TestDb {
    pub async fn create(dir: &std::path::Path) -> TestDb {
        Self::create_on(dir, on_postgres()).await
    }

    /// A database on the backend named, whichever this binary runs on.
    pub async fn create_on(dir: &std::path::Path, postgres: bool) -> TestDb {
        if !postgres {
            return TestDb { url: format!("sqlite://{}", dir.join("backstore.db").display()), postgres: None };
        }
        use sqlx::Connection as _;
        let name = format!("backstore_test_{}", uuid::Uuid::new_v4().simple());
        let admin = postgres_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin).await.expect("the test PostgreSQL is reachable");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
        conn.close().await.ok();
        let (base, _) = admin.rsplit_once('/').expect("a database in the URL");
        TestDb { url: format!("{base}/{name}"), postgres: Some(name) }
    }

    /// The arguments that point `backstore serve` or `seed` at this database and the data dir (its
    /// key, its content).
    pub fn serve_args<'a>(&'a self, data_dir: &'a str) -> Vec<&'a str> {
        self.args(data_dir)
    }

    /// The arguments naming this database alone (commands that take no data dir with a URL).
    pub fn db_args<'a>(&'a self, data_dir: &'a str) -> Vec<&'a str> {
        match self.postgres {
            Some(_) => vec!["--database-url", &self.url],
            None => vec!["--data-dir", data_dir],
        }
    }

    /// `--data-dir` (and `--database-url` for PostgreSQL), whichever backend this database is on.
    pub fn args<'a>(&'a self, data_dir: &'a str) -> Vec<&'a str> {
        match self.postgres {
            Some(_) => vec!["--data-dir", data_dir, "--database-url", &self.url],
            None => vec!["--data-dir", data_dir],
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.postgres.take() else { return };
        // Drop runs outside any runtime the test may still be inside of: use a thread of its own.
        let admin = postgres_admin_url();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                use sqlx::Connection as _;
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await?;
                // And the databases of its saved states (`<name>.state.<state>`), and any a state
                // operation left behind.
                let prefix = format!("{name}.");
                let left: Vec<String> =
                    sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE left(datname, length($1)) = $1")
                        .bind(&prefix)
                        .fetch_all(&mut conn)
                        .await?;
                for db in left {
                    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).execute(&mut conn).await?;
                }
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop a test database: {dropped:?}");
        }
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The Graph error code, asserting the envelope's shape on the way.
    pub fn error_code(&self) -> &str {
        let e = &self.body["error"];
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "no message in {}", self.text);
        let inner = &e["innerError"];
        assert!(inner["date"].is_string(), "no innerError.date in {}", self.text);
        assert_eq!(inner["request-id"].as_str(), self.header("request-id"), "request-id differs: {}", self.text);
        assert!(inner["client-request-id"].is_string());
        e["code"].as_str().unwrap_or_else(|| panic!("no error code in {}", self.text))
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        self
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(self.error_code(), code, "body: {}", self.text);
        self
    }
}

impl TestApp {
    /// A server without a background engine: tests move artifacts with [`TestApp::drain`].
    pub async fn spawn() -> TestApp {
        Self::spawn_with(None).await
    }

    /// A server without an engine and a token of `tenant`'s for it.
    pub async fn spawn_for(tenant: &str) -> (TestApp, String) {
        let app = Self::spawn().await;
        let token = app.token(tenant);
        (app, token)
    }

    /// [`TestApp::spawn_for`] with `tenant` seeded as [`TestApp::seed`] does it.
    pub async fn seeded(
        tenant: &str,
        sites: u32,
        mailboxes: u32,
        drives: u32,
        points: u32,
    ) -> (TestApp, String, SeedReport) {
        let (app, token) = Self::spawn_for(tenant).await;
        let report = app.seed(tenant, sites, mailboxes, drives, points).await;
        (app, token, report)
    }

    /// The id of the drive (document library) of site `site_id`, or of user `user`'s OneDrive.
    pub async fn drive_of(&self, token: &str, owner: &str) -> String {
        let url = format!("{}/v1.0/{owner}/drive", self.origin);
        let r = self.get_abs(&url, token).await;
        r.body["id"].as_str().unwrap_or_else(|| panic!("{owner} has no drive: {}", r.text)).to_owned()
    }

    /// Writes `body` at `path` of `drive` through Graph's upload path; the item made.
    pub async fn put_file(&self, token: &str, drive: &str, path: &str, body: &[u8]) -> Value {
        let url = format!("{}/v1.0/drives/{drive}/root:/{path}:/content", self.origin);
        let r = self.client.put(url).bearer_auth(token).header("content-type", "text/plain").body(body.to_vec());
        let r = r.send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Has the engine snapshot what changed and the clock move on 25 minutes, so the next restore
    /// points are taken: the root of `drive`'s tree (a drive or a mailbox) and the id of a restore
    /// point that holds it.
    pub async fn point_holding(&self, token: &str, drive: &str) -> (backstore_content::BlobId, String) {
        self.point_holding_in(TENANT, token, drive).await
    }

    /// [`TestApp::point_holding`] in `tenant`.
    pub async fn point_holding_in(
        &self,
        tenant: &str,
        token: &str,
        drive: &str,
    ) -> (backstore_content::BlobId, String) {
        self.engine(EngineConfig::default()).with_content(self.content()).retention().await;
        self.advance_clock(token, "25m").await;
        let root = self.store().drive(tenant, drive).await.unwrap().unwrap().last_root.expect("snapshotted");
        let roots = self.store().content_roots(tenant).await.unwrap();
        let holders = &roots.iter().find(|(r, _)| *r == root).expect("the tree's root is held").1;
        let point = holders.iter().find(|h| !h.contains(':')).expect("a restore point holds the tree").clone();
        (root, point)
    }

    /// Moves the server's clock on by `by` (`30m`, `31d`) through the admin path, then runs the
    /// engine's retention pass; the admin path's answer.
    pub async fn advance_clock(&self, token: &str, by: &str) -> Value {
        let url = format!("{}/admin/clock/advance", self.origin);
        let r = self.send(Method::POST, &url, Some(token), Some(&serde_json::json!({ "by": by })), &[]).await;
        r.expect(200);
        self.engine(EngineConfig::default()).retention().await;
        r.body
    }

    /// [`TestApp::seeded`] with `sites` sites (one restore point each) and a draft SharePoint session
    /// restoring the first: the sites' points and the session.
    pub async fn site_draft(sites: u32) -> (TestApp, String, Vec<Vec<String>>, Value) {
        let (app, token, seeded) = Self::seeded(TENANT, sites, 0, 0, 1).await;
        let site = points(&seeded, "site");
        let s = app.create("sharePointRestoreSessions", "siteRestoreArtifacts", &token, &[&site[0][0]]).await;
        (app, token, site, s)
    }

    /// A server whose engine runs on its own, fast.
    pub async fn spawn_with_engine() -> TestApp {
        Self::spawn_with(Some(EngineConfig { poll: Duration::from_millis(20), ..EngineConfig::default() })).await
    }

    pub async fn spawn_with(engine: Option<EngineConfig>) -> TestApp {
        Self::spawn_trusting(engine, Vec::new()).await
    }

    /// A server that also accepts tokens of these OpenID Connect issuers.
    pub async fn spawn_trusting(
        engine: Option<EngineConfig>,
        issuers: Vec<backstore_api::oidc::IssuerConfig>,
    ) -> TestApp {
        Self::spawn_custom(engine, |c| c.issuers = issuers).await
    }

    /// A server whose configuration a test adjusts before it starts.
    pub async fn spawn_custom(engine: Option<EngineConfig>, customize: impl FnOnce(&mut ServerConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = TestDb::create(dir.path()).await;
        let mut config = ServerConfig {
            engine,
            trust_proxy: true,
            ..ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().to_owned(), db.url.clone())
        };
        customize(&mut config);
        let server = Server::start(config).await.expect("server starts");
        // The two tenants of the tests have the service on; others start disabled, as on the service.
        let actor = backstore_domain::Actor {
            application_id: "test-setup".into(),
            application_name: None,
            user_id: None,
            user_name: None,
        };
        for tenant in [TENANT, OTHER_TENANT] {
            let w = backstore_store::Writer { tenant, actor: &actor, now: server.clock.now() };
            server.store().enable_service(w, tenant).await.expect("enable");
        }
        TestApp {
            origin: format!("http://{}", server.addr),
            server: Some(server),
            client: reqwest::Client::new(),
            db,
            _dir: dir,
        }
    }

    /// Makes resources known in `tenant`'s directory (as the admin API does), now on the server's clock.
    pub async fn register(
        &self,
        tenant: &str,
        resources: &[backstore_store::DirectoryResource],
    ) -> backstore_store::StoreResult<u64> {
        let actor = backstore_domain::Actor {
            application_id: "test-setup".into(),
            application_name: None,
            user_id: None,
            user_name: None,
        };
        let w = backstore_store::Writer { tenant, actor: &actor, now: self.server().clock.now() };
        self.store().register_resources(w, resources).await
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("running")
    }

    /// The server's data dir (key, audit trail).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The store the server serves now.
    pub fn store(&self) -> std::sync::Arc<Store> {
        self.server().store()
    }

    /// The content store of the data dir, over the server's database.
    #[allow(dead_code)] // not every test binary reads content
    pub fn content(&self) -> std::sync::Arc<backstore::content::Content> {
        let store = self.server().store();
        std::sync::Arc::new(backstore::content::open(self.data_dir(), None, store).unwrap())
    }

    pub fn clock(&self) -> &Clock {
        &self.server().clock
    }

    /// An engine over this server's store and clock, as a worker of its own would be.
    pub fn engine(&self, config: EngineConfig) -> Engine {
        let s = self.server();
        Engine::new(s.store(), s.clock.clone(), config, s.metrics.clone())
    }

    pub fn token_with(&self, tenant: &str, read_only: bool, user: Option<&str>, ttl: i64) -> String {
        let permissions: &[&str] = if read_only { &READ_PERMISSIONS } else { &ALL_PERMISSIONS };
        self.token_for(tenant, permissions, user, ttl)
    }

    /// A token with exactly `permissions`.
    pub fn token_for(&self, tenant: &str, permissions: &[&str], user: Option<&str>, ttl: i64) -> String {
        let key = &self.server.as_ref().expect("running").key;
        issue_token(
            key,
            &TokenRequest {
                tenant: tenant.into(),
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
                user: user.map(str::to_owned),
                ttl_seconds: ttl,
                app_id: DEFAULT_APP_ID.into(),
            },
        )
        .unwrap()
    }

    pub fn token(&self, tenant: &str) -> String {
        self.token_with(tenant, false, None, 3600)
    }

    pub async fn seed(&self, tenant: &str, sites: u32, mailboxes: u32, drives: u32, points: u32) -> SeedReport {
        let plan = SeedPlan {
            tenant: tenant.into(),
            sites,
            mailboxes,
            drives,
            restore_points: points,
            seed: 42,
            faulty_units: 0,
            content_bytes: 0,
        };
        backstore::seed::seed(&self.store(), &plan, self.clock().now()).await.unwrap()
    }

    /// A unit of `w` with one restore point that expired an hour ago; returns the point's id.
    pub async fn expired_point(&self, tenant: &str, w: Workload) -> String {
        let now = self.clock().now();
        let resource = Resource {
            workload: w,
            site_id: Some("contoso.sharepoint.com,1,2".into()),
            site_name: Some("Old".into()),
            site_web_url: Some("https://contoso.sharepoint.com/sites/old".into()),
            directory_object_id: Some(uuid::Uuid::new_v4().to_string()),
            display_name: Some("Old Owner".into()),
            email: Some("old@contoso.onmicrosoft.com".into()),
        };
        let unit = UnitInfo { id: uuid::Uuid::new_v4().to_string(), resource };
        let point = RestorePointRecord {
            id: uuid::Uuid::new_v4().to_string(),
            protection_unit_id: unit.id.clone(),
            workload: w,
            protection_at: now - chrono::Duration::days(400),
            expiration_at: now - chrono::Duration::hours(1),
            tags: RestorePointTags::None,
        };
        let record = ProtectionUnitRecord {
            info: unit,
            policy_id: None,
            status: backstore_domain::ProtectionUnitStatus::Protected,
            created_at: now,
            created_by: None,
            last_modified_at: now,
            last_modified_by: None,
            protected_since: None,
            offboard_requested_at: None,
            error: None,
            sources: "manual".into(),
            fault: None,
        };
        self.store().insert_protection_unit(tenant, &record, std::slice::from_ref(&point)).await.unwrap();
        point.id
    }

    /// Runs every due restore job to its end, with no faults.
    pub async fn drain(&self) {
        self.drain_with(FaultRules::default()).await;
    }

    /// Runs every due restore job to its end under `faults`.
    pub async fn drain_with(&self, faults: FaultRules) {
        let config = EngineConfig { faults: std::sync::Arc::new(faults), ..EngineConfig::default() };
        self.engine(config).run_until_idle(100).await.unwrap();
    }

    /// `/v1.0/solutions/backupRestore/<path>`
    pub fn url(&self, path: &str) -> String {
        self.versioned("v1.0", path)
    }

    pub fn versioned(&self, version: &str, path: &str) -> String {
        format!("{}/{version}/solutions/backupRestore/{path}", self.origin)
    }

    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        into_resp(req.send().await.expect("request sent")).await
    }

    pub async fn raw(&self, method: Method, url: &str, token: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
        let mut req = self.client.request(method, url).bearer_auth(token).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        into_resp(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(Method::GET, &self.url(path), Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(Method::POST, &self.url(path), Some(token), Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, &self.url(path), Some(token), Some(body), &[]).await
    }

    /// GET, POST and PATCH to an absolute URL (Graph paths outside `solutions/backupRestore`).
    pub async fn get_abs(&self, url: &str, token: &str) -> Resp {
        self.send(Method::GET, url, Some(token), None, &[]).await
    }

    pub async fn post_abs(&self, url: &str, token: &str, body: &Value) -> Resp {
        self.send(Method::POST, url, Some(token), Some(body), &[]).await
    }

    pub async fn patch_abs(&self, url: &str, token: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, url, Some(token), Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.send(Method::DELETE, &self.url(path), Some(token), None, &[]).await
    }

    pub async fn activate(&self, id: &str, token: &str) -> Resp {
        self.send(Method::POST, &self.url(&format!("restoreSessions/{id}/activate")), Some(token), None, &[]).await
    }

    /// Creates a session of `set` with the given restore points (all `new`), asserting 201.
    /// Adds the artifact of `point` (destination `new`) to SharePoint session `id`.
    pub async fn add_site_artifact(&self, id: &str, token: &str, point: &str) -> Resp {
        let body = serde_json::json!({"restorePoint": {"id": point}, "destinationType": "new"});
        self.post(&format!("sharePointRestoreSessions/{id}/siteRestoreArtifacts"), token, &body).await
    }

    /// Sends a session's `…@delta` by PATCH and its first item by POST on the artifact collection
    /// (`set`/`nav` name the kind): both must be refused with `status` and `code`.
    pub async fn refuses_delta(
        &self,
        (set, nav): (&str, &str),
        id: &str,
        token: &str,
        delta: &Value,
        error: (u16, &str),
    ) {
        self.patch(&format!("{set}/{id}"), token, delta).await.expect_error(error.0, error.1);
        let first = &delta[format!("{nav}@delta")][0];
        self.post(&format!("{set}/{id}/{nav}"), token, first).await.expect_error(error.0, error.1);
    }

    /// POSTs an action that must succeed with `status` and leave the entity in `state`, then POSTs
    /// `again` (the same action, or an alias of it), which must be refused with `code`.
    pub async fn acts_once(&self, (path, again): (&str, &str), token: &str, (status, state): (u16, &str), code: &str) {
        let r = self.post(path, token, &serde_json::json!({})).await;
        r.expect(status);
        assert_eq!(r.body["status"], state);
        self.post(again, token, &serde_json::json!({})).await.expect_error(400, code);
    }

    /// [`TestApp::create`]'s session id.
    pub async fn draft(&self, set: &str, nav: &str, token: &str, points: &[&str]) -> String {
        self.create(set, nav, token, points).await["id"].as_str().expect("a session id").to_owned()
    }

    pub async fn create(&self, set: &str, nav: &str, token: &str, points: &[&str]) -> Value {
        let artifacts: Vec<Value> =
            points.iter().map(|p| serde_json::json!({"restorePoint": {"id": p}, "destinationType": "new"})).collect();
        let r = self.post(set, token, &serde_json::json!({ nav: artifacts })).await;
        r.expect(201);
        r.body
    }

    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// Stops the server but keeps its database, for a look at what it left behind.
    pub async fn halt(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }
}

async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, body, text }
}
