//! Reads of the live tree of files: drives, items by id and by path, children, the delta since a
//! token, totals. The records and every write are in `drives.rs`.

use super::drives::{drive_from_row, item_from_row, DRIVE_SELECT, ITEM_COLUMNS};
use super::read::{Col, Cost};
use crate::{DriveItemRecord, DriveRecord, Store, StoreResult};

impl Store {
    pub async fn drive(&self, tenant: &str, drive_id: &str) -> StoreResult<Option<DriveRecord>> {
        self.read_row(
            &format!("{DRIVE_SELECT} WHERE d.tenant_id = ? AND d.drive_id = ?"),
            args![tenant, drive_id],
            drive_from_row,
        )
        .await
    }

    pub async fn drive_of_resource(&self, tenant: &str, resource_id: &str) -> StoreResult<Option<DriveRecord>> {
        self.read_row(
            &format!("{DRIVE_SELECT} WHERE d.tenant_id = ? AND d.resource_id = ?"),
            args![tenant, resource_id],
            drive_from_row,
        )
        .await
    }

    /// The tenant's drives, in id order.
    pub async fn drives(&self, tenant: &str) -> StoreResult<Vec<DriveRecord>> {
        self.read_rows(
            Cost::Seek,
            &format!("{DRIVE_SELECT} WHERE d.tenant_id = ? ORDER BY d.drive_id"),
            args![tenant],
            drive_from_row,
        )
        .await
    }

    /// A live (not deleted) item.
    pub async fn drive_item(
        &self,
        tenant: &str,
        drive_id: &str,
        item_id: &str,
    ) -> StoreResult<Option<DriveItemRecord>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND item_id = ? AND deleted_at IS NULL"
        );
        self.read_row(&sql, args![tenant, drive_id, item_id], item_from_row).await
    }

    /// The live item at a `/`-separated path below `from` (names match regardless of case).
    pub async fn drive_item_at(
        &self,
        tenant: &str,
        drive_id: &str,
        from: &str,
        path: &str,
    ) -> StoreResult<Option<DriveItemRecord>> {
        let mut at = self.drive_item(tenant, drive_id, from).await?;
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? \
             AND name_key = ? AND deleted_at IS NULL"
        );
        for name in path.split('/').filter(|s| !s.is_empty()) {
            let Some(folder) = at.filter(|f| f.is_folder) else { return Ok(None) };
            let key = name.to_lowercase();
            at = self
                .read_row(&sql, args![tenant, drive_id, folder.item_id.as_str(), key.as_str()], item_from_row)
                .await?;
        }
        Ok(at)
    }

    /// Where a live item is below its drive's root: `""` for the root, `/a/b` below it (each
    /// name as stored); one recursive query up the item's ancestors.
    pub async fn drive_item_path(&self, tenant: &str, drive_id: &str, item_id: &str) -> StoreResult<Option<String>> {
        let names = self
            .read_rows(
                Cost::Seek,
                "WITH RECURSIVE up(parent_id, name, depth) AS ( \
                   SELECT parent_id, name, 0 FROM drive_items \
                   WHERE tenant_id = ? AND drive_id = ? AND item_id = ? AND deleted_at IS NULL \
                   UNION ALL SELECT i.parent_id, i.name, up.depth + 1 FROM drive_items i JOIN up \
                   ON i.tenant_id = ? AND i.drive_id = ? AND i.item_id = up.parent_id WHERE up.depth < 1000) \
                 SELECT name, parent_id FROM up ORDER BY depth DESC",
                args![tenant, drive_id, item_id, tenant, drive_id],
                |r| Ok((r.col::<String>("name")?, r.col::<Option<String>>("parent_id")?)),
            )
            .await?;
        if names.is_empty() {
            return Ok(None);
        }
        // The root (no parent) has no name in a path.
        Ok(Some(names.iter().filter(|(_, parent)| parent.is_some()).map(|(name, _)| format!("/{name}")).collect()))
    }

    /// A folder's live children in order of name, `limit` after the name key `after` (paging).
    pub async fn drive_children(
        &self,
        tenant: &str,
        drive_id: &str,
        folder: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<DriveItemRecord>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? \
             AND deleted_at IS NULL AND name_key > ? ORDER BY name_key LIMIT ?"
        );
        self.read_rows(
            Cost::Seek,
            &sql,
            args![tenant, drive_id, folder, after.unwrap_or(""), i64::from(limit)],
            item_from_row,
        )
        .await
    }

    /// The drive's delta counter now: a delta token that says "everything up to here".
    pub async fn drive_delta_counter(&self, tenant: &str, drive_id: &str) -> StoreResult<i64> {
        Ok(self
            .read_row(
                "SELECT delta_counter FROM drives WHERE tenant_id = ? AND drive_id = ?",
                args![tenant, drive_id],
                |r| r.col::<i64>("delta_counter"),
            )
            .await?
            .unwrap_or(0))
    }

    /// The items of a drive that changed after `since` and at or before `upto`, in the order they
    /// changed, `limit` after `(delta_seq, item_id)` `after`; deleted ones too unless `since` is 0
    /// (a first enumeration lists what is there).
    pub async fn drive_delta(
        &self,
        tenant: &str,
        drive_id: &str,
        since: i64,
        upto: i64,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> StoreResult<Vec<DriveItemRecord>> {
        let (after_seq, after_id) = after.unwrap_or((since, ""));
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND delta_seq > ? \
             AND delta_seq <= ? AND (delta_seq > ? OR (delta_seq = ? AND item_id > ?)) \
             AND (? > 0 OR deleted_at IS NULL) ORDER BY delta_seq, item_id LIMIT ?"
        );
        self.read_rows(
            Cost::Seek,
            &sql,
            args![tenant, drive_id, since, upto, after_seq, after_seq, after_id, since, i64::from(limit)],
            item_from_row,
        )
        .await
    }

    /// How many live items a drive holds (its root aside), and their bytes.
    pub async fn drive_totals(&self, tenant: &str, drive_id: &str) -> StoreResult<(u64, u64)> {
        let row = self
            .read_row(
                "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CASE WHEN is_folder = 0 THEN size ELSE 0 END), 0) AS BIGINT) AS bytes \
                 FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND deleted_at IS NULL AND parent_id IS NOT NULL",
                args![tenant, drive_id],
                |r| Ok((r.col::<i64>("n")?, r.col::<i64>("bytes")?)),
            )
            .await?
            .unwrap_or((0, 0));
        Ok((row.0 as u64, row.1 as u64))
    }

    /// How many live children a folder has (Graph's `folder.childCount`).
    pub async fn drive_child_count(&self, tenant: &str, drive_id: &str, folder: &str) -> StoreResult<u64> {
        let n = self
            .read_row(
                "SELECT COUNT(*) AS n FROM drive_items WHERE tenant_id = ? AND drive_id = ? AND parent_id = ? AND deleted_at IS NULL",
                args![tenant, drive_id, folder],
                |r| r.col::<i64>("n"),
            )
            .await?;
        Ok(n.unwrap_or(0) as u64)
    }
}
