//! Browse sessions: a SharePoint or OneDrive restore point opened for browsing, with what it holds
//! (its tree's root and size) kept beside it, so browsing reads the point's manifests and nothing
//! else. A session lives three days (`expirationDateTime`), then reads no longer see it and the
//! retention pass removes it (with it, its hold on the point's content).

use backstore_content::BlobId;
use backstore_domain::restore::Resource;
use backstore_domain::{ErrorInfo, Timestamp, Workload};

use super::read::{Col, Columns, Cost};
use super::rows::{error_info, from_micros, micros, workload};
use super::Lock;
use crate::{Store, StoreError, StoreResult};

/// How long a browse session lives (the service's examples: about three days).
pub const BROWSE_SESSION_LIFETIME: chrono::Duration = chrono::Duration::days(3);

/// A browse session as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowseSessionRecord {
    pub seq: i64,
    pub id: String,
    pub workload: Workload,
    pub restore_point_id: String,
    pub protection_unit_id: String,
    /// The site (SharePoint) or the owner's personal site (OneDrive) as the point's unit names it.
    pub resource: Resource,
    /// `created` or `failed`.
    pub status: String,
    pub error: Option<ErrorInfo>,
    /// The point's tree (`None` when the session failed).
    pub content_root: Option<BlobId>,
    pub backup_size: u64,
    pub restore_point_at: Timestamp,
    pub created_at: Timestamp,
    pub expiration_at: Timestamp,
}

const SELECT: &str = "SELECT * FROM browse_sessions";

fn session_from_row(r: &dyn Columns) -> StoreResult<BrowseSessionRecord> {
    let w = workload(&r.col::<String>("workload")?)?;
    Ok(BrowseSessionRecord {
        seq: r.col("seq")?,
        id: r.col("id")?,
        workload: w,
        restore_point_id: r.col("restore_point_id")?,
        protection_unit_id: r.col("protection_unit_id")?,
        resource: Resource {
            workload: w,
            site_id: r.col("site_id")?,
            site_name: r.col("site_name")?,
            site_web_url: r.col("site_web_url")?,
            directory_object_id: r.col("directory_object_id")?,
            display_name: None,
            email: None,
        },
        status: r.col("status")?,
        error: error_info(r.col("error_code")?, r.col("error_message")?),
        content_root: r
            .col::<Option<String>>("content_root")?
            .map(|t| t.parse().map_err(|_| StoreError::Corrupt(format!("content root '{t}'"))))
            .transpose()?,
        backup_size: r.col::<i64>("backup_size")?.max(0) as u64,
        restore_point_at: from_micros(r.col("restore_point_at")?)?,
        created_at: from_micros(r.col("created_at")?)?,
        expiration_at: from_micros(r.col("expiration_at")?)?,
    })
}

impl Store {
    /// Keeps a new browse session (its id, times and status as the caller decided them).
    pub async fn create_browse_session(
        &self,
        tenant: &str,
        s: &BrowseSessionRecord,
    ) -> StoreResult<BrowseSessionRecord> {
        self.write(Lock::Tenant(tenant), async |tx| {
            exec!(
                tx,
                "INSERT INTO browse_sessions (tenant_id, id, workload, restore_point_id, protection_unit_id, site_id, \
                 site_name, site_web_url, directory_object_id, status, error_code, error_message, content_root, \
                 backup_size, restore_point_at, created_at, expiration_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tenant,
                s.id.as_str(),
                s.workload.unit_kind(),
                s.restore_point_id.as_str(),
                s.protection_unit_id.as_str(),
                s.resource.site_id.as_deref(),
                s.resource.site_name.as_deref(),
                s.resource.site_web_url.as_deref(),
                s.resource.directory_object_id.as_deref(),
                s.status.as_str(),
                s.error.as_ref().map(|e| e.code.as_str()),
                s.error.as_ref().map(|e| e.message.as_str()),
                s.content_root.map(|r| r.to_hex()),
                s.backup_size as i64,
                micros(s.restore_point_at),
                micros(s.created_at),
                micros(s.expiration_at),
            )
            .await?;
            let sql = format!("{SELECT} WHERE tenant_id = ? AND id = ?");
            session_from_row(&tx.fetch_one(&sql, args![tenant, s.id.as_str()]).await?)
        })
        .await
    }

    /// A browse session of the tenant that has not expired at `now` (of one kind, if given).
    pub async fn browse_session(
        &self,
        tenant: &str,
        id: &str,
        workload: Option<Workload>,
        now: Timestamp,
    ) -> StoreResult<Option<BrowseSessionRecord>> {
        let sql =
            format!("{SELECT} WHERE tenant_id = ? AND id = ? AND expiration_at > ? AND (? IS NULL OR workload = ?)");
        let kind = workload.map(Workload::unit_kind);
        self.read_row(&sql, args![tenant, id, micros(now), kind, kind], session_from_row).await
    }

    /// How many unexpired browse sessions the tenant has (of one kind, if given).
    pub async fn count_browse_sessions(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        now: Timestamp,
    ) -> StoreResult<i64> {
        let kind = workload.map(Workload::unit_kind);
        let sql = "SELECT COUNT(*) AS n FROM browse_sessions WHERE tenant_id = ? AND expiration_at > ? \
                   AND (? IS NULL OR workload = ?)";
        self.read_rows(Cost::Seek, sql, args![tenant, micros(now), kind, kind], |r| r.col::<i64>("n"))
            .await
            .map(|n| n.into_iter().next().unwrap_or(0))
    }

    /// A page of the tenant's unexpired browse sessions (of one kind, if given) after `after`.
    pub async fn list_browse_sessions(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        after: Option<i64>,
        limit: i64,
        now: Timestamp,
    ) -> StoreResult<Vec<BrowseSessionRecord>> {
        let sql = format!(
            "{SELECT} WHERE tenant_id = ? AND expiration_at > ? AND (? IS NULL OR workload = ?) AND seq > ? \
             ORDER BY seq LIMIT ?"
        );
        let kind = workload.map(Workload::unit_kind);
        self.read_rows(
            Cost::Seek,
            &sql,
            args![tenant, micros(now), kind, kind, after.unwrap_or(0), limit],
            session_from_row,
        )
        .await
    }
}
