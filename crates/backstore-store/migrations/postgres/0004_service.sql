-- The Backup Storage service state of each tenant (`serviceStatus`); no row means disabled.
CREATE TABLE tenants (
    tenant_id            TEXT COLLATE "C"    PRIMARY KEY,
    status               TEXT COLLATE "C"    NOT NULL,           -- backupServiceStatus: disabled | enabled | ...
    consumer             TEXT COLLATE "C"    NOT NULL,           -- backupServiceConsumer: firstparty | thirdparty
    app_owner_tenant_id  TEXT COLLATE "C"    NOT NULL,
    last_modified_at     BIGINT NOT NULL,
    last_modified_by     TEXT COLLATE "C"    NOT NULL            -- JSON of backstore_domain::Actor
);
