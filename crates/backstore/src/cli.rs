//! The command line (a contract users' scripts rely on): `serve`, `token`, `seed`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    Serve(ServeArgs),
    /// Print a bearer token that a server with the same data dir accepts.
    Token(TokenArgs),
    /// Create protection units and restore points for a tenant; prints them as JSON.
    Seed(SeedArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "BACKSTORE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the database, the token signing key and content.
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL; defaults to sqlite://<data-dir>/backstore.db.
    #[arg(long, env = "BACKSTORE_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The tenant (`tid`) the token acts in.
    #[arg(long)]
    pub tenant: String,
    /// Only BackupRestore-Restore.Read.All instead of ReadWrite.All.
    #[arg(long)]
    pub read_only: bool,
    /// Make a delegated token for this user object id (scp instead of roles).
    #[arg(long, value_name = "OBJECT_ID")]
    pub user: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, allow_negative_numbers = true)]
    pub ttl: i64,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[arg(long, env = "BACKSTORE_DATA_DIR", default_value = "./data", conflicts_with = "database_url")]
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
