//! The tenant's directory: the sites and users a tenant has outside the backup service, which
//! policies, bulk jobs and inclusion rules resolve against.

use backstore_domain::Workload;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{numbered, Lock};
use crate::{DirectoryResource, Store, StoreResult};

pub(super) fn resource_from_row(row: &AnyRow, w: Workload) -> StoreResult<DirectoryResource> {
    Ok(DirectoryResource {
        workload: w,
        site_id: row.try_get("site_id")?,
        site_name: row.try_get("site_name")?,
        site_web_url: row.try_get("site_web_url")?,
        directory_object_id: row.try_get("directory_object_id")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        fault: row.try_get("fault")?,
        groups: Vec::new(),
    })
}

/// A resource of the tenant by id (site id or directory object id), case-insensitively.
pub(super) async fn find_resource(
    conn: &mut AnyConnection,
    tenant: &str,
    w: Workload,
    resource_id: &str,
) -> StoreResult<Option<DirectoryResource>> {
    let row = sqlx::query(&numbered(
        "SELECT * FROM directory_resources WHERE tenant_id = ? AND workload = ? AND lower(resource_id) = lower(?)",
    ))
    .bind(tenant)
    .bind(w.unit_kind())
    .bind(resource_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(|r| resource_from_row(r, w)).transpose()
}

/// A resource of the tenant by address: a site URL (trailing `/` ignored) or an e-mail address.
pub(super) async fn find_by_address(
    conn: &mut AnyConnection,
    tenant: &str,
    w: Workload,
    address: &str,
) -> StoreResult<Option<String>> {
    let sql = match w {
        Workload::SharePoint => {
            "SELECT resource_id FROM directory_resources WHERE tenant_id = ? AND workload = ? \
             AND lower(rtrim(site_web_url, '/')) = lower(rtrim(?, '/'))"
        }
        Workload::Exchange | Workload::OneDrive => {
            "SELECT resource_id FROM directory_resources WHERE tenant_id = ? AND workload = ? AND lower(email) = lower(?)"
        }
    };
    Ok(sqlx::query_scalar(&numbered(sql)).bind(tenant).bind(w.unit_kind()).bind(address).fetch_optional(conn).await?)
}

impl Store {
    /// Makes resources known in the tenant (what `seed` creates outside the backup service);
    /// resources known already are left as they are. Returns how many were new.
    pub async fn register_resources(&self, tenant: &str, resources: &[DirectoryResource]) -> StoreResult<u64> {
        self.write(Lock::Tenant(tenant), async move |conn| {
            let mut added = 0;
            for r in resources {
                let Some(resource_id) = r.resource_id() else { continue };
                added += sqlx::query(&numbered(
            "INSERT INTO directory_resources (tenant_id, workload, resource_id, site_id, site_name, site_web_url, \
             directory_object_id, display_name, email, fault) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        ))
        .bind(tenant)
        .bind(r.workload.unit_kind())
        .bind(resource_id)
        .bind(&r.site_id)
        .bind(&r.site_name)
        .bind(&r.site_web_url)
        .bind(&r.directory_object_id)
        .bind(&r.display_name)
        .bind(&r.email)
        .bind(&r.fault)
        .execute(&mut *conn)
        .await?
        .rows_affected();
                if let Some(owner) = &r.directory_object_id {
                    for group in &r.groups {
                        sqlx::query(&numbered(
                            "INSERT INTO directory_groups (tenant_id, directory_object_id, group_id) VALUES (?, ?, ?) \
                     ON CONFLICT DO NOTHING",
                        ))
                        .bind(tenant)
                        .bind(owner)
                        .bind(group)
                        .execute(&mut *conn)
                        .await?;
                    }
                }
            }
            Ok(added)
        })
        .await
    }
}
