-- The content store's index (crate backstore-content): which immutable pack in the object store
-- holds which blob (a chunk of content or a folder manifest), per tenant. Ids are lowercase hex of
-- 32-byte BLAKE3 hashes. Every process reads the same index, so they deduplicate against each other.
CREATE TABLE content_packs (
    tenant_id TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- When the pack was recorded (real time, microseconds): garbage collection's grace period runs
    -- on it.
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, pack_id)
);

CREATE TABLE content_blobs (
    tenant_id TEXT NOT NULL,
    blob_id TEXT NOT NULL,
    -- 0: a chunk of content, 1: a folder manifest.
    kind INTEGER NOT NULL,
    pack_id TEXT NOT NULL,
    pack_offset BIGINT NOT NULL,
    length BIGINT NOT NULL,
    -- Garbage collection's first phase: when a pass last found the blob referenced by nothing
    -- (NULL: referenced, or not looked at). A writer that deduplicates against a condemned blob
    -- clears this; the second phase removes only blobs condemned for longer than the grace period
    -- and still unreferenced.
    condemned_at BIGINT,
    PRIMARY KEY (tenant_id, blob_id)
);

CREATE INDEX content_blobs_by_pack ON content_blobs (tenant_id, pack_id);
