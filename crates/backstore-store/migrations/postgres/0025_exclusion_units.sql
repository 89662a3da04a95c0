-- beta's full-service protection: a policy whose protection_mode is 'fullServiceBackup' protects
-- every resource of its workload in the tenant's directory except those its exclusion units name.
-- An exclusion unit names a resource (a site id or an owner's directory object id) with the names
-- the directory had for it, as a protection unit does. Deleted with its policy.
ALTER TABLE protection_policies ADD COLUMN protection_mode TEXT NOT NULL DEFAULT 'standard';
CREATE TABLE exclusion_units (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    workload TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    site_id TEXT,
    site_name TEXT,
    site_web_url TEXT,
    directory_object_id TEXT,
    display_name TEXT,
    email TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    last_modified_at BIGINT NOT NULL,
    last_modified_by TEXT NOT NULL,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, policy_id, resource_id)
);
CREATE INDEX exclusion_units_by_workload ON exclusion_units (tenant_id, workload, seq);
-- Exclusion unit bulk addition jobs: resources named by address (site URLs, e-mail addresses),
-- resolved by the engine into exclusion units of a full-service policy.
CREATE TABLE exclusion_bulk_jobs (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    workload TEXT NOT NULL,
    display_name TEXT,
    status TEXT NOT NULL,
    addresses TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    last_modified_at BIGINT NOT NULL,
    last_modified_by TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX exclusion_bulk_jobs_by_workload ON exclusion_bulk_jobs (tenant_id, workload, seq);
