//! One integration-test binary: every test starts the real server on port 0 with a fresh data dir
//! (or runs the real binary) and talks HTTP to it.

mod auth;
mod browse;
mod bulk;
mod cli;
mod content;
mod crash;
mod drives;
mod engine;
mod errors;
mod files;
mod granular;
mod lifecycle;
mod limits;
mod mail;
mod mail_drafts;
mod mail_import;
mod mail_isolation;
mod mail_restores;
mod mail_search;
mod odata;
mod policies;
mod process;
mod protection;
mod restores;
mod retention;
mod rules;
mod s3;
mod sdk;
mod security;
mod service;
mod service_apps;
mod sessions;
mod support;
mod update;
mod wire;
