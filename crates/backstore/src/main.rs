//! `backstore`: parse the command line, set up logging, run the subcommand.

use std::io::Write as _;

use anyhow::Context as _;
use backstore::cli::{
    database_url, BenchArgs, BenchCommand, Cli, ClockArgs, ClockCommand, Command, Role, SessionsCommand, StateCommand,
};
use backstore::server::{Server, ServerConfig, ShutdownSignal};
use backstore_api::auth::{issue_token, SigningKey, TokenRequest, ALL_PERMISSIONS, DEFAULT_APP_ID, READ_PERMISSIONS};
use backstore_engine::{EngineConfig, FaultRules};
use backstore_store::Clock;
use clap::Parser;

/// The token a command that reaches a running server sends: the one given, or one made for the
/// tenant with the data dir's key and the read permissions.
fn server_token(args: &backstore::cli::ServerArgs) -> anyhow::Result<String> {
    match (&args.token, &args.tenant) {
        (Some(token), _) => Ok(token.clone()),
        (None, Some(tenant)) => make_token(
            &args.data_dir,
            tenant.clone(),
            READ_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
            None,
            3600,
        ),
        (None, None) => anyhow::bail!("give --tenant or --token"),
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

async fn open_store(db: &ClockArgs) -> anyhow::Result<std::sync::Arc<backstore_store::Store>> {
    let url = database_url(db.database_url.as_deref(), &db.data_dir);
    backstore_store::open(&url, &backstore_store::StoreOptions::default())
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

/// The saved states, content packs and content keys of a data dir, for a state archive.
fn archive_place(
    place: &backstore::cli::DataPlace,
) -> anyhow::Result<(backstore_store::sql::states::States, backstore_content::Objects, std::path::PathBuf)> {
    let url = database_url(place.database_url.as_deref(), &place.data_dir);
    let states = backstore_store::sql::states::States::of_url(&url)?;
    let objects = backstore::content::objects(&place.data_dir, place.blobs.blob_store.as_deref())?;
    Ok((states, objects, backstore::content::keys_dir(&place.data_dir)))
}

/// Now on the data's own clock: the system clock plus whatever `clock advance` (or a server's
/// `/admin/clock`) has put in the database, the time the servers of this data live in.
async fn data_now(store: &backstore_store::Store) -> anyhow::Result<backstore_domain::Timestamp> {
    let clock = Clock::system();
    clock.catch_up(store.clock_offset().await.context("cannot read the server clock")?);
    Ok(clock.now())
}

fn make_token(
    data_dir: &std::path::Path,
    tenant: String,
    permissions: Vec<String>,
    user: Option<String>,
    ttl_seconds: i64,
) -> anyhow::Result<String> {
    let key = SigningKey::load_or_create(data_dir)?;
    Ok(issue_token(&key, &TokenRequest { tenant, permissions, user, ttl_seconds, app_id: DEFAULT_APP_ID.into() })?)
}

/// Many small allocations from several threads at once (rows, JSON, buffers): glibc's arenas spent a
/// fifth of a page read in malloc, free and their locks (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The content store of a data dir (and database) for `gc` and `verify`.
async fn open_content(args: &backstore::cli::ContentArgs) -> anyhow::Result<backstore::content::Content> {
    let args = &args.place;
    let url = database_url(args.database_url.as_deref(), &args.data_dir);
    let store = backstore_store::open(&url, &backstore_store::StoreOptions::default())
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    backstore::content::open(&args.data_dir, args.blobs.blob_store.as_deref(), store)
        .context("cannot open the content store")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            init_logging("info");
            let url = database_url(args.database_url.as_deref(), &args.data_dir);
            let faults = match &args.faults {
                Some(path) => FaultRules::load(&path.display().to_string())?,
                None => FaultRules::default(),
            };
            let engine = EngineConfig {
                concurrency: args.workers.max(1),
                lease: args.job_lease,
                poll: args.job_poll,
                max_attempts: args.job_attempts.max(1),
                backoff_base: args.job_backoff,
                speed: args.restore_speed,
                faults: std::sync::Arc::new(faults),
                ..EngineConfig::default()
            };
            let mut issuers: Vec<_> =
                args.oidc_issuer.iter().map(|i| backstore_api::oidc::IssuerConfig::discovered(i)).collect();
            for issuer in &issuers {
                issuer.validate().map_err(anyhow::Error::msg)?;
            }
            if let Some(path) = &args.oidc_config {
                issuers.extend(backstore_api::oidc::load_config(path).map_err(anyhow::Error::msg)?);
            }
            let signals = ShutdownSignal::install().context("cannot install the signal handlers")?;
            let fork = match &args.from_state {
                Some(name) => Some(
                    backstore_store::sql::states::States::of_url(&url)?
                        .fork(name)
                        .await
                        .with_context(|| format!("cannot fork saved state '{name}'"))?,
                ),
                None => None,
            };
            let url = fork.as_ref().map_or(url, |f| f.url.clone());
            let started = Server::start(ServerConfig {
                listen: args.listen,
                data_dir: args.data_dir,
                database_url: url,
                store: backstore_store::StoreOptions {
                    max_connections: args.db_max_connections.max(1),
                    acquire_timeout: args.db_acquire_timeout,
                    limits: args.limits.limits(),
                },
                engine: (args.role != Role::Api).then_some(engine),
                clock: Clock::system(),
                trust_proxy: args.trust_proxy,
                api: args.role != Role::Worker,
                blob_store: args.blobs.blob_store,
                throttle: backstore_api::throttle::Throttle::new(args.throttle_app, args.throttle_tenant),
                issuers,
                audit_log: args.audit_log,
                tls: args.tls_cert.zip(args.tls_key),
                connections: backstore::listener::ConnectionLimits {
                    header_read_timeout: args.header_timeout,
                    // hyper's own buffer is the hard stop; the API answers 431 well before it.
                    max_header_bytes: (args.max_header_bytes * 4).max(8192),
                    max_connections: args.max_connections.max(1),
                    ..Default::default()
                },
                requests: backstore_api::RequestLimits {
                    max_header_bytes: args.max_header_bytes,
                    body_timeout: args.body_timeout,
                },
            })
            .await;
            let server = match started {
                Ok(server) => server,
                Err(e) => {
                    if let Some(fork) = fork {
                        fork.remove().await.ok();
                    }
                    return Err(e);
                }
            };
            let mut out = std::io::stdout();
            writeln!(out, "listening on {}://{}", server.scheme, server.addr)?;
            out.flush()?;
            signals.wait().await;
            tracing::info!("shutting down");
            server.stop().await;
            if let Some(fork) = fork {
                fork.remove().await.context("cannot remove the fork")?;
            }
        }
        Command::Token(args) => {
            init_logging("warn");
            let permissions = if !args.permission.is_empty() {
                if let Some(unknown) = args.permission.iter().find(|p| !ALL_PERMISSIONS.contains(&p.as_str())) {
                    anyhow::bail!("unknown permission '{unknown}': use one of {}", ALL_PERMISSIONS.join(", "));
                }
                args.permission
            } else if args.read_only {
                READ_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect()
            } else {
                ALL_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect()
            };
            let token = make_token(&args.data_dir, args.tenant, permissions, args.user, args.ttl)?;
            println!("{token}");
        }
        Command::Clock(cmd) => {
            init_logging("warn");
            let (db, by) = match cmd {
                ClockCommand::Show(db) => (db, None),
                ClockCommand::Advance { by, db } => (db, Some(by)),
            };
            let store = open_store(&db).await?;
            let offset = match by {
                Some(d) => {
                    store.advance_clock(i64::try_from(d.as_micros()).context("the duration is too long")?).await?
                }
                None => store.clock_offset().await?,
            };
            let clock = Clock::system();
            clock.catch_up(offset);
            println!("{}", backstore::admin::clock_json(&clock));
        }
        Command::State(StateCommand::Export { name, file, place }) => {
            init_logging("warn");
            let (states, objects, keys) = archive_place(&place)?;
            let out = backstore::state_archive::export(&states, &objects, &keys, &name, &file).await?;
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::State(StateCommand::Import { file, name, place }) => {
            init_logging("warn");
            let (states, objects, keys) = archive_place(&place)?;
            let out = backstore::state_archive::import(&states, &objects, &keys, &file, &name).await?;
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::State(cmd) => {
            init_logging("warn");
            let db = match &cmd {
                StateCommand::Save { db, .. }
                | StateCommand::Load { db, .. }
                | StateCommand::Delete { db, .. }
                | StateCommand::List(db)
                | StateCommand::Reset { db, .. } => db,
                StateCommand::Export { .. } | StateCommand::Import { .. } => unreachable!("handled above"),
            };
            let url = database_url(db.database_url.as_deref(), &db.data_dir);
            let states = backstore_store::sql::states::States::of_url(&url)?;
            let out = match &cmd {
                StateCommand::Save { name, .. } => {
                    serde_json::to_value(states.save(name, Clock::system().now()).await?)?
                }
                StateCommand::Load { name, .. } => serde_json::to_value(states.load(name).await?)?,
                StateCommand::List(_) => serde_json::json!({ "states": states.list().await? }),
                StateCommand::Delete { name, .. } => {
                    states.delete(name).await?;
                    serde_json::json!({ "deleted": name })
                }
                StateCommand::Reset { tenant: Some(tenant), .. } => {
                    let store = backstore_store::open(&url, &backstore_store::StoreOptions::default()).await?;
                    let removed = store.reset_tenant(tenant).await?;
                    serde_json::json!({ "tenantId": tenant, "removedRows": removed })
                }
                StateCommand::Export { .. } | StateCommand::Import { .. } => unreachable!("handled above"),
                StateCommand::Reset { tenant: None, .. } => {
                    states.reset().await?;
                    let schema = backstore_store::Store::migrate(&url).await?;
                    serde_json::json!({ "reset": true, "schemaVersion": schema.to })
                }
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Cert(args) => {
            init_logging("warn");
            let made = backstore::cert::make(&args.dir, &args.names)?;
            println!("{}", made.instructions());
        }
        Command::Bench(BenchArgs { what: Some(BenchCommand::Content(args)), .. }) if args.ingest.is_some() => {
            init_logging("warn");
            let dir = args.ingest.expect("checked");
            let parent = args.parent.map(|p| p.parse()).transpose().context("--parent is not a blob id")?;
            let root = backstore::bench_content::ingest(&args.work_dir, &dir, parent).await?;
            println!("{root}");
        }
        Command::Bench(BenchArgs { what: Some(BenchCommand::Content(args)), .. }) => {
            init_logging("warn");
            let settings = backstore::bench_content::Settings {
                size: args.size,
                versions: args.versions,
                edit_percent: args.edit_percent,
                work_dir: args.work_dir,
                no_peers: args.no_peers,
                keep: args.keep,
            };
            let report = backstore::bench_content::run(&settings).await?;
            print!("{}", backstore::bench_content::render(&report, &settings));
            if args.json {
                println!("{}", serde_json::to_string(&report)?);
            }
        }
        Command::Bench(args) => {
            init_logging("warn");
            let url = database_url(args.database_url.as_deref(), &args.data_dir);
            let store = backstore_store::open(&url, &backstore_store::StoreOptions::default())
                .await
                .with_context(|| format!("cannot open the database {url}"))?;
            let tenant = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
            let report =
                backstore::seed::seed(store.as_ref(), &backstore::bench::plan(&tenant), data_now(&store).await?)
                    .await
                    .context("cannot seed the bench tenant")?;
            let points = report.protection_units.iter().map(|u| u.restore_point_ids[0].clone()).collect();
            let token = make_token(
                &args.data_dir,
                tenant,
                ALL_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
                None,
                24 * 3600,
            )?;
            let target = std::sync::Arc::new(backstore::bench::Target::new(
                args.servers,
                token,
                points,
                args.connections.max(1),
            ));
            let settings = backstore::bench::Settings {
                connections: args.connections.max(1),
                duration: args.duration,
                fill: args.fill,
                pids: args.pids,
                scenarios: args.scenarios,
            };
            backstore::bench::run(target, &settings).await?;
        }
        Command::Gc(args) => {
            init_logging("warn");
            let content = open_content(&args.content).await?;
            let options = backstore_content::GcOptions {
                grace: args.grace,
                dry_run: args.dry_run,
                ..backstore_content::GcOptions::new()
            };
            let tenants = backstore::content::collect(&content, args.content.tenant.as_deref(), &options).await?;
            let freed: u64 = tenants.iter().map(|t| t.report.freed_bytes).sum();
            let out = serde_json::json!({ "dryRun": args.dry_run, "freedBytes": freed, "tenants": tenants });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Keys(command) => {
            init_logging("warn");
            use backstore::cli::KeysCommand;
            use backstore::content::KeysAction;
            let (args, action) = match &command {
                KeysCommand::List(a) => (a, KeysAction::List),
                KeysCommand::Rotate { content, reseal } => (content, KeysAction::Rotate { reseal: *reseal }),
                KeysCommand::Reseal { content, dry_run } => (content, KeysAction::Reseal { dry_run: *dry_run }),
                KeysCommand::Retire(a) => (a, KeysAction::Retire),
            };
            let content = open_content(args).await?;
            let tenants = backstore::content::keys(&content, args.tenant.as_deref(), action).await?;
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "tenants": tenants }))?);
        }
        Command::Verify(args) => {
            init_logging("warn");
            let content = open_content(&args).await?;
            let found = backstore::content::verify(&content, args.tenant.as_deref()).await?;
            println!("{}", serde_json::to_string_pretty(&found)?);
            if !found.damaged.is_empty() {
                std::process::exit(1);
            }
        }
        Command::Import(args) => {
            init_logging("warn");
            let Some(tenant) = args.content.tenant.clone() else {
                anyhow::bail!("import needs --tenant");
            };
            let content = open_content(&args.content).await?;
            let store = content.index().clone();
            let actor = backstore_domain::Actor {
                application_id: "c2bd3f61-8a4b-4b7e-9d0c-5e4f1a2b3c4d".into(),
                application_name: Some("backstore import".into()),
                user_id: None,
                user_name: None,
            };
            let now = data_now(&store).await?;
            let w = backstore_store::Writer { tenant: &tenant, actor: &actor, now };
            if let Some(address) = &args.mailbox {
                let Some(user) =
                    store.resource_by_address(&tenant, backstore_domain::Workload::Exchange, address).await?
                else {
                    anyhow::bail!(
                        "no mailbox '{address}' in tenant {tenant}'s directory (seed it, or add it at /admin/directory)"
                    );
                };
                let mailbox = store.ensure_mailbox(w, &user).await?;
                let report = backstore::mail_import::import_mail(&store, &content, w, &mailbox, &args.dir)
                    .await
                    .with_context(|| format!("cannot import {}", args.dir.display()))?;
                for warning in &report.warnings {
                    eprintln!("warning: {warning}");
                }
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            let (workload, address, kind, name, what) = match (&args.site, &args.user) {
                (Some(site), _) => {
                    (backstore_domain::Workload::SharePoint, site, "documentLibrary", "Documents", "site")
                }
                (None, Some(user)) => (backstore_domain::Workload::OneDrive, user, "business", "OneDrive", "user"),
                (None, None) => unreachable!("clap requires one"),
            };
            let Some(resource) = store.resource_by_address(&tenant, workload, address).await? else {
                anyhow::bail!(
                    "no {what} '{address}' in tenant {tenant}'s directory (seed it, or add it at /admin/directory)"
                );
            };
            let drive = store.ensure_drive(w, &resource, kind, name).await?;
            let report = backstore::import::sync_dir(&store, &content, w, &drive, &args.dir)
                .await
                .with_context(|| format!("cannot import {}", args.dir.display()))?;
            let mut out = serde_json::to_value(report)?;
            out["driveId"] = serde_json::Value::String(drive.drive_id.clone());
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Migrate(db) => {
            init_logging("warn");
            let url = database_url(db.database_url.as_deref(), &db.data_dir);
            if let Some(dir) = db.database_url.is_none().then_some(&db.data_dir) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the data dir {}", dir.display()))?;
            }
            let report = backstore_store::migrate(&url).await.with_context(|| format!("cannot migrate {url}"))?;
            println!("{}", serde_json::json!({ "schemaVersion": report.to, "previousVersion": report.from }));
        }
        Command::Sessions(SessionsCommand::Watch(args)) => {
            init_logging("warn");
            let token = server_token(&args.server)?;
            backstore::watch::watch(backstore::watch::WatchPlan {
                server: args.server.server,
                token,
                session: args.session_id,
                interval: args.interval,
            })
            .await?;
        }
        Command::Sessions(SessionsCommand::Verify(args)) => {
            init_logging("warn");
            let token = server_token(&args.server)?;
            let mut out = std::io::stdout();
            if !backstore::verify::verify(&args.server.server, token, &args.session_id, &mut out).await? {
                std::process::exit(1);
            }
        }
        Command::Seed(args) => {
            init_logging("warn");
            let url = database_url(args.database_url.as_deref(), &args.data_dir);
            if args.database_url.is_none() || args.content > 0 {
                std::fs::create_dir_all(&args.data_dir)
                    .with_context(|| format!("cannot create the data dir {}", args.data_dir.display()))?;
            }
            let store = backstore_store::open(&url, &backstore_store::StoreOptions::default())
                .await
                .with_context(|| format!("cannot open the database {url}"))?;
            let plan = backstore::seed::SeedPlan {
                tenant: args.tenant,
                sites: args.sites,
                mailboxes: args.mailboxes,
                drives: args.drives,
                restore_points: args.restore_points,
                seed: args.seed,
                faulty_units: args.faulty_units,
                content_bytes: args.content,
            };
            let content = match args.content {
                0 => None,
                _ => Some(
                    backstore::content::open(&args.data_dir, args.blobs.blob_store.as_deref(), store.clone())
                        .context("cannot open the content store")?,
                ),
            };
            let now = data_now(&store).await?;
            let report = backstore::seed::seed_with(store.as_ref(), content.as_ref(), &plan, now).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(())
}
