-- Granular mail searches (`restorePoints/search` with an `artifactQuery`): the restore point a
-- search picked for its mailbox unit, the query, and the ids of the point's messages it matched,
-- under the `searchResponseId` returned, for `granularMailboxRestoreArtifacts` to restore exactly those.
CREATE TABLE restore_searches (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    protection_unit_id TEXT NOT NULL,
    restore_point_id TEXT NOT NULL,
    query TEXT NOT NULL,
    item_ids TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
