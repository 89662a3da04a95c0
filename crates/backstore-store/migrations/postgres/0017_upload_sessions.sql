-- Upload sessions (Graph's createUploadSession): a large file arrives in fragments, in order, over
-- any number of requests and processes. Each fragment goes into the content store as it arrives;
-- the session keeps the chunks so far, so a session survives a restart and the file is assembled
-- without copying anything. Expired sessions are removed by the engine's retention pass.
CREATE TABLE upload_sessions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    -- The folder the new file goes into, or the file whose content it replaces.
    parent_id TEXT,
    item_id TEXT,
    name TEXT NOT NULL,
    conflict TEXT NOT NULL,
    -- The file's size when the client declared it (fileSize, or the first Content-Range's total).
    size BIGINT,
    received BIGINT NOT NULL,
    chunks TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    -- A manifest listing the chunks so far, so garbage collection keeps them while the session lives.
    tree_id TEXT,
    PRIMARY KEY (tenant_id, id)
);
