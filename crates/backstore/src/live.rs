//! The store a running server serves, and switching it under the clients' feet without them seeing
//! a mix: `POST /admin/state/save|load|reset` and `GET /admin/state` (`docs/states.md`).
//!
//! Everything that reads or writes the store — the API's and admin routers, `/metrics`, the engine,
//! the clock follower — belongs to one [`Generation`]. Every request goes through [`gate`], which
//! holds the generation for as long as its handler runs. A load or reset raises `switching` (a
//! request arriving now is answered `503 serviceNotAvailable` with `Retry-After`), takes the
//! generation for itself (so requests in flight finish first, on the old state), stops its engine
//! (jobs in hand go back to the queue of the old state, never run on the new), closes its
//! connections, copies the database, and starts a new generation on the result.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use backstore_api::auth::{Access, SigningKey};
use backstore_api::error::ApiError;
use backstore_api::AppState;
use backstore_engine::{Engine, EngineConfig, Metrics};
use backstore_store::sql::states::States;
use backstore_store::{Clock, Store, StoreOptions};
use serde_json::{json, Value};
use tokio::sync::{watch, Mutex, RwLock};
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

/// What a request arriving during a switch is told to wait.
const SWITCH_RETRY_AFTER_SECS: u64 = 1;

/// What every generation is built from.
pub(crate) struct Parts {
    pub url: String,
    pub store_options: StoreOptions,
    pub data_dir: PathBuf,
    pub blob_store: Option<String>,
    /// The API's settings (its first store's), or `None` for a worker-only process.
    pub api: Option<(AppState, SigningKey)>,
    pub engine: Option<EngineConfig>,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    pub console: ConsoleSettings,
}

/// How the console at `/console` is served (with the API).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConsoleSettings {
    /// Cookies are `Secure` (the server speaks TLS).
    pub secure: bool,
    /// Sign-in as any tenant of the local key is offered (a loopback listener only).
    pub mint: bool,
}

/// One store and everything serving it.
pub(crate) struct Generation {
    pub store: Arc<Store>,
    app: Router,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Generation {
    /// Serves `store`: its content, router, engine and clock follower.
    pub(crate) fn start(parts: &Parts, store: Arc<Store>) -> anyhow::Result<Generation> {
        let content = Arc::new(
            crate::content::open(&parts.data_dir, parts.blob_store.as_deref(), store.clone())
                .map_err(|e| anyhow::anyhow!("cannot open the content store: {e}"))?,
        );
        let metrics = axum::Router::new()
            .route("/metrics", axum::routing::get(render_metrics).with_state((store.clone(), parts.metrics.clone())));
        let app = match &parts.api {
            Some((api, key)) => {
                backstore_api::router(api.clone().on_store(store.clone()).with_content(content.clone()))
                    .merge(metrics)
                    .merge(crate::admin::router(store.clone(), parts.clock.clone(), key.clone()))
            }
            None => metrics,
        };
        let (stop, rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(follow_clock(store.clone(), parts.clock.clone(), rx.clone()))];
        if let Some(config) = &parts.engine {
            let engine = Engine::new(store.clone(), parts.clock.clone(), config.clone(), parts.metrics.clone())
                .with_content(content);
            tasks.push(tokio::spawn(Arc::new(engine).run(rx)));
        }
        Ok(Generation { store, app, stop, tasks })
    }

    /// Stops the engine (its jobs in hand go back to the queue) and the clock follower.
    pub(crate) async fn stop(&mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

/// The generation being served, and the switch between generations.
pub(crate) struct Live {
    parts: Parts,
    switching: AtomicBool,
    current: RwLock<Generation>,
    /// The store of `current`, readable without waiting for a switch.
    served: std::sync::Mutex<Arc<Store>>,
    /// One save, load or reset at a time.
    turn: Mutex<()>,
}

impl Live {
    pub(crate) fn new(parts: Parts, first: Generation) -> Arc<Live> {
        let served = std::sync::Mutex::new(first.store.clone());
        Arc::new(Live {
            parts,
            switching: AtomicBool::new(false),
            current: RwLock::new(first),
            served,
            turn: Mutex::new(()),
        })
    }

    /// The store served now (during a switch, the one before it).
    pub(crate) fn store(&self) -> Arc<Store> {
        self.served.lock().expect("not poisoned").clone()
    }

    /// Stops the generation served now (at shutdown).
    pub(crate) async fn stop(&self) {
        self.current.write().await.stop().await;
    }

    /// The router of a server: the state endpoints (with the API), and every other path through
    /// [`gate`] to the generation served now.
    pub(crate) fn router(self: &Arc<Live>) -> Router {
        let gated = Router::new().fallback(gate).with_state(self.clone());
        match &self.parts.api {
            Some((_, key)) => {
                let console = backstore_console::ConsoleConfig {
                    key: key.clone(),
                    secure: self.parts.console.secure,
                    mint: self.parts.console.mint,
                };
                Router::new()
                    .route("/admin/state", get(list_states))
                    .route("/admin/state/save", post(save_state))
                    .route("/admin/state/load", post(load_state))
                    .route("/admin/state/reset", post(reset_state))
                    .with_state(self.clone())
                    .merge(backstore_console::router(gated.clone(), console))
                    .merge(gated)
            }
            None => gated,
        }
    }

    fn states(&self) -> Result<States, ApiError> {
        States::of_url(&self.parts.url).map_err(|e| ApiError::BadRequest(format!("{e}.")))
    }

    /// Runs `change` on the database with nothing serving it, then serves what it left. Requests
    /// in flight finish first; those arriving meanwhile are answered 503.
    async fn switch<T>(&self, change: impl AsyncFnOnce(&States) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let states = self.states()?;
        let _turn = self.turn.lock().await;
        self.switching.store(true, Ordering::SeqCst);
        let mut current = self.current.write().await;
        current.stop().await;
        current.store.close().await;
        let changed = change(&states).await;
        // Whatever the change did, serve the database as it now is.
        let reopened = async {
            let store = backstore_store::open(&self.parts.url, &self.parts.store_options).await?;
            self.parts.clock.set_offset(store.clock_offset().await?);
            Generation::start(&self.parts, store).map_err(|e| ApiError::Internal(e.to_string()))
        }
        .await;
        match reopened {
            Ok(next) => {
                *self.served.lock().expect("not poisoned") = next.store.clone();
                *current = next;
                self.switching.store(false, Ordering::SeqCst);
                changed
            }
            Err(e) => {
                // Requests are answered 503 (the closed store says unavailable) until a restart.
                tracing::error!(error = %e, "the database could not be opened again after a state change");
                self.switching.store(false, Ordering::SeqCst);
                Err(e)
            }
        }
    }
}

/// Every path but the state endpoints: the generation served now answers, or 503 during a switch.
async fn gate(State(live): State<Arc<Live>>, request: Request) -> Response {
    if live.switching.load(Ordering::SeqCst) {
        return switching();
    }
    let current = live.current.read().await;
    let app = current.app.clone();
    let response = app.oneshot(request).await.into_response();
    drop(current);
    response
}

fn switching() -> Response {
    let e = ApiError::ServiceUnavailable { retry_after_secs: SWITCH_RETRY_AFTER_SECS };
    backstore_api::error_response(&e, &uuid::Uuid::new_v4().to_string(), None)
}

fn authorized(live: &Live, headers: &HeaderMap, access: Access) -> Result<(), ApiError> {
    let key = live.parts.api.as_ref().map(|(_, key)| key).ok_or_else(|| ApiError::ResourceNotFound("".into()))?;
    crate::admin::authorize(key, headers, access).map(|_| ())
}

fn name_of(body: &Bytes) -> Result<String, ApiError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("The body is not JSON: {e}")))?;
    v["name"].as_str().map(str::to_owned).ok_or_else(|| {
        ApiError::BadRequest("Send {\"name\": \"<state>\"}, for example {\"name\": \"baseline\"}.".into())
    })
}

fn as_json<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("a state serializes")
}

async fn list_states(State(live): State<Arc<Live>>, headers: HeaderMap) -> Response {
    let result = async {
        authorized(&live, &headers, Access::ControlRead)?;
        Ok(json!({ "states": live.states()?.list().await? }))
    }
    .await;
    crate::admin::respond(result)
}

async fn save_state(State(live): State<Arc<Live>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        authorized(&live, &headers, Access::ControlWrite)?;
        let name = name_of(&body)?;
        let now = Clock::system().now();
        let store = live.store();
        // SQLite copies a consistent snapshot while the server writes; PostgreSQL copies a
        // database only while nobody is connected to it.
        if store.dialect() == backstore_store::sql::Dialect::Sqlite {
            let _turn = live.turn.lock().await;
            return Ok(as_json(live.states()?.save(&name, now).await?));
        }
        drop(store);
        live.switch(async |states: &States| Ok(as_json(states.save(&name, now).await?))).await
    }
    .await;
    crate::admin::respond(result)
}

async fn load_state(State(live): State<Arc<Live>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        authorized(&live, &headers, Access::ControlWrite)?;
        let name = name_of(&body)?;
        // A state that is not there is refused before anything stops.
        if !live.states()?.list().await?.iter().any(|s| s.name == name) {
            return Err(backstore_store::StoreError::NoSuchState(name).into());
        }
        live.switch(async |states: &States| Ok(as_json(states.load(&name).await?))).await
    }
    .await;
    crate::admin::respond(result)
}

async fn reset_state(State(live): State<Arc<Live>>, headers: HeaderMap) -> Response {
    let result = async {
        authorized(&live, &headers, Access::ControlWrite)?;
        live.switch(async |states: &States| Ok(states.reset().await?)).await?;
        let schema = live.store().schema_version_now().await?;
        Ok(json!({ "reset": true, "schemaVersion": schema }))
    }
    .await;
    crate::admin::respond(result)
}

/// Keeps the clock as far ahead as the database says, for advances made by other processes.
async fn follow_clock(store: Arc<Store>, clock: Clock, mut shutdown: watch::Receiver<bool>) {
    loop {
        match store.clock_offset().await {
            Ok(offset) => clock.catch_up(offset),
            Err(e) => tracing::warn!(error = %e, "cannot read the server clock"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// `GET /metrics`: Prometheus text, unauthenticated like most scrape targets.
async fn render_metrics(
    axum::extract::State((store, metrics)): axum::extract::State<(Arc<Store>, Arc<Metrics>)>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match metrics.render(store.as_ref()).await {
        Ok(text) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be read");
            axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
