//! The command line (a contract users' scripts rely on): `serve`, `token`, `seed`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backstore_engine::RestoreSpeed;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "backstore", version, about = "A self-hostable Microsoft 365 Backup Storage API (Microsoft Graph)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (and run the restore engine) until SIGINT or SIGTERM.
    Serve(Box<ServeArgs>),
    /// Print a bearer token that a server with the same data dir accepts.
    Token(TokenArgs),
    /// Create protection units and restore points for a tenant; prints them as JSON.
    Seed(SeedArgs),
    /// Look at restore sessions on a running server.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// The server clock, which restore point retention and expiry follow.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Bring the database to this backstore's schema; prints `{"schemaVersion", "previousVersion"}`.
    Migrate(ClockArgs),
    /// Saved states of the whole store (sessions, policies, the clock, the job queue, what the
    /// content holds; the content's packs are shared, the signing and content keys stay): save,
    /// load, list, delete, or reset to an empty store. Each prints JSON.
    #[command(subcommand)]
    State(StateCommand),
    /// Make a local certificate authority and a certificate for localhost signed by it (for
    /// `serve --tls-cert/--tls-key`); prints the files and how to trust the authority.
    Cert(CertArgs),
    /// Drive running servers over HTTP and report requests/s and p50/p99 per scenario, each next to
    /// a bare HTTP handler's ceiling measured in the same run.
    Bench(BenchArgs),
    /// Remove content that no restore point and no live drive holds any more (after a grace period,
    /// in two phases; safe while servers write); prints what it freed as JSON.
    Gc(GcArgs),
    /// Read every snapshot (each restore point's, each drive's newest) and check every blob; prints
    /// what it read and the damaged items with the restore points they affect as JSON, and exits
    /// with status 1 if any is damaged.
    Verify(ContentArgs),
    /// Upload a local directory tree into a site's document library or a user's OneDrive (the
    /// drive then holds what the directory holds), or mail (an mbox file, or a directory of `.eml`
    /// files whose subdirectories become folders) into a user's mailbox; prints what it did as JSON.
    Import(ImportArgs),
    /// The content keys (under `<data-dir>/keys/content`): list them, rotate, re-seal old content
    /// under the newest key, retire keys nothing uses; each prints JSON.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Each tenant's data key numbers, the current one and when each was added (no key material).
    List(ContentArgs),
    /// Add a data key that new content is sealed under from now on (running servers follow within
    /// seconds); old content stays readable under its key.
    Rotate {
        #[command(flatten)]
        content: ContentArgs,
        /// Then re-seal every older blob under the new key (reads and rewrites those packs).
        #[arg(long)]
        reseal: bool,
    },
    /// Re-seal every blob sealed under an older key under the current one (the packs holding them
    /// are rewritten; the old packs go with garbage collection after its grace period).
    Reseal {
        #[command(flatten)]
        content: ContentArgs,
        /// Report what would be rewritten and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Drop the data keys that no stored pack uses any more (after `reseal` and then `gc`); reports
    /// the ones dropped and the blobs each remaining key still seals.
    Retire(ContentArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("into").required(true).args(["site", "user", "mailbox"])))]
pub struct ImportArgs {
    #[command(flatten)]
    pub content: ContentArgs,
    /// The site, by its URL (`https://contoso.sharepoint.com/sites/marketing`), from the tenant's
    /// directory (`seed`, `/admin/directory`).
    #[arg(long)]
    pub site: Option<String>,
    /// The user whose OneDrive it goes to, by e-mail address.
    #[arg(long)]
    pub user: Option<String>,
    /// The user whose mailbox the mail goes to, by e-mail address.
    #[arg(long)]
    pub mailbox: Option<String>,
    /// The directory to upload; for `--mailbox`, an mbox file or a directory of `.eml` files.
    #[arg(value_name = "PATH")]
    pub dir: PathBuf,
}

/// `--blob-store`, the same wherever content is read or written.
#[derive(Debug, Clone, Args)]
pub struct BlobStoreArg {
    /// Where content packs are: a directory, or s3://BUCKET[/PREFIX] (credentials, region and
    /// endpoint from the AWS environment variables) when several processes share the work.
    /// Default: <data-dir>/blobs.
    #[arg(long = "blob-store", env = "BACKSTORE_BLOB_STORE")]
    pub blob_store: Option<String>,
}

#[derive(Debug, Args)]
pub struct ContentArgs {
    #[command(flatten)]
    pub place: DataPlace,
    /// Only this tenant's content (default: every tenant's).
    #[arg(long)]
    pub tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub content: ContentArgs,
    /// Report what would be removed and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long unreferenced content waits before it is removed; must outlast the longest upload.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub grace: Duration,
}

#[derive(Debug, Args)]
pub struct CertArgs {
    /// Where to write `ca.pem`, `ca-key.pem`, `localhost.pem` and `localhost-key.pem`.
    #[arg(long, default_value = "./data/tls")]
    pub dir: PathBuf,
    /// More names the certificate is for (besides localhost, 127.0.0.1 and ::1); repeatable.
    #[arg(long = "name", value_name = "DNS_OR_IP")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BenchArgs {
    /// Another benchmark than the HTTP one.
    #[command(subcommand)]
    pub what: Option<BenchCommand>,
    /// A running server (`http://127.0.0.1:8080`); repeat for several processes on one database,
    /// which then take the requests in turn.
    #[arg(long = "server", value_name = "URL", required = true)]
    pub servers: Vec<String>,
    /// The servers' data dir (its key signs the bench's token; its database is seeded).
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The servers' database, when it is not the data dir's SQLite file.
    #[arg(long, env = "BACKSTORE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// How long each scenario (and each ceiling) runs.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Afterwards, create sessions of 50 artifacts over HTTP until this many more exist.
    #[arg(long, value_name = "ARTIFACTS")]
    pub fill: Option<u64>,
    /// A server process whose resident memory to report at the end; repeatable.
    #[arg(long = "pid")]
    pub pids: Vec<u32>,
    /// Run only this scenario; repeatable (all of them when not given).
    #[arg(long = "scenario", value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(crate::bench::SCENARIOS))]
    pub scenarios: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The content store's ingest of a generated document library and its edited versions, next to
    /// restic and rustic on the same data (when on the PATH) and to BLAKE3's, zstd's and the disk's
    /// own rates here.
    Content(BenchContentArgs),
}

#[derive(Debug, Args)]
pub struct BenchContentArgs {
    /// Size of the generated library, e.g. `256MiB`.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub size: u64,
    /// Edited versions ingested after the first.
    #[arg(long, default_value_t = 10)]
    pub versions: u32,
    /// Per cent of the files edited between versions.
    #[arg(long, default_value_t = 5)]
    pub edit_percent: u32,
    /// Where the library and the repositories go while the bench runs (removed afterwards).
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    pub work_dir: PathBuf,
    /// Keep the library and the repositories (the bench prints where).
    #[arg(long)]
    pub keep: bool,
    /// Measure backstore alone, even when restic or rustic are on the PATH.
    #[arg(long)]
    pub no_peers: bool,
    /// Also print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Internal: ingest this directory into the repository under `--work-dir` and print the root
    /// manifest's id (the bench runs its own ingest in a child process, as it runs the peers, so
    /// each is timed and its memory measured alike).
    #[arg(long, hide = true, value_name = "DIR")]
    pub ingest: Option<PathBuf>,
    /// Internal: the root of the previous version's snapshot, for `--ingest`.
    #[arg(long, hide = true)]
    pub parent: Option<String>,
}

/// A size: a number with an optional unit (`B`, `KiB`, `MiB`, `GiB`, or `k`/`M`/`G` for the same).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("'{text}' is not a size such as 200MiB"))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "k" | "K" | "KiB" | "KB" => 1 << 10,
        "M" | "MiB" | "MB" => 1 << 20,
        "G" | "GiB" | "GB" => 1 << 30,
        other => return Err(format!("unknown size unit '{other}' (use B, KiB, MiB or GiB)")),
    };
    number.checked_mul(factor).ok_or_else(|| format!("'{text}' is too large"))
}

/// Which counts restores are held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LimitsProfile {
    /// The real service's: 50 artifacts per request, 25 running sessions per tenant.
    Service,
    /// None (load tests of a backup product); the 1 MiB body limit still bounds a request.
    Unlimited,
}

impl LimitsProfile {
    pub fn limits(self) -> backstore_domain::Limits {
        match self {
            LimitsProfile::Service => backstore_domain::Limits::SERVICE,
            LimitsProfile::Unlimited => backstore_domain::Limits::UNLIMITED,
        }
    }
}

/// What one `serve` process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The Graph API only (no engine workers).
    Api,
    /// The engine workers only (restores, bulk resolution, retention); HTTP serves `/metrics`.
    Worker,
    /// Both.
    All,
}

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Print the server time as JSON (`now`, `offsetSeconds`).
    Show(ClockArgs),
    /// Move the server clock forward, e.g. `15d` or `366days`; running servers follow within a second.
    Advance {
        #[arg(value_parser = humantime::parse_duration)]
        by: Duration,
        #[command(flatten)]
        db: ClockArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Save the store as NAME (1 to 40 letters, digits, `-`, `_`), replacing a state of that
    /// name; safe while servers run on SQLite, PostgreSQL wants them stopped.
    Save {
        name: String,
        #[command(flatten)]
        db: ClockArgs,
    },
    /// Make the store what state NAME holds (the state stays saved); stop the servers first.
    Load {
        name: String,
        #[command(flatten)]
        db: ClockArgs,
    },
    /// The saved states: `{"states": [{"name", "savedAt", "backend", "schemaVersion", "bytes"}]}`.
    List(ClockArgs),
    /// Delete state NAME (its content goes at a later garbage collection if nothing else has it).
    Delete {
        name: String,
        #[command(flatten)]
        db: ClockArgs,
    },
    /// Write state NAME into one archive FILE: its database's rows, the content packs it needs
    /// and its tenants' content keys; it imports on either database backend.
    Export {
        name: String,
        file: PathBuf,
        #[command(flatten)]
        place: DataPlace,
    },
    /// Make state NAME from an archive FILE of `state export` (then `state load NAME`).
    Import {
        file: PathBuf,
        name: String,
        #[command(flatten)]
        place: DataPlace,
    },
    /// Make the store empty: a new database at this backstore's schema; stop the servers first.
    /// With `--tenant T`: empty that tenant alone, in one transaction (safe while servers run);
    /// prints `{"tenantId", "removedRows"}`.
    Reset {
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: ClockArgs,
    },
}

/// A data dir with its database and content: what content commands and state archives read.
#[derive(Debug, Args)]
pub struct DataPlace {
    /// The data dir: its database (unless `--database-url`), its content keys, and its packs
    /// (unless `--blob-store`).
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[arg(long, env = "BACKSTORE_DATABASE_URL")]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub blobs: BlobStoreArg,
}

#[derive(Debug, Args)]
pub struct ClockArgs {
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data", conflicts_with = "database_url")]
    pub data_dir: PathBuf,
    #[arg(long, env = "BACKSTORE_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Follow sessions until they are terminal: one session, or every activating or active one.
    Watch(WatchArgs),
    /// Print, per artifact of a session that restored content, whether what it wrote is what the
    /// restore point holds (the root or digest of each); exits 1 unless every artifact matches.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The session to follow (default: every activating or active session of the tenant).
    pub session_id: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Pause between looks.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    pub interval: Duration,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The session whose restores to verify.
    pub session_id: String,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// How a command reaches a running server.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The running server.
    #[arg(long, env = "BACKSTORE_URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The tenant to look in; a token for it is made with the data dir's key.
    #[arg(long, required_unless_present = "token")]
    pub tenant: Option<String>,
    /// A bearer token to use instead of making one.
    #[arg(long, env = "BACKSTORE_TOKEN", conflicts_with = "tenant")]
    pub token: Option<String>,
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "BACKSTORE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the database, the token signing key and content.
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://PATH (the default is sqlite://<data-dir>/backstore.db) or
    /// postgres://USER@HOST:PORT/DATABASE, which several processes may share.
    #[arg(long, env = "BACKSTORE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Serve a private copy of saved state NAME of that database (a fork, dropped when the server
    /// stops), leaving the database and the state as they are: one per parallel test worker.
    #[arg(long, value_name = "NAME")]
    pub from_state: Option<String>,
    #[command(flatten)]
    pub blobs: BlobStoreArg,
    /// The most database connections this process holds open.
    #[arg(long, env = "BACKSTORE_DB_MAX_CONNECTIONS", default_value_t = 8)]
    pub db_max_connections: u32,
    /// How long a request waits for a database connection before it is answered 503.
    #[arg(long, env = "BACKSTORE_DB_ACQUIRE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub db_acquire_timeout: Duration,
    /// Throttle each application in each tenant to this rate (`20/s`, `600/min`); 429 with
    /// `Retry-After` beyond it. Off by default.
    #[arg(long, env = "BACKSTORE_THROTTLE_APP", value_name = "RATE")]
    pub throttle_app: Option<backstore_api::throttle::Rate>,
    /// Throttle each tenant (all its applications together) to this rate. Off by default.
    #[arg(long, env = "BACKSTORE_THROTTLE_TENANT", value_name = "RATE")]
    pub throttle_tenant: Option<backstore_api::throttle::Rate>,
    /// Also accept tokens of this OpenID Connect issuer (its keys found through discovery; Graph's
    /// audiences); repeatable. E.g. `https://login.microsoftonline.com/{tenantid}/v2.0`.
    #[arg(long, env = "BACKSTORE_OIDC_ISSUER", value_name = "URL", value_delimiter = ',')]
    pub oidc_issuer: Vec<String>,
    /// Issuers in full: a JSON array of `{"issuer", "audiences", "jwks": "discovery" | {"uri": …} |
    /// {"file": …}, "minRefreshSeconds"}`.
    #[arg(long, env = "BACKSTORE_OIDC_CONFIG", value_name = "FILE")]
    pub oidc_config: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (see `backstore cert`); needs --tls-key.
    #[arg(long, env = "BACKSTORE_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "BACKSTORE_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The time a client has to send a request's headers; slower ones are disconnected.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// The time a client has to send a request's body (`408 RequestTimeout` past it).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub body_timeout: Duration,
    /// The most bytes of request line and headers (`431 RequestHeaderFieldsTooLarge` past it).
    #[arg(long, default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,
    /// Connections served at once.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Where the audit trail of write requests is appended, as JSON lines (default:
    /// <data-dir>/audit.jsonl); the log also carries it (target `backstore::audit`).
    #[arg(long, env = "BACKSTORE_AUDIT_LOG", value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// The restore limits: `service` (50 artifacts per request, 25 running sessions per tenant, as
    /// the real service) or `unlimited`.
    #[arg(long, env = "BACKSTORE_LIMITS", value_enum, default_value = "service")]
    pub limits: LimitsProfile,
    /// What this process does: api, worker or all.
    #[arg(long, env = "BACKSTORE_ROLE", value_enum, default_value = "all")]
    pub role: Role,
    /// Behind a reverse proxy: build absolute links (`@odata.nextLink`, `Location`) from
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` instead of the connection's own scheme and `Host`.
    #[arg(long, env = "BACKSTORE_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// How long one artifact's restore takes: instant, realistic, or a duration (500ms, 30s, 2m).
    #[arg(long, env = "BACKSTORE_RESTORE_SPEED", default_value = "instant")]
    pub restore_speed: RestoreSpeed,
    /// A JSON file of fault rules (see docs/engine.md): artifacts that fail, hang, or fail first.
    #[arg(long, env = "BACKSTORE_FAULTS", value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// How long a worker's claim on a job holds before another worker may take it over.
    #[arg(long, env = "BACKSTORE_JOB_LEASE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub job_lease: Duration,
    /// Attempts a restore job gets before its artifact fails.
    #[arg(long, env = "BACKSTORE_JOB_ATTEMPTS", default_value_t = 5)]
    pub job_attempts: i64,
    /// The wait before the first retry; each further retry waits twice as long (at most 5 minutes).
    #[arg(long, env = "BACKSTORE_JOB_BACKOFF", default_value = "1s", value_parser = humantime::parse_duration)]
    pub job_backoff: Duration,
    /// How often a worker looks for due jobs when nothing woke it (a write that queues jobs wakes the
    /// workers of its process, and on PostgreSQL those of every process, at once).
    #[arg(long, env = "BACKSTORE_JOB_POLL", default_value = "200ms", value_parser = humantime::parse_duration)]
    pub job_poll: Duration,
    /// Restore jobs this process runs at once.
    #[arg(long, env = "BACKSTORE_WORKERS", default_value_t = 8)]
    pub workers: usize,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The tenant (`tid`) the token acts in.
    #[arg(long)]
    pub tenant: String,
    /// Only the read permissions (BackupRestore-Restore.Read.All and the other .Read.All ones).
    #[arg(long, conflicts_with = "permission")]
    pub read_only: bool,
    /// A permission the token carries, e.g. BackupRestore-Search.Read.All; repeatable. Without it
    /// (and without --read-only) the token carries every BackupRestore permission.
    #[arg(long, value_name = "NAME")]
    pub permission: Vec<String>,
    /// Make a delegated token for this user object id (scp instead of roles).
    #[arg(long, value_name = "OBJECT_ID")]
    pub user: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, allow_negative_numbers = true)]
    pub ttl: i64,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The database (unless `--database-url`) and, with `--content`, the content store's keys and
    /// (unless `--blob-store`) its blobs: the data dir of the servers that will serve the tenant.
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[arg(long, env = "BACKSTORE_DATABASE_URL")]
    pub database_url: Option<String>,
    #[arg(long)]
    pub tenant: String,
    /// SharePoint sites to create.
    #[arg(long, default_value_t = 2)]
    pub sites: u32,
    /// Exchange mailboxes to create.
    #[arg(long, default_value_t = 2)]
    pub mailboxes: u32,
    /// OneDrive accounts to create.
    #[arg(long, default_value_t = 2)]
    pub drives: u32,
    /// Restore points per protection unit.
    #[arg(long, default_value_t = 3)]
    pub restore_points: u32,
    /// Seed of the generator: the same seed gives the same units and ids.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Units whose restores always fail with a realistic error (marked `fault` in the output).
    #[arg(long, default_value_t = 0)]
    pub faulty_units: u32,
    /// Give each site and OneDrive a drive of generated files, and each mailbox generated mail, of
    /// about this size (e.g. `200MiB`), different at each restore point (up to ten versions).
    /// Default: none.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "0")]
    pub content: u64,
    #[command(flatten)]
    pub blobs: BlobStoreArg,
}

/// The database URL a data dir implies when none is given.
pub fn database_url(explicit: Option<&str>, data_dir: &Path) -> String {
    match explicit {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}", data_dir.join("backstore.db").display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn default_database_lives_in_the_data_dir() {
        assert_eq!(database_url(None, Path::new("./data")), "sqlite://./data/backstore.db");
        assert_eq!(database_url(Some("sqlite:///x.db"), Path::new("./data")), "sqlite:///x.db");
    }
}
