-- Inclusion rules of policies, group memberships in the directory (what `memberOf` in a rule
-- looks at), service apps, and the tenant's e-mail notification setting.

CREATE TABLE protection_rules (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    policy_id            TEXT    NOT NULL,
    workload             TEXT    NOT NULL,           -- site | mailbox | drive
    expression           TEXT    NOT NULL,
    status               TEXT    NOT NULL,           -- active | completed | completedWithErrors | deleteRequested
    error                TEXT,                       -- JSON {code, message, details: [{code, message, target}]}
    created_at           INTEGER NOT NULL,
    created_by           TEXT    NOT NULL,
    last_modified_at     INTEGER NOT NULL,
    last_modified_by     TEXT    NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX protection_rules_by_policy ON protection_rules (tenant_id, policy_id, seq);
CREATE INDEX protection_rules_by_kind ON protection_rules (tenant_id, workload, seq);

-- The rule that last brought a unit into its policy (deleteAndUnprotect takes those units out).
ALTER TABLE protection_units ADD COLUMN rule_id TEXT;
CREATE INDEX protection_units_by_rule ON protection_units (tenant_id, rule_id);

CREATE TABLE directory_groups (
    tenant_id            TEXT    NOT NULL,
    directory_object_id  TEXT    NOT NULL,
    group_id             TEXT    NOT NULL COLLATE NOCASE,
    PRIMARY KEY (tenant_id, directory_object_id, group_id)
);

CREATE TABLE service_apps (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    application_id       TEXT    NOT NULL,
    application_name     TEXT,
    activated_at         INTEGER,
    deactivated_at       INTEGER,
    registered_at        INTEGER NOT NULL,
    last_modified_at     INTEGER NOT NULL,
    last_modified_by     TEXT    NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX service_apps_by_tenant ON service_apps (tenant_id, seq);

CREATE TABLE notification_settings (
    tenant_id            TEXT    PRIMARY KEY,
    settings             TEXT    NOT NULL            -- the emailNotificationsSetting's members, JSON
);
