//! Service apps and the e-mail notification setting on SQLite. A service app's status is not
//! stored: it follows from when its control starts and ends and the time of the read
//! ([`ServiceAppRecord::status`]), so a scheduled activation takes effect as the server clock passes
//! its `effectiveDateTime` with nothing to run. Every function runs inside the caller's transaction.

use super::listing;
use super::rows::kind_scope;
use super::stored::by_id;

use super::tx::Tx;
use backstore_domain::{RuleError, Timestamp};

use super::read::{Col, Columns, Cost};
use super::rows::{actor, actor_json, from_micros, micros, opt_from_micros};
use super::tx::On;
use super::Lock;
use crate::{NotificationSettings, ServiceAppRecord, Store, StoreResult, Writer};

const APP_COLUMNS: &str = "seq, id, application_id, application_name, activated_at, deactivated_at, registered_at, \
    last_modified_at, last_modified_by";

fn app_from_row(row: &dyn Columns) -> StoreResult<ServiceAppRecord> {
    Ok(ServiceAppRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        application_id: row.col("application_id")?,
        application_name: row.col("application_name")?,
        activated_at: opt_from_micros(row.col("activated_at")?)?,
        deactivated_at: opt_from_micros(row.col("deactivated_at")?)?,
        registered_at: from_micros(row.col("registered_at")?)?,
        last_modified_at: from_micros(row.col("last_modified_at")?)?,
        last_modified_by: actor(&row.col::<String>("last_modified_by")?)?,
    })
}

super::stored::stored!(ServiceAppRecord, "service_apps", APP_COLUMNS, app_from_row);

async fn require_app(conn: &mut Tx, tenant: &str, id: &str) -> StoreResult<ServiceAppRecord> {
    Ok(by_id::<ServiceAppRecord>(&mut *conn, tenant, id).await?.ok_or(RuleError::ServiceAppNotFound)?)
}

/// Every service app of the tenant, in registration order.
async fn all_apps(on: impl Into<On<'_>>, tenant: &str) -> StoreResult<Vec<ServiceAppRecord>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM service_apps WHERE tenant_id = ? ORDER BY seq");
    on.into().rows(Cost::Seek, &sql, args![tenant], app_from_row).await
}

async fn set_window(
    conn: &mut Tx,
    w: &Writer<'_>,
    id: &str,
    on: Option<Timestamp>,
    off: Option<Timestamp>,
) -> StoreResult<()> {
    exec!(
        conn,
        "UPDATE service_apps SET activated_at = ?, deactivated_at = ?, last_modified_at = ?, last_modified_by = ? \
         WHERE tenant_id = ? AND id = ?",
        on.map(micros),
        off.map(micros),
        micros(w.now),
        actor_json(w.actor),
        w.tenant,
        id
    )
    .await?;
    Ok(())
}

impl Store {
    /// Registers an application as a service app of the writer's tenant (`inactive`).
    pub async fn create_service_app(
        &self,
        w: Writer<'_>,
        application_id: &str,
        application_name: Option<&str>,
    ) -> StoreResult<ServiceAppRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            let exists: Option<i64> = conn.scalar_opt("SELECT 1 FROM service_apps WHERE tenant_id = ? AND lower(application_id) = lower(?)", args![w.tenant, application_id])
            .await?;
            if exists.is_some() {
                return Err(RuleError::ServiceAppAlreadyExists(application_id.to_owned()).into());
            }
            let id = uuid::Uuid::new_v4().to_string();
            exec!(
                conn,
                "INSERT INTO service_apps (tenant_id, id, application_id, application_name, registered_at, last_modified_at, \
         last_modified_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                w.tenant, &id, application_id, application_name, micros(w.now), micros(w.now), actor_json(w.actor),
            )
    .await?;
            require_app(conn, w.tenant, &id).await
        })
        .await
    }

    pub async fn list_service_apps(
        &self,
        tenant: &str,
        after: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<ServiceAppRecord>> {
        let select = format!("SELECT {APP_COLUMNS} FROM service_apps");
        listing::after_seq(self, &select, kind_scope(tenant, None), ("seq", after, limit), app_from_row).await
    }

    pub async fn count_service_apps(&self, tenant: &str) -> StoreResult<i64> {
        listing::count_in(self, "service_apps", kind_scope(tenant, None)).await
    }

    pub async fn get_service_app(&self, tenant: &str, id: &str) -> StoreResult<Option<ServiceAppRecord>> {
        by_id::<ServiceAppRecord>(self, tenant, id).await
    }

    pub async fn delete_service_app(&self, tenant: &str, id: &str) -> StoreResult<()> {
        self.write(Lock::Tenant(tenant), async move |conn| {
            require_app(conn, tenant, id).await?;
            exec!(conn, "DELETE FROM service_apps WHERE tenant_id = ? AND id = ?", tenant, id).await?;
            Ok(())
        })
        .await
    }

    /// Schedules the app to take control at `effective` (up to five minutes before `now` means now).
    pub async fn activate_service_app(
        &self,
        w: Writer<'_>,
        id: &str,
        effective: Timestamp,
    ) -> StoreResult<ServiceAppRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            let app = require_app(conn, w.tenant, id).await?;
            let status = app.status(w.now);
            if !matches!(status, "inactive" | "pendingActive") {
                return Err(RuleError::ServiceAppActionNotAllowed(format!(
                    "The service app is {status}; only an inactive or pendingActive service app can be activated."
                ))
                .into());
            }
            // A few minutes of clock skew between client and server mean "now".
            if effective < w.now - chrono::Duration::minutes(5) {
                return Err(RuleError::ServiceAppActionNotAllowed(
                    "effectiveDateTime is in the past; activation takes effect now or later.".into(),
                )
                .into());
            }
            let effective = effective.max(w.now);
            for other in all_apps(&mut *conn, w.tenant).await? {
                if other.id == app.id {
                    continue;
                }
                match other.status(w.now) {
                    "pendingActive" => set_window(conn, &w, &other.id, None, None).await?,
                    "active" | "pendingInactive" => {
                        set_window(conn, &w, &other.id, other.activated_at, Some(effective)).await?
                    }
                    _ => {}
                }
            }
            set_window(conn, &w, id, Some(effective), None).await?;
            require_app(conn, w.tenant, id).await
        })
        .await
    }

    /// Ends the app's control, or cancels its scheduled activation.
    pub async fn deactivate_service_app(&self, w: Writer<'_>, id: &str) -> StoreResult<ServiceAppRecord> {
        self.write(Lock::Tenant(w.tenant), async move |conn| {
            let app = require_app(conn, w.tenant, id).await?;
            match app.status(w.now) {
                "inactive" => {
                    return Err(
                        RuleError::ServiceAppActionNotAllowed("The service app is inactive already.".into()).into()
                    )
                }
                "pendingActive" => {
                    let handover = app.activated_at.map(micros);
                    exec!(
                        conn,
                        "UPDATE service_apps SET deactivated_at = NULL WHERE tenant_id = ? AND deactivated_at = ? AND id <> ?",
                        w.tenant, handover, id,
                    )
            .await?;
                    set_window(conn, &w, id, None, None).await?;
                }
                _ => set_window(conn, &w, id, app.activated_at, Some(w.now)).await?,
            }
            require_app(conn, w.tenant, id).await
        })
        .await
    }

    /// The tenant's `emailNotificationsSetting` members as last written; `None` until then.
    pub async fn notification_settings(&self, tenant: &str) -> StoreResult<Option<NotificationSettings>> {
        let s = self
            .read_row("SELECT settings FROM notification_settings WHERE tenant_id = ?", args![tenant], |r| {
                r.col::<String>("settings")
            })
            .await?;
        s.map(|s| {
            serde_json::from_str(&s).map_err(|e| crate::StoreError::Corrupt(format!("notification settings: {e}")))
        })
        .transpose()
    }

    pub async fn put_notification_settings(&self, tenant: &str, settings: &NotificationSettings) -> StoreResult<()> {
        self.write(Lock::Tenant(tenant), async move |conn| {
            exec!(
                conn,
                "INSERT INTO notification_settings (tenant_id, settings) VALUES (?, ?) \
         ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings",
                tenant,
                serde_json::to_string(settings).expect("settings serialize")
            )
            .await?;
            Ok(())
        })
        .await
    }
}
