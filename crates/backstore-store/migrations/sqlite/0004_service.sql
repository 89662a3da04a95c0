-- The Backup Storage service state of each tenant (`serviceStatus`); no row means disabled.
CREATE TABLE tenants (
    tenant_id            TEXT    PRIMARY KEY,
    status               TEXT    NOT NULL,           -- backupServiceStatus: disabled | enabled | ...
    consumer             TEXT    NOT NULL,           -- backupServiceConsumer: firstparty | thirdparty
    app_owner_tenant_id  TEXT    NOT NULL,
    last_modified_at     INTEGER NOT NULL,
    last_modified_by     TEXT    NOT NULL            -- JSON of backstore_domain::Actor
);
