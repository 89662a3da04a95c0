//! The integration suite again, on PostgreSQL: the same modules as `it` (compiled into this binary,
//! where `support::on_postgres()` is true), each test on a database of its own, plus what only a
//! shared database can show: several processes dividing the work, and connections cut under load.

#[path = "../it/activity.rs"]
mod activity;
#[path = "../it/auth.rs"]
mod auth;
#[path = "../it/browse.rs"]
mod browse;
#[path = "../it/bulk.rs"]
mod bulk;
#[path = "../it/content.rs"]
mod content;
#[path = "../it/crash.rs"]
mod crash;
#[path = "../it/drives.rs"]
mod drives;
#[path = "../it/engine.rs"]
mod engine;
#[path = "../it/errors.rs"]
mod errors;
#[path = "../it/exclusions.rs"]
mod exclusions;
#[path = "../it/files.rs"]
mod files;
#[path = "../it/granular.rs"]
mod granular;
#[path = "../it/lifecycle.rs"]
mod lifecycle;
#[path = "../it/limits.rs"]
mod limits;
mod locks;
#[path = "../it/mail.rs"]
mod mail;
#[path = "../it/mail_drafts.rs"]
mod mail_drafts;
#[path = "../it/mail_import.rs"]
mod mail_import;
#[path = "../it/mail_isolation.rs"]
mod mail_isolation;
#[path = "../it/mail_restores.rs"]
mod mail_restores;
#[path = "../it/mail_search.rs"]
mod mail_search;
#[path = "../it/metadata.rs"]
mod metadata;
#[path = "../it/odata.rs"]
mod odata;
#[path = "../it/policies.rs"]
mod policies;
#[path = "../it/process.rs"]
mod process;
#[path = "../it/protection.rs"]
mod protection;
#[path = "../it/reports.rs"]
mod reports;
#[path = "../it/restores.rs"]
mod restores;
#[path = "../it/retention.rs"]
mod retention;
#[path = "../it/rules.rs"]
mod rules;
#[path = "../it/s3.rs"]
mod s3;
mod scale;
#[path = "../it/security.rs"]
mod security;
#[path = "../it/service.rs"]
mod service;
#[path = "../it/service_apps.rs"]
mod service_apps;
#[path = "../it/sessions.rs"]
mod sessions;
#[path = "../it/states.rs"]
mod states;
#[path = "../it/support.rs"]
mod support;
#[path = "../it/update.rs"]
mod update;
#[path = "../it/wire.rs"]
mod wire;
