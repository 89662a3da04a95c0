// `sqlx::migrate!` embeds the migration files when this crate compiles; without this, a migration
// added since the last build would not be in the next one.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
