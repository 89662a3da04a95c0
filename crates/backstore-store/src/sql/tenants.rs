//! A tenant's service state (enabled, disabled, locked) and the server clock's stored offset.

use super::read::{Col, Columns};
use super::rows::{actor, actor_json, from_micros, micros};
use super::{Dialect, Lock};
use crate::{ServiceState, StatusSeen, Store, StoreResult, Writer};

/// The select-list item that reads the tenant's service status into each row of a read (its `?`
/// binds the tenant): an uncorrelated subquery, evaluated once per statement.
pub(super) const STATUS_SEEN: &str = "(SELECT status FROM tenants WHERE tenant_id = ?) AS status_seen";

/// The status [`STATUS_SEEN`] put into `row`.
pub(super) fn status_seen(row: &dyn Columns) -> StoreResult<StatusSeen> {
    Ok(StatusSeen(row.text("status_seen")?))
}

impl Store {
    /// Whether hot reads carry the tenant's status ([`STATUS_SEEN`]): on PostgreSQL, where the
    /// gate's own read is a statement and a round trip; SQLite answers it from memory.
    pub(super) fn status_rides_along(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    /// The tenant's service state; `None` until it was ever enabled (the service is disabled).
    pub async fn service_state(&self, tenant: &str) -> StoreResult<Option<ServiceState>> {
        self.read_row(
            "SELECT status, consumer, app_owner_tenant_id, last_modified_at, last_modified_by FROM tenants WHERE tenant_id = ?",
            args![tenant],
            |r| {
                Ok(ServiceState {
                    status: r.col("status")?,
                    consumer: r.col("consumer")?,
                    app_owner_tenant_id: r.col("app_owner_tenant_id")?,
                    last_modified_at: from_micros(r.col("last_modified_at")?)?,
                    last_modified_by: actor(&r.col::<String>("last_modified_by")?)?,
                })
            },
        )
        .await
    }

    /// The tenant's service status alone (`None` before it was ever enabled): what every request's
    /// gate reads, without decoding the rest of the state.
    pub async fn service_status(&self, tenant: &str) -> StoreResult<Option<String>> {
        // SQLite: answered from what the last read found while nothing was committed since.
        let before = self.readers.as_ref().and_then(|r| r.changes()).and_then(|c| c.mark().map(|m| (c, m)));
        if let Some((changes, mark)) = &before {
            if let Some(status) = changes.status(tenant, mark) {
                return Ok(status);
            }
        }
        let status =
            self.read_row("SELECT status FROM tenants WHERE tenant_id = ?", args![tenant], |r| r.col("status")).await?;
        if let Some((changes, mark)) = before {
            changes.keep(tenant, mark, status.clone());
        }
        Ok(status)
    }

    /// Enables the service for the writer's tenant, controlled from `app_owner_tenant_id`.
    pub async fn enable_service(&self, w: Writer<'_>, app_owner_tenant_id: &str) -> StoreResult<ServiceState> {
        let consumer = if app_owner_tenant_id == w.tenant { "firstparty" } else { "thirdparty" };
        self.write(Lock::Tenant(w.tenant), async move |tx| {
            exec!(
                tx,
                "INSERT INTO tenants (tenant_id, status, consumer, app_owner_tenant_id, last_modified_at, last_modified_by) \
                 VALUES (?, 'enabled', ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET status = 'enabled', \
                 consumer = excluded.consumer, app_owner_tenant_id = excluded.app_owner_tenant_id, \
                 last_modified_at = excluded.last_modified_at, last_modified_by = excluded.last_modified_by",
                w.tenant, consumer, app_owner_tenant_id, micros(w.now), actor_json(w.actor),
            )
            .await?;
            Ok(ServiceState {
                status: "enabled".into(),
                consumer: consumer.into(),
                app_owner_tenant_id: app_owner_tenant_id.into(),
                last_modified_at: w.now,
                last_modified_by: w.actor.clone(),
            })
        })
        .await
    }

    /// Sets the service status of a tenant that enabled the service (`enabled`, `disabled`,
    /// `protectionChangeLocked`, `restoreLocked`): what Microsoft does to a tenant, here for tests.
    /// `None` when the tenant never enabled the service.
    pub async fn set_service_status(&self, w: Writer<'_>, status: &str) -> StoreResult<Option<ServiceState>> {
        let changed = self
            .write(Lock::Tenant(w.tenant), async move |tx| {
                let changed = exec!(
                    tx,
                    "UPDATE tenants SET status = ?, last_modified_at = ?, last_modified_by = ? WHERE tenant_id = ?",
                    status,
                    micros(w.now),
                    actor_json(w.actor),
                    w.tenant
                )
                .await?;
                Ok(changed)
            })
            .await?;
        if changed == 0 {
            return Ok(None);
        }
        self.service_state(w.tenant).await
    }

    /// The offset of the server clock stored in the database, in microseconds.
    pub async fn clock_offset(&self) -> StoreResult<i64> {
        let sql = "SELECT offset_micros FROM server_clock WHERE id = 1";
        self.read_row(sql, args![], |r| r.col::<i64>("offset_micros"))
            .await?
            .ok_or_else(|| crate::StoreError::Corrupt("no server clock row".into()))
    }

    /// Moves the stored server clock forward by `by_micros` (never back); returns the new offset.
    pub async fn advance_clock(&self, by_micros: i64) -> StoreResult<i64> {
        self.write(Lock::All, async move |tx| {
            let offset: i64 = tx
                .scalar(
                    "UPDATE server_clock SET offset_micros = offset_micros + ? WHERE id = 1 RETURNING offset_micros",
                    args![by_micros.max(0)],
                )
                .await?;
            Ok(offset)
        })
        .await
    }
}

impl Store {
    /// Empties one tenant, in one transaction: every row of every table that has a `tenant_id`
    /// column (found in the schema, so a table added later is included), other tenants untouched.
    /// The tenant starts again as new (its service not enabled); its content keys stay, and the
    /// packs its index named become garbage for the next collection. The rows removed.
    pub async fn reset_tenant(&self, tenant: &str) -> StoreResult<u64> {
        let tables = match self.dialect {
            super::Dialect::Sqlite => {
                "SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND c.name = 'tenant_id' ORDER BY m.name"
            }
            super::Dialect::Postgres => {
                "SELECT table_name::text AS name FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY table_name"
            }
        };
        let mut tables: Vec<String> =
            self.read_rows(super::read::Cost::Scan, tables, args![], |r| r.col::<String>("name")).await?;
        // Referencing tables first, so no foreign key ever points at a row already gone.
        tables.sort_by_key(|t| super::PARENT_TABLES.iter().rev().position(|r| r == t));
        self.write(Lock::Tenant(tenant), async move |tx| {
            let mut removed = 0;
            for table in &tables {
                removed += tx.exec(&format!("DELETE FROM {table} WHERE tenant_id = ?"), args![tenant]).await?;
            }
            Ok(removed)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_sees_a_status_another_process_committed() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let options = crate::StoreOptions::default();
        // Two stores on one file: what two processes sharing it are.
        let (ours, theirs) = (Store::open(&url, &options).await.unwrap(), Store::open(&url, &options).await.unwrap());
        let actor = backstore_domain::Actor {
            application_id: "app".into(),
            application_name: None,
            user_id: None,
            user_name: None,
        };
        let w = Writer { tenant: "t", actor: &actor, now: backstore_domain::Timestamp::UNIX_EPOCH };
        assert_eq!(ours.service_status("t").await.unwrap(), None);
        theirs.enable_service(w, "t").await.unwrap();
        assert_eq!(ours.service_status("t").await.unwrap().as_deref(), Some("enabled"));
        // Read twice while nothing changes (the second from memory), then changed elsewhere.
        assert_eq!(ours.service_status("t").await.unwrap().as_deref(), Some("enabled"));
        theirs.set_service_status(w, "restoreLocked").await.unwrap();
        assert_eq!(ours.service_status("t").await.unwrap().as_deref(), Some("restoreLocked"));
        ours.set_service_status(w, "enabled").await.unwrap();
        assert_eq!(theirs.service_status("t").await.unwrap().as_deref(), Some("enabled"));
        assert_eq!(ours.service_status("t").await.unwrap().as_deref(), Some("enabled"));
    }
}
