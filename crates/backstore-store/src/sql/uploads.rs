//! Upload sessions: a file that arrives in fragments (Graph's `createUploadSession`). Each fragment
//! is stored in the content store as it arrives and the session row keeps the chunks so far, with a
//! manifest of them that garbage collection keeps while the session lives; a fragment is taken only
//! at the offset the session expects (a compare-and-set), so a retried or concurrent fragment cannot
//! be taken twice.

use backstore_content::{BlobId, ChunkRef};
use backstore_domain::{Actor, Timestamp};

use super::drives::{chunks_from, chunks_json};
use super::read::{Col, Columns};
use super::rows::{actor, actor_json, from_micros, micros, new_id};
use super::Lock;
use crate::{Conflict, Store, StoreError, StoreResult, Writer};

/// An upload session.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadSessionRecord {
    pub id: String,
    pub drive_id: String,
    /// The folder a new file goes into…
    pub parent_id: Option<String>,
    /// …or the file whose content it replaces.
    pub item_id: Option<String>,
    pub name: String,
    pub conflict: Conflict,
    /// The file's size, once known.
    pub size: Option<u64>,
    pub received: u64,
    pub chunks: Vec<ChunkRef>,
    pub expires_at: Timestamp,
    pub created_by: Actor,
}

fn conflict_name(c: Conflict) -> &'static str {
    match c {
        Conflict::Fail => "fail",
        Conflict::Replace => "replace",
        Conflict::Rename => "rename",
    }
}

fn session_from_row(r: &dyn Columns) -> StoreResult<UploadSessionRecord> {
    Ok(UploadSessionRecord {
        id: r.col("id")?,
        drive_id: r.col("drive_id")?,
        parent_id: r.col("parent_id")?,
        item_id: r.col("item_id")?,
        name: r.col("name")?,
        conflict: match r.col::<String>("conflict")?.as_str() {
            "fail" => Conflict::Fail,
            "replace" => Conflict::Replace,
            "rename" => Conflict::Rename,
            other => return Err(StoreError::Corrupt(format!("conflict behaviour '{other}'"))),
        },
        size: r.col::<Option<i64>>("size")?.map(|s| s as u64),
        received: r.col::<i64>("received")? as u64,
        chunks: chunks_from(r.col("chunks")?)?,
        expires_at: from_micros(r.col("expires_at")?)?,
        created_by: actor(&r.col::<String>("created_by")?)?,
    })
}

impl Store {
    /// Opens an upload session for a new file `name` in `parent`, or for the content of `item`.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_upload_session(
        &self,
        w: Writer<'_>,
        drive_id: &str,
        parent: Option<&str>,
        item: Option<&str>,
        name: &str,
        conflict: Conflict,
        size: Option<u64>,
        expires_at: Timestamp,
    ) -> StoreResult<UploadSessionRecord> {
        let id = new_id();
        self.write(Lock::Tenant(w.tenant), async |tx| {
            exec!(
                tx,
                "INSERT INTO upload_sessions (tenant_id, id, drive_id, parent_id, item_id, name, conflict, size, received, \
                 chunks, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, '[]', ?, ?)",
                w.tenant,
                id.as_str(),
                drive_id,
                parent,
                item,
                name,
                conflict_name(conflict),
                size.map(|s| s as i64),
                micros(expires_at),
                actor_json(w.actor),
            )
            .await?;
            Ok(())
        })
        .await?;
        self.upload_session(w.tenant, &id).await?.ok_or(StoreError::ItemNotFound)
    }

    /// A live session (expired ones are gone, whether or not the sweep removed them yet).
    pub async fn upload_session(&self, tenant: &str, id: &str) -> StoreResult<Option<UploadSessionRecord>> {
        self.read_row(
            "SELECT * FROM upload_sessions WHERE tenant_id = ? AND id = ?",
            args![tenant, id],
            session_from_row,
        )
        .await
    }

    /// Takes a fragment stored as `chunks` (`len` bytes) at offset `from`, if that is where the
    /// session stands; records the size the fragment declared, the manifest that keeps the chunks so
    /// far, and the new expiry. False if another fragment got there first.
    #[allow(clippy::too_many_arguments)]
    pub async fn append_upload(
        &self,
        tenant: &str,
        id: &str,
        from: u64,
        all_chunks: &[ChunkRef],
        len: u64,
        size: u64,
        tree: &BlobId,
        expires_at: Timestamp,
    ) -> StoreResult<bool> {
        let taken = self
            .write(Lock::Tenant(tenant), async |tx| {
                let done = exec!(
                    tx,
                    "UPDATE upload_sessions SET received = ?, chunks = ?, size = ?, tree_id = ?, expires_at = ? \
                     WHERE tenant_id = ? AND id = ? AND received = ?",
                    (from + len) as i64,
                    chunks_json(all_chunks),
                    size as i64,
                    tree.to_hex(),
                    micros(expires_at),
                    tenant,
                    id,
                    from as i64,
                )
                .await?;
                Ok(done)
            })
            .await?;
        Ok(taken == 1)
    }

    pub async fn delete_upload_session(&self, tenant: &str, id: &str) -> StoreResult<bool> {
        let gone = self
            .write(Lock::Tenant(tenant), async |tx| {
                exec!(tx, "DELETE FROM upload_sessions WHERE tenant_id = ? AND id = ?", tenant, id).await
            })
            .await?;
        Ok(gone == 1)
    }

    /// Removes the sessions that expired by `now`; how many.
    pub async fn purge_upload_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(Lock::All, async |tx| {
            exec!(tx, "DELETE FROM upload_sessions WHERE expires_at <= ?", micros(now)).await
        })
        .await
    }
}
