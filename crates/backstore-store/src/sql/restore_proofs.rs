//! What each restore of content plans, writes and proves, one `restore_proofs` row per artifact
//! (Graph's entities carry none of it; `backstore sessions watch` and `sessions verify` read it
//! through the admin paths):
//!
//! - begun when the engine has read the point's tree: what the restore writes in all, when this
//!   run started and how long the engine's pace gives it (progress until it is written);
//! - started before anything is written, with the point's root and, in place, the tree just before
//!   (`replaced_root`, kept from garbage collection; the first run's is kept);
//! - counted in the transaction that writes the tree (`count_restore`, in `restores.rs`);
//! - finished with the root of a snapshot taken right after (and a mailbox's digests).

use backstore_content::BlobId;
use backstore_domain::Timestamp;

use super::read::Col;
use super::rows::{micros, opt_from_micros};
use super::Lock;
use crate::{Store, StoreResult};

/// What one artifact's restore of content plans and wrote, and whether it is what the point holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreProof {
    pub artifact_id: String,
    pub point_root: String,
    /// In place: the drive's tree just before the restore.
    pub replaced_root: Option<String>,
    /// `None` until the restore finished.
    pub written_root: Option<String>,
    /// A mailbox's (which keeps what the point does not hold): the digest of the point's
    /// restorable mail, and of what the restore left of it; the roots are not compared then.
    pub point_digest: Option<String>,
    pub written_digest: Option<String>,
    /// Empty until the restore knows where it writes.
    pub drive_id: String,
    pub items_written: u64,
    pub bytes_written: u64,
    pub items_removed: u64,
    /// What the restore writes in all (a mailbox's: all but drafts).
    pub items_total: u64,
    pub bytes_total: u64,
    /// When this run began, and how long the engine's pace gives it.
    pub started_at: Option<Timestamp>,
    pub planned: std::time::Duration,
    /// When its tree was written.
    pub restored_at: Option<Timestamp>,
}

impl RestoreProof {
    /// Whether the restore finished and wrote what the point holds.
    pub fn matches(&self) -> bool {
        match &self.point_digest {
            Some(digest) => self.written_digest.as_ref() == Some(digest),
            None => self.written_root.as_deref() == Some(self.point_root.as_str()),
        }
    }

    /// Items and bytes written by `now`: all once the tree is written; before, the share of the
    /// planned time gone by (at most 99 %: the write itself is still to come).
    pub fn done_at(&self, now: Timestamp) -> (u64, u64) {
        if self.restored_at.is_some() {
            return (self.items_total, self.bytes_total);
        }
        let Some(started) = self.started_at else { return (0, 0) };
        let elapsed = (now - started).to_std().unwrap_or_default().as_secs_f64();
        let share = match self.planned.as_secs_f64() {
            0.0 => 0.0,
            planned => (elapsed / planned).min(0.99),
        };
        ((self.items_total as f64 * share) as u64, (self.bytes_total as f64 * share) as u64)
    }
}

impl Store {
    /// Begins a run of an artifact's restore: what it writes in all, and when it is planned to end.
    /// A run after a crash begins again (its progress starts over); one whose tree was written
    /// keeps what it recorded.
    #[allow(clippy::too_many_arguments)]
    pub async fn begin_restore(
        &self,
        tenant: &str,
        artifact_id: &str,
        session_id: &str,
        point_root: &BlobId,
        items_total: u64,
        bytes_total: u64,
        started_at: Timestamp,
        planned: std::time::Duration,
    ) -> StoreResult<()> {
        let planned = i64::try_from(planned.as_micros()).unwrap_or(i64::MAX);
        self.write(Lock::Tenant(tenant), async |tx| {
            exec!(
                tx,
                "INSERT INTO restore_proofs (tenant_id, artifact_id, session_id, drive_id, point_root, items_total, \
                 bytes_total, started_at, planned_micros) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?) \
                 ON CONFLICT (tenant_id, artifact_id) DO UPDATE SET started_at = excluded.started_at, \
                 planned_micros = excluded.planned_micros WHERE restore_proofs.restored_at IS NULL",
                tenant,
                artifact_id,
                session_id,
                point_root.to_hex(),
                items_total as i64,
                bytes_total as i64,
                micros(started_at),
                planned,
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Starts the proof of an artifact's restore before anything is written: where it writes, the
    /// point's root and, in place, the drive's tree just before (kept from then on). A restore that
    /// runs again keeps the first run's tree.
    pub async fn start_restore_proof(
        &self,
        tenant: &str,
        artifact_id: &str,
        session_id: &str,
        drive_id: &str,
        point_root: &BlobId,
        replaced_root: Option<&BlobId>,
    ) -> StoreResult<()> {
        self.write(Lock::Tenant(tenant), async |tx| {
            exec!(
                tx,
                "INSERT INTO restore_proofs (tenant_id, artifact_id, session_id, drive_id, point_root, replaced_root) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, artifact_id) DO UPDATE SET \
                 drive_id = excluded.drive_id, replaced_root = COALESCE(restore_proofs.replaced_root, excluded.replaced_root)",
                tenant,
                artifact_id,
                session_id,
                drive_id,
                point_root.to_hex(),
                replaced_root.map(BlobId::to_hex),
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Ends the proof with the root of the drive's snapshot taken after the restore and, for a
    /// mailbox, the digests of the point's restorable mail and of what the restore left of it.
    pub async fn finish_restore_proof(
        &self,
        tenant: &str,
        artifact_id: &str,
        written_root: &BlobId,
        digests: Option<(BlobId, BlobId)>,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.write(Lock::Tenant(tenant), async |tx| {
            exec!(
                tx,
                "UPDATE restore_proofs SET written_root = ?, point_digest = ?, written_digest = ?, finished_at = ? \
                 WHERE tenant_id = ? AND artifact_id = ?",
                written_root.to_hex(),
                digests.map(|(p, _)| p.to_hex()),
                digests.map(|(_, w)| w.to_hex()),
                micros(at),
                tenant,
                artifact_id,
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// The proofs of a session's restores of content, by artifact id (a granular site or OneDrive
    /// artifact's shown as its item key, as Graph shows the artifact).
    pub async fn restore_proofs(&self, tenant: &str, session_id: &str) -> StoreResult<Vec<RestoreProof>> {
        let count =
            |r: &dyn super::read::Columns, c: &'static str| -> StoreResult<u64> { Ok(r.col::<i64>(c)?.max(0) as u64) };
        self.read_rows(
            super::read::Cost::Scan,
            "SELECT p.*, COALESCE(a.item_key, p.artifact_id) AS wire_id FROM restore_proofs p \
             LEFT JOIN restore_artifacts a ON a.tenant_id = p.tenant_id AND a.id = p.artifact_id \
             WHERE p.tenant_id = ? AND p.session_id = ? ORDER BY p.artifact_id",
            args![tenant, session_id],
            |r| {
                Ok(RestoreProof {
                    artifact_id: r.col("wire_id")?,
                    point_root: r.col("point_root")?,
                    replaced_root: r.col("replaced_root")?,
                    written_root: r.col("written_root")?,
                    point_digest: r.col("point_digest")?,
                    written_digest: r.col("written_digest")?,
                    drive_id: r.col("drive_id")?,
                    items_written: count(r, "items_written")?,
                    bytes_written: count(r, "bytes_written")?,
                    items_removed: count(r, "items_removed")?,
                    items_total: count(r, "items_total")?,
                    bytes_total: count(r, "bytes_total")?,
                    started_at: opt_from_micros(r.col("started_at")?)?,
                    planned: std::time::Duration::from_micros(count(r, "planned_micros")?),
                    restored_at: opt_from_micros(r.col("restored_at")?)?,
                })
            },
        )
        .await
    }
}
