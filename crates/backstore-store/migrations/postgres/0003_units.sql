-- Who created a protection unit and how it came into its policy.
ALTER TABLE protection_units ADD COLUMN created_by TEXT COLLATE "C";           -- JSON of backstore_domain::Actor
ALTER TABLE protection_units ADD COLUMN protection_sources TEXT COLLATE "C" NOT NULL DEFAULT 'manual';
CREATE INDEX protection_units_by_kind ON protection_units (tenant_id, workload, seq);
