//! The backstore binary's library half: the command line, assembling and running the server, and
//! the `seed` generator. `main` is the only place that picks backends and reads the environment.

pub mod admin;
pub mod bench;
pub mod bench_content;
pub mod cert;
pub mod cli;
pub mod content;
pub mod corpus;
pub mod import;
pub mod listener;
mod live;
pub mod mail_corpus;
pub mod mail_import;
pub mod seed;
pub mod server;
pub mod state_archive;
pub mod verify;
pub mod watch;
