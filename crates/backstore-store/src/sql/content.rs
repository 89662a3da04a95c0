//! The content store's chunk index ([`ChunkIndex`]) in SQL: one row per pack and one per blob, so
//! every process that shares the database finds what any of them stored.

use backstore_content::pack::PackEntry;
use backstore_content::{BlobId, BlobKind, ChunkIndex, IndexError, Location, PackId};

use super::read::Col;
use super::{numbered, Lock};
use crate::{Store, StoreError, StoreResult};

/// Blob rows per `INSERT` (6 values each, far below either backend's limit on bound values).
const ROWS_PER_INSERT: usize = 100;

impl Store {
    /// Whether a tenant's blob is recorded; a blob that garbage collection condemned is taken back
    /// (its `condemned_at` cleared), since the caller is about to reference it.
    pub async fn content_contains(&self, tenant: &str, id: &BlobId) -> StoreResult<bool> {
        let hex = id.to_hex();
        let condemned = self
            .read_row(
                "SELECT condemned_at FROM content_blobs WHERE tenant_id = ? AND blob_id = ?",
                args![tenant, hex.as_str()],
                |r| r.col::<Option<i64>>("condemned_at"),
            )
            .await?;
        match condemned {
            None => Ok(false),
            Some(None) => Ok(true),
            Some(Some(_)) => {
                let taken_back = self
                    .write(Lock::Tenant(tenant), async |tx| {
                        let done = exec!(
                            tx,
                            "UPDATE content_blobs SET condemned_at = NULL WHERE tenant_id = ? AND blob_id = ?",
                            tenant,
                            hex.as_str(),
                        )
                        .await?;
                        Ok(done.rows_affected())
                    })
                    .await?;
                // None taken back: the collector removed it meanwhile, so it must be stored again.
                Ok(taken_back == 1)
            }
        }
    }

    /// Where a tenant's blob is stored.
    pub async fn content_locate(&self, tenant: &str, id: &BlobId) -> StoreResult<Option<Location>> {
        self.read_row(
            "SELECT kind, pack_id, pack_offset, length FROM content_blobs WHERE tenant_id = ? AND blob_id = ?",
            args![tenant, id.to_hex().as_str()],
            |r| {
                let corrupt = |what: &str| StoreError::Corrupt(format!("content_blobs: {what}"));
                Ok(Location {
                    pack: r.col::<String>("pack_id")?.parse().map_err(|_| corrupt("pack_id"))?,
                    kind: u8::try_from(r.col::<i64>("kind")?)
                        .ok()
                        .and_then(BlobKind::from_code)
                        .ok_or_else(|| corrupt("kind"))?,
                    offset: u32::try_from(r.col::<i64>("pack_offset")?).map_err(|_| corrupt("pack_offset"))?,
                    length: u32::try_from(r.col::<i64>("length")?).map_err(|_| corrupt("length"))?,
                })
            },
        )
        .await
    }

    /// Records a stored pack and its blobs, in one transaction; blobs recorded before keep their
    /// first location (the second copy is garbage for the collector).
    pub async fn content_record_pack(
        &self,
        tenant: &str,
        pack: &PackId,
        size: u64,
        entries: &[PackEntry],
    ) -> StoreResult<()> {
        let pack_hex = pack.to_hex();
        let now = chrono::Utc::now().timestamp_micros();
        let size = i64::try_from(size).map_err(|_| StoreError::Corrupt("pack size".into()))?;
        self.write(Lock::Tenant(tenant), async |tx| {
            exec!(
                tx,
                "INSERT INTO content_packs (tenant_id, pack_id, size, created_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (tenant_id, pack_id) DO NOTHING",
                tenant,
                pack_hex.as_str(),
                size,
                now,
            )
            .await?;
            for batch in entries.chunks(ROWS_PER_INSERT) {
                let sql = format!(
                    "INSERT INTO content_blobs (tenant_id, blob_id, kind, pack_id, pack_offset, length) VALUES {} \
                     ON CONFLICT (tenant_id, blob_id) DO NOTHING",
                    vec!["(?, ?, ?, ?, ?, ?)"; batch.len()].join(", ")
                );
                let sql = numbered(&sql);
                let mut insert = sqlx::query(&sql);
                for e in batch {
                    insert = insert
                        .bind(tenant)
                        .bind(e.id.to_hex())
                        .bind(i64::from(e.kind.code()))
                        .bind(pack_hex.as_str())
                        .bind(i64::from(e.offset))
                        .bind(i64::from(e.length));
                }
                insert.execute(&mut *tx).await?;
            }
            Ok(())
        })
        .await
    }
}

impl ChunkIndex for Store {
    async fn contains(&self, tenant: &str, id: &BlobId) -> Result<bool, IndexError> {
        Ok(self.content_contains(tenant, id).await?)
    }

    async fn locate(&self, tenant: &str, id: &BlobId) -> Result<Option<Location>, IndexError> {
        Ok(self.content_locate(tenant, id).await?)
    }

    async fn record_pack(
        &self,
        tenant: &str,
        pack: &PackId,
        size: u64,
        entries: &[PackEntry],
    ) -> Result<(), IndexError> {
        Ok(self.content_record_pack(tenant, pack, size, entries).await?)
    }
}
