//! Assembling a running server: store, signing key, router, listener and engine, with graceful
//! shutdown. Tests start the same thing on port 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use backstore_api::auth::SigningKey;
use backstore_api::AppState;
use backstore_engine::{EngineConfig, Metrics};
use backstore_store::{Clock, Store, StoreOptions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a shutdown waits for requests in flight before it stops anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The connection pool's size and patience.
    pub store: StoreOptions,
    /// `None`: no engine task (tests drive the engine themselves).
    pub engine: Option<EngineConfig>,
    pub clock: Clock,
    /// Build links from `X-Forwarded-*` (behind a reverse proxy).
    pub trust_proxy: bool,
    /// The audit trail file (JSON lines); `None`: `<data_dir>/audit.jsonl`.
    pub audit_log: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain and private key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// What each connection and each request may cost.
    pub connections: crate::listener::ConnectionLimits,
    pub requests: backstore_api::RequestLimits,
    /// OpenID Connect issuers whose tokens are accepted besides the data dir key's.
    pub issuers: Vec<backstore_api::oidc::IssuerConfig>,
    /// Throttling buckets (`Throttle::default()`: none).
    pub throttle: backstore_api::throttle::Throttle,
    /// Serve the Graph API (and the admin endpoints); `false` for a worker-only process, whose
    /// HTTP listener serves `/metrics` alone.
    pub api: bool,
    /// Where content packs go (a directory or `s3://…`); `None`: `<data_dir>/blobs`.
    pub blob_store: Option<String>,
}

impl ServerConfig {
    /// The API on `listen` over this data dir and database, every other option at its default: no
    /// engine, the system clock, no proxy, TLS, issuers, throttling or audit log of its own.
    pub fn new(listen: SocketAddr, data_dir: PathBuf, database_url: String) -> ServerConfig {
        ServerConfig {
            listen,
            data_dir,
            database_url,
            store: StoreOptions::default(),
            engine: None,
            clock: Clock::system(),
            trust_proxy: false,
            audit_log: None,
            tls: None,
            blob_store: None,
            connections: Default::default(),
            requests: Default::default(),
            issuers: Vec::new(),
            throttle: Default::default(),
            api: true,
        }
    }
}

/// A server that is accepting connections.
pub struct Server {
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    live: Arc<crate::live::Live>,
    pub key: SigningKey,
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// Opens the store (running migrations), binds the listener and starts serving.
    pub async fn start(config: ServerConfig) -> anyhow::Result<Server> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create the data dir {}", config.data_dir.display()))?;
        let store = backstore_store::open(&config.database_url, &config.store)
            .await
            .with_context(|| format!("cannot open the database {}", config.database_url))?;
        let key = SigningKey::load_or_create(&config.data_dir)?;
        // The server clock runs as far ahead as the database says (`backstore clock advance`).
        config.clock.catch_up(store.clock_offset().await?);
        let metrics = Arc::new(Metrics::default());
        let audit_path = config.audit_log.clone().unwrap_or_else(|| config.data_dir.join("audit.jsonl"));
        let audit = backstore_api::audit::AuditLog::to_file(&audit_path)
            .with_context(|| format!("cannot open the audit log {}", audit_path.display()))?;
        let api = config.api.then(|| {
            let state = AppState::new(store.clone(), key.clone(), config.clock.clone())
                .trusting_proxy(config.trust_proxy)
                .throttled(config.throttle)
                .trusting_issuers(backstore_api::oidc::Issuers::new(config.issuers))
                .limited(config.requests)
                .audited(audit);
            (state, key.clone())
        });
        let parts = crate::live::Parts {
            url: config.database_url.clone(),
            store_options: config.store.clone(),
            data_dir: config.data_dir.clone(),
            blob_store: config.blob_store.clone(),
            api,
            engine: config.engine,
            clock: config.clock.clone(),
            metrics: metrics.clone(),
            console: crate::live::ConsoleSettings {
                secure: config.tls.is_some(),
                mint: config.listen.ip().is_loopback(),
            },
        };
        let first = crate::live::Generation::start(&parts, store)?;
        let live = crate::live::Live::new(parts, first);
        let app = live.router();
        let tls = match &config.tls {
            Some((cert, key)) => Some(crate::listener::tls_acceptor(cert, key)?),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = watch::channel(false);
        // The engine stops with the listener, as it did when it listened for the shutdown itself.
        let mut stopping = rx.clone();
        let engine_live = live.clone();
        let engine = tokio::spawn(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
            engine_live.stop().await;
        });
        let connections = config.connections;
        let task = tokio::spawn(async move {
            let serve = crate::listener::serve(listener, app, tls, connections, rx.clone());
            let mut grace_rx = rx;
            tokio::select! {
                () = serve => {},
                _ = async {
                    let _ = grace_rx.wait_for(|stop| *stop).await;
                    tokio::time::sleep(SHUTDOWN_GRACE).await;
                } => tracing::warn!("requests still in flight after the shutdown grace period; stopping anyway"),
            }
            let _ = engine.await;
        });
        Ok(Server { addr, scheme, live, key, clock: config.clock, metrics, shutdown, task })
    }

    /// The store served now (another one after a saved state is loaded or the store reset).
    pub fn store(&self) -> Arc<Store> {
        self.live.store()
    }

    /// Stops accepting, lets requests in flight finish (bounded), stops the engine.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// SIGINT and SIGTERM handlers, installed when this is made: a signal that arrives before anyone
/// waits is not lost (and does not kill the process with the default action).
pub struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    pub fn install() -> std::io::Result<ShutdownSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(ShutdownSignal {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignal {})
    }

    /// Resolves at the first SIGINT or SIGTERM.
    pub async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
