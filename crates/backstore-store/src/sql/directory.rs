//! The tenant's directory: the sites and users a tenant has outside the backup service, which
//! policies, bulk jobs and inclusion rules resolve against.

use super::tx::Tx;
use backstore_domain::restore::Resource;
use backstore_domain::Workload;

use super::read::{Col, Columns};
use crate::{DirectoryResource, Store, StoreResult};

/// The naming columns a protection unit and a directory entry share (`site_id` … `email`).
pub(super) fn names_from_row(row: &dyn Columns, workload: Workload) -> StoreResult<Resource> {
    Ok(Resource {
        workload,
        site_id: row.col("site_id")?,
        site_name: row.col("site_name")?,
        site_web_url: row.col("site_web_url")?,
        directory_object_id: row.col("directory_object_id")?,
        display_name: row.col("display_name")?,
        email: row.col("email")?,
    })
}

pub(super) fn resource_from_row(row: &dyn Columns, w: Workload) -> StoreResult<DirectoryResource> {
    Ok(DirectoryResource { resource: names_from_row(row, w)?, fault: row.col("fault")?, groups: Vec::new() })
}

/// A resource of the tenant by id (site id or directory object id), case-insensitively.
pub(super) async fn find_resource(
    conn: &mut Tx,
    tenant: &str,
    w: Workload,
    resource_id: &str,
) -> StoreResult<Option<DirectoryResource>> {
    let row = conn
        .fetch_optional(
            "SELECT * FROM directory_resources WHERE tenant_id = ? AND workload = ? AND lower(resource_id) = lower(?)",
            args![tenant, w.unit_kind(), resource_id],
        )
        .await?;
    row.as_ref().map(|r| resource_from_row(r, w)).transpose()
}

/// The id of a resource by address (`?`: tenant, workload, address): a site URL, trailing `/`
/// ignored, or an e-mail address, regardless of case.
fn by_address_sql(w: Workload) -> &'static str {
    match w {
        Workload::SharePoint => {
            "SELECT resource_id FROM directory_resources WHERE tenant_id = ? AND workload = ? \
             AND lower(rtrim(site_web_url, '/')) = lower(rtrim(?, '/'))"
        }
        Workload::Exchange | Workload::OneDrive => {
            "SELECT resource_id FROM directory_resources WHERE tenant_id = ? AND workload = ? AND lower(email) = lower(?)"
        }
    }
}

/// A resource of the tenant by address: a site URL (trailing `/` ignored) or an e-mail address.
pub(super) async fn find_by_address(
    conn: &mut Tx,
    tenant: &str,
    w: Workload,
    address: &str,
) -> StoreResult<Option<String>> {
    conn.scalar_opt(by_address_sql(w), args![tenant, w.unit_kind(), address]).await
}

impl Store {
    /// The id of a resource of the tenant's directory by address: a site's URL (trailing `/`
    /// ignored) or a user's e-mail address, regardless of case.
    pub async fn resource_by_address(&self, tenant: &str, w: Workload, address: &str) -> StoreResult<Option<String>> {
        self.read_row(by_address_sql(w), args![tenant, w.unit_kind(), address], |r| r.col::<String>("resource_id"))
            .await
    }

    /// The id of a resource of the tenant's directory named by its id or, for users, its e-mail
    /// address (user principal name), regardless of case.
    pub async fn directory_resource_id(&self, tenant: &str, w: Workload, key: &str) -> StoreResult<Option<String>> {
        self.read_row(
            "SELECT resource_id FROM directory_resources WHERE tenant_id = ? AND workload = ? \
             AND (lower(resource_id) = lower(?) OR lower(email) = lower(?))",
            args![tenant, w.unit_kind(), key, key],
            |r| r.col::<String>("resource_id"),
        )
        .await
    }

    /// A resource of the tenant's directory by id, regardless of case.
    pub async fn directory_entry(
        &self,
        tenant: &str,
        w: Workload,
        resource_id: &str,
    ) -> StoreResult<Option<DirectoryResource>> {
        self.read_row(
            "SELECT * FROM directory_resources WHERE tenant_id = ? AND workload = ? AND lower(resource_id) = lower(?)",
            args![tenant, w.unit_kind(), resource_id],
            |r| resource_from_row(r, w),
        )
        .await
    }
}

/// Makes resources known in the tenant; resources known already are left as they are. Returns
/// how many were new.
pub(super) async fn insert_resources(conn: &mut Tx, tenant: &str, resources: &[DirectoryResource]) -> StoreResult<u64> {
    let mut added = 0;
    for r in resources {
        let Some(resource_id) = r.resource.resource_id() else { continue };
        added += exec!(
            conn,
            "INSERT INTO directory_resources (tenant_id, workload, resource_id, site_id, site_name, site_web_url, \
     directory_object_id, display_name, email, fault) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT DO NOTHING",
            tenant,
            r.resource.workload.unit_kind(),
            resource_id,
            &r.resource.site_id,
            &r.resource.site_name,
            &r.resource.site_web_url,
            &r.resource.directory_object_id,
            &r.resource.display_name,
            &r.resource.email,
            &r.fault,
        )
        .await?;
        if let Some(owner) = &r.resource.directory_object_id {
            for group in &r.groups {
                exec!(
                    conn,
                    "INSERT INTO directory_groups (tenant_id, directory_object_id, group_id) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
                    tenant,
                    owner,
                    group,
                )
                .await?;
            }
        }
    }
    Ok(added)
}
