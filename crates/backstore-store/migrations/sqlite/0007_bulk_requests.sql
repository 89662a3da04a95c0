-- Restore artifact bulk addition requests: at most one per session, resolved into artifacts by the
-- engine once the session is activated.
CREATE TABLE bulk_requests (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    session_id           TEXT    NOT NULL,
    display_name         TEXT,
    destination_type     TEXT    NOT NULL,
    status               TEXT    NOT NULL,           -- active | completed | completedWithErrors
    period_start         INTEGER,
    period_end           INTEGER,
    preference           TEXT    NOT NULL,           -- latest | oldest
    tags                 TEXT,
    addresses            TEXT    NOT NULL,           -- JSON array: mailboxes / drives / siteWebUrls
    object_ids           TEXT    NOT NULL,           -- JSON array: directoryObjectIds / siteIds
    error                TEXT,                       -- JSON {code, message, details: [{code, message, target}]}
    created_at           INTEGER NOT NULL,
    created_by           TEXT    NOT NULL,
    last_modified_at     INTEGER NOT NULL,
    last_modified_by     TEXT    NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, session_id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES restore_sessions (tenant_id, id) ON DELETE CASCADE
);
