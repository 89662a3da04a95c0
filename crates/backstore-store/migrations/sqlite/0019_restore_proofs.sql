-- What a restore of content wrote, one row per artifact, so `backstore sessions verify` can say
-- whether it is what the restore point holds (Graph's entities do not carry this):
-- - started before anything is written, with the point's root and, for an in-place restore, the
--   drive's tree just before (`replaced_root`, kept from garbage collection like a restore point's
--   root, so nothing a restore replaces is lost; the first run's is kept when a restore runs again);
-- - counted in the transaction that writes the restored tree (`restored_at`), once;
-- - finished with the root of a snapshot of the drive taken right after (`written_root`).
CREATE TABLE restore_proofs (
    tenant_id TEXT NOT NULL,
    artifact_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    point_root TEXT NOT NULL,
    replaced_root TEXT,
    written_root TEXT,
    items_written INTEGER NOT NULL DEFAULT 0,
    bytes_written INTEGER NOT NULL DEFAULT 0,
    items_removed INTEGER NOT NULL DEFAULT 0,
    restored_at INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (tenant_id, artifact_id)
);
