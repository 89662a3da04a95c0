-- Protection policies, the tenant's directory, and what units need once policies manage them.

CREATE TABLE protection_policies (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    workload             TEXT    NOT NULL,           -- site | mailbox | drive
    display_name         TEXT,
    enabled              INTEGER NOT NULL DEFAULT 0, -- activated and not deactivated since
    status               TEXT    NOT NULL,           -- backstore_domain::policy::derive_policy, kept fresh
    created_at           INTEGER NOT NULL,
    created_by           TEXT    NOT NULL,
    last_modified_at     INTEGER NOT NULL,
    last_modified_by     TEXT    NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX protection_policies_by_kind ON protection_policies (tenant_id, workload, seq);

-- The sites, mailboxes and OneDrives that exist in a tenant outside the backup service (SharePoint
-- and Entra ID in the real world): what policies, bulk jobs and bulk restores resolve names against.
CREATE TABLE directory_resources (
    tenant_id            TEXT    NOT NULL,
    workload             TEXT    NOT NULL,           -- site | mailbox | drive
    resource_id          TEXT    NOT NULL,           -- site id, or the owner's directory object id
    site_id              TEXT,
    site_name            TEXT,
    site_web_url         TEXT,
    directory_object_id  TEXT,
    display_name         TEXT,
    email                TEXT,
    fault                TEXT,                       -- restores of this resource fail with this code
    PRIMARY KEY (tenant_id, workload, resource_id)
);
CREATE INDEX directory_by_email ON directory_resources (tenant_id, workload, email COLLATE NOCASE);
CREATE INDEX directory_by_url ON directory_resources (tenant_id, workload, site_web_url COLLATE NOCASE);

ALTER TABLE protection_units ADD COLUMN resource_id TEXT;
UPDATE protection_units SET resource_id = CASE workload WHEN 'site' THEN site_id ELSE directory_object_id END;
-- Restore points are taken from here on (set each time the unit becomes protected).
ALTER TABLE protection_units ADD COLUMN protected_since INTEGER;
UPDATE protection_units SET protected_since = created_at WHERE status = 'protected';
-- How many times protection started: restore point ids are numbered within one protection period.
ALTER TABLE protection_units ADD COLUMN protection_epoch INTEGER NOT NULL DEFAULT 0;
UPDATE protection_units SET protection_epoch = 1 WHERE status = 'protected';
ALTER TABLE protection_units ADD COLUMN last_modified_at INTEGER;
ALTER TABLE protection_units ADD COLUMN last_modified_by TEXT;
ALTER TABLE protection_units ADD COLUMN offboard_requested_at INTEGER;
ALTER TABLE protection_units ADD COLUMN error_code TEXT;
ALTER TABLE protection_units ADD COLUMN error_message TEXT;
CREATE INDEX protection_units_by_resource ON protection_units (tenant_id, workload, resource_id);
CREATE INDEX protection_units_by_policy ON protection_units (tenant_id, policy_id, seq);

-- Protection-unit bulk addition jobs: resources named by address or id, turned into units of the
-- policy by the engine.
CREATE TABLE unit_bulk_jobs (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    policy_id            TEXT    NOT NULL,
    workload             TEXT    NOT NULL,
    display_name         TEXT,
    status               TEXT    NOT NULL,           -- active | completed | completedWithErrors
    addresses            TEXT    NOT NULL,           -- JSON array: siteWebUrls / mailboxes / drives
    object_ids           TEXT    NOT NULL,           -- JSON array: siteIds / directoryObjectIds
    error                TEXT,                       -- JSON {code, message, details: [{code, message, target}]}
    created_at           INTEGER NOT NULL,
    created_by           TEXT    NOT NULL,
    last_modified_at     INTEGER NOT NULL,
    last_modified_by     TEXT    NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX unit_bulk_jobs_by_policy ON unit_bulk_jobs (tenant_id, policy_id, seq);
CREATE INDEX unit_bulk_jobs_by_kind ON unit_bulk_jobs (tenant_id, workload, seq);
