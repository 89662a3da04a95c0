//! PostgreSQL write locks are per tenant: while a connection holds tenant A's write lock, tenant B's
//! writes go through, and A's wait for it. Work across tenants (the retention pass) still waits for
//! every tenant's writes.

use std::time::Duration;

use backstore_store::tenant_lock_key;
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};

use crate::support::*;

/// A connection of its own inside a transaction that holds `tenant`'s write lock.
async fn hold_tenant_lock(app: &TestApp, tenant: &str) -> PgConnection {
    let mut conn = PgConnection::connect(&app.db.url).await.expect("connect");
    conn.execute("BEGIN").await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(tenant_lock_key(tenant)).execute(&mut conn).await.unwrap();
    conn
}

#[tokio::test]
async fn a_tenants_writes_wait_only_for_that_tenant() {
    let app = TestApp::spawn().await;
    let (token_a, token_b) = (app.token(TENANT), app.token(OTHER_TENANT));
    let mut holder = hold_tenant_lock(&app, TENANT).await;

    // Tenant B writes while A's lock is held.
    let b = tokio::time::timeout(Duration::from_secs(5), app.post("exchangeRestoreSessions", &token_b, &json!({})))
        .await
        .expect("tenant B's write does not wait for tenant A's lock");
    b.expect(201);
    // B's reads and A's reads go on too.
    app.get("restoreSessions", &token_a).await.expect(200);

    // Tenant A's write waits for the lock and completes once it is released.
    let empty = json!({});
    {
        let a = app.post("exchangeRestoreSessions", &token_a, &empty);
        tokio::pin!(a);
        assert!(
            tokio::time::timeout(Duration::from_millis(800), &mut a).await.is_err(),
            "tenant A's write waits while its lock is held"
        );
        holder.execute("ROLLBACK").await.unwrap();
        let a = tokio::time::timeout(Duration::from_secs(5), a).await.expect("tenant A's write proceeds");
        a.expect(201);
    }
    assert_eq!(app.get("restoreSessions", &token_a).await.body["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_retention_pass_waits_for_tenant_writes() {
    let app = TestApp::spawn().await;
    let mut holder = hold_tenant_lock(&app, TENANT).await;
    // A tenant writer holds the shared all-tenants lock (as every tenant write does).
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind(backstore_store::sql::ALL_TENANTS_LOCK)
        .execute(&mut holder)
        .await
        .unwrap();
    let store = app.server.as_ref().unwrap().store();
    let now = app.clock().now();
    {
        let pass = store.retention_pass(now);
        tokio::pin!(pass);
        assert!(tokio::time::timeout(Duration::from_millis(800), &mut pass).await.is_err(), "the pass waits");
        holder.execute("ROLLBACK").await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), pass).await.expect("the pass proceeds").unwrap();
    }
    drop(store);
}
