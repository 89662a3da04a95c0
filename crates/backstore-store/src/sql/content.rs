//! The content store's chunk index ([`ChunkIndex`]) in SQL: one row per pack and one per blob, so
//! every process that shares the database finds what any of them stored.

use backstore_content::pack::PackEntry;
use backstore_content::{
    BlobId, BlobKind, ChunkIndex, GcIndex, IndexError, IndexedBlob, IndexedPack, Location, PackId,
};

use super::read::{Arg, Col, Columns, Cost};
use super::tx::Tx;
use super::Lock;
use crate::{Store, StoreError, StoreResult};

/// Blob rows per `INSERT` (6 values each, far below either backend's limit on bound values).
const ROWS_PER_INSERT: usize = 100;

/// Blob ids per `IN (…)` list of garbage collection's statements.
const IDS_PER_STATEMENT: usize = 500;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("content index: {what}"))
}

/// Records a pack (once), stamped with the real time garbage collection's grace runs on.
async fn insert_pack(tx: &mut Tx, tenant: &str, pack_hex: &str, size: i64) -> StoreResult<()> {
    exec!(
        tx,
        "INSERT INTO content_packs (tenant_id, pack_id, size, created_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (tenant_id, pack_id) DO NOTHING",
        tenant,
        pack_hex,
        size,
        chrono::Utc::now().timestamp_micros(),
    )
    .await?;
    Ok(())
}

fn location_of(r: &dyn Columns) -> StoreResult<Location> {
    Ok(Location {
        pack: r.col::<String>("pack_id")?.parse().map_err(|_| corrupt("pack_id"))?,
        kind: u8::try_from(r.col::<i64>("kind")?).ok().and_then(BlobKind::from_code).ok_or_else(|| corrupt("kind"))?,
        offset: u32::try_from(r.col::<i64>("pack_offset")?).map_err(|_| corrupt("pack_offset"))?,
        length: u32::try_from(r.col::<i64>("length")?).map_err(|_| corrupt("length"))?,
    })
}

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
                        Ok(done)
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
            |r| location_of(r),
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
        let size = i64::try_from(size).map_err(|_| StoreError::Corrupt("pack size".into()))?;
        self.write(Lock::Tenant(tenant), async |tx| {
            insert_pack(tx, tenant, &pack_hex, size).await?;
            for batch in entries.chunks(ROWS_PER_INSERT) {
                let sql = format!(
                    "INSERT INTO content_blobs (tenant_id, blob_id, kind, pack_id, pack_offset, length) VALUES {} \
                     ON CONFLICT (tenant_id, blob_id) DO NOTHING",
                    vec!["(?, ?, ?, ?, ?, ?)"; batch.len()].join(", ")
                );
                let hex: Vec<String> = batch.iter().map(|e| e.id.to_hex()).collect();
                let mut args = Vec::with_capacity(batch.len() * 6);
                for (e, id) in batch.iter().zip(&hex) {
                    args.extend([
                        Arg::Text(tenant),
                        Arg::Text(id),
                        Arg::Int(i64::from(e.kind.code())),
                        Arg::Text(&pack_hex),
                        Arg::Int(i64::from(e.offset)),
                        Arg::Int(i64::from(e.length)),
                    ]);
                }
                tx.exec(&sql, &args).await?;
            }
            Ok(())
        })
        .await
    }
}

impl Store {
    /// Runs `sql` (which ends in `blob_id IN ` and takes `first` values before the ids) for the
    /// ids in batches, in one write transaction; the rows it affected, or the ids it returned.
    async fn content_by_ids(
        &self,
        tenant: &str,
        sql: &str,
        first: &[super::read::Arg<'_>],
        ids: &[BlobId],
        returning: bool,
    ) -> StoreResult<(u64, Vec<BlobId>)> {
        if ids.is_empty() {
            return Ok((0, Vec::new()));
        }
        self.write(Lock::Tenant(tenant), async |tx| {
            let (mut affected, mut returned) = (0, Vec::new());
            for batch in ids.chunks(IDS_PER_STATEMENT) {
                let hex: Vec<String> = batch.iter().map(BlobId::to_hex).collect();
                let statement = format!(
                    "{sql}({}){}",
                    vec!["?"; batch.len()].join(", "),
                    if returning { " RETURNING blob_id" } else { "" }
                );
                let args: Vec<super::read::Arg<'_>> =
                    first.iter().copied().chain(hex.iter().map(super::read::Arg::from)).collect();
                if returning {
                    for id in tx.scalars::<String>(&statement, &args).await? {
                        returned.push(id.parse().map_err(|_| corrupt("blob_id"))?);
                    }
                } else {
                    affected += tx.exec(&statement, &args).await?;
                }
            }
            Ok((affected, returned))
        })
        .await
    }
}

impl GcIndex for Store {
    async fn tenants(&self) -> Result<Vec<String>, IndexError> {
        Ok(self
            .read_rows(Cost::Scan, "SELECT DISTINCT tenant_id FROM content_packs ORDER BY tenant_id", args![], |r| {
                r.col("tenant_id")
            })
            .await?)
    }

    async fn blobs(&self, tenant: &str) -> Result<Vec<IndexedBlob>, IndexError> {
        Ok(self
            .read_rows(
                Cost::Scan,
                "SELECT blob_id, kind, pack_id, pack_offset, length, condemned_at FROM content_blobs WHERE tenant_id = ?",
                args![tenant],
                |r| {
                    Ok(IndexedBlob {
                        id: r.col::<String>("blob_id")?.parse().map_err(|_| corrupt("blob_id"))?,
                        location: location_of(r)?,
                        condemned_at: r.col("condemned_at")?,
                    })
                },
            )
            .await?)
    }

    async fn packs(&self, tenant: &str) -> Result<Vec<IndexedPack>, IndexError> {
        Ok(self
            .read_rows(
                Cost::Scan,
                "SELECT pack_id, size, created_at FROM content_packs WHERE tenant_id = ?",
                args![tenant],
                |r| {
                    Ok(IndexedPack {
                        id: r.col::<String>("pack_id")?.parse().map_err(|_| corrupt("pack_id"))?,
                        size: u64::try_from(r.col::<i64>("size")?).map_err(|_| corrupt("size"))?,
                        created_at: r.col("created_at")?,
                    })
                },
            )
            .await?)
    }

    async fn condemn(&self, tenant: &str, ids: &[BlobId], at: i64) -> Result<u64, IndexError> {
        let sql =
            "UPDATE content_blobs SET condemned_at = ? WHERE tenant_id = ? AND condemned_at IS NULL AND blob_id IN ";
        Ok(self.content_by_ids(tenant, sql, args![at, tenant], ids, false).await?.0)
    }

    async fn take_back(&self, tenant: &str, ids: &[BlobId]) -> Result<u64, IndexError> {
        let sql = "UPDATE content_blobs SET condemned_at = NULL WHERE tenant_id = ? AND condemned_at IS NOT NULL AND blob_id IN ";
        Ok(self.content_by_ids(tenant, sql, args![tenant], ids, false).await?.0)
    }

    async fn remove_condemned(&self, tenant: &str, ids: &[BlobId], before: i64) -> Result<Vec<BlobId>, IndexError> {
        let sql = "DELETE FROM content_blobs WHERE tenant_id = ? AND condemned_at IS NOT NULL AND condemned_at < ? AND blob_id IN ";
        Ok(self.content_by_ids(tenant, sql, args![tenant, before], ids, true).await?.1)
    }

    async fn move_blobs(
        &self,
        tenant: &str,
        from: &PackId,
        to: &PackId,
        size: u64,
        entries: &[PackEntry],
    ) -> Result<(), IndexError> {
        let (from, to) = (from.to_hex(), to.to_hex());
        let size = i64::try_from(size).map_err(|_| corrupt("pack size"))?;
        self.write(Lock::Tenant(tenant), async |tx| {
            insert_pack(tx, tenant, &to, size).await?;
            for e in entries {
                exec!(
                    tx,
                    "UPDATE content_blobs SET pack_id = ?, pack_offset = ?, length = ? \
                     WHERE tenant_id = ? AND blob_id = ? AND pack_id = ?",
                    to.as_str(),
                    i64::from(e.offset),
                    i64::from(e.length),
                    tenant,
                    e.id.to_hex(),
                    from.as_str(),
                )
                .await?;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn remove_pack(&self, tenant: &str, pack: &PackId) -> Result<bool, IndexError> {
        let pack = pack.to_hex();
        let removed = self
            .write(Lock::Tenant(tenant), async |tx| {
                let done = exec!(
                    tx,
                    "DELETE FROM content_packs WHERE tenant_id = ? AND pack_id = ? AND NOT EXISTS \
                     (SELECT 1 FROM content_blobs WHERE tenant_id = ? AND pack_id = ?)",
                    tenant,
                    pack.as_str(),
                    tenant,
                    pack.as_str(),
                )
                .await?;
                Ok(done)
            })
            .await?;
        Ok(removed == 1)
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
