-- backstore schema v1 (SQLite). Every table leads with tenant_id; every query filters on it.
-- Times are microseconds since the Unix epoch (UTC), so both backends store and sort them alike.

CREATE TABLE protection_units (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    workload             TEXT    NOT NULL,           -- sharePoint | exchange | oneDrive
    policy_id            TEXT,
    status               TEXT    NOT NULL,
    site_id              TEXT,
    site_name            TEXT,
    site_web_url         TEXT,
    directory_object_id  TEXT,
    display_name         TEXT,
    email                TEXT,
    created_at           INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
);

CREATE TABLE restore_points (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    protection_unit_id   TEXT    NOT NULL,
    protection_at        INTEGER NOT NULL,
    expiration_at        INTEGER NOT NULL,
    tags                 TEXT    NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, protection_unit_id) REFERENCES protection_units (tenant_id, id)
);
CREATE INDEX restore_points_by_unit ON restore_points (tenant_id, protection_unit_id, protection_at);

CREATE TABLE restore_sessions (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    workload             TEXT    NOT NULL,
    restore_job_type     TEXT    NOT NULL,
    activated_at         INTEGER,
    created_at           INTEGER NOT NULL,
    created_by           TEXT    NOT NULL,           -- JSON of backstore_domain::Actor
    last_modified_at     INTEGER NOT NULL,
    last_modified_by     TEXT    NOT NULL,
    -- Derived from the artifacts by backstore_domain::derive_session, refreshed in the same
    -- transaction as every artifact change; kept for filtering and the activation limit.
    status               TEXT    NOT NULL,
    total                INTEGER NOT NULL DEFAULT 0,
    completed            INTEGER NOT NULL DEFAULT 0,
    failed               INTEGER NOT NULL DEFAULT 0,
    in_progress          INTEGER NOT NULL DEFAULT 0,
    completed_at         INTEGER,
    error_code           TEXT,
    error_message        TEXT,
    UNIQUE (tenant_id, id)
);
CREATE INDEX restore_sessions_by_kind ON restore_sessions (tenant_id, workload, seq);
CREATE INDEX restore_sessions_by_status ON restore_sessions (tenant_id, status);

CREATE TABLE restore_artifacts (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    session_id           TEXT    NOT NULL,
    restore_point_id     TEXT    NOT NULL,
    destination_type     TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    start_at             INTEGER,
    completion_at        INTEGER,
    error_code           TEXT,
    error_message        TEXT,
    restored_site_id     TEXT,
    restored_site_name   TEXT,
    restored_site_web_url TEXT,
    restored_folder_id   TEXT,
    restored_folder_name TEXT,
    restored_item_count  INTEGER,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES restore_sessions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, restore_point_id) REFERENCES restore_points (tenant_id, id)
);
CREATE INDEX restore_artifacts_by_session ON restore_artifacts (tenant_id, session_id, seq);
CREATE INDEX restore_artifacts_in_flight ON restore_artifacts (status)
    WHERE status IN ('scheduling', 'scheduled', 'inProgress');

-- The n of the next `R<n>` URL for `new` restores of one original site or OneDrive.
CREATE TABLE restore_url_counters (
    tenant_id            TEXT    NOT NULL,
    original_url         TEXT    NOT NULL,
    next_suffix          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, original_url)
);
