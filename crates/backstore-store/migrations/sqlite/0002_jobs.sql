-- The durable job queue of the restore engine, its history, and fault marks on protection units.

CREATE TABLE jobs (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    id                   TEXT    NOT NULL,
    kind                 TEXT    NOT NULL,           -- restoreArtifact
    session_id           TEXT    NOT NULL,
    artifact_id          TEXT    NOT NULL,
    state                TEXT    NOT NULL,           -- queued | running | done
    attempts             INTEGER NOT NULL DEFAULT 0, -- claims so far
    run_at               INTEGER NOT NULL,
    lease_owner          TEXT,
    lease_expires_at     INTEGER,
    last_error           TEXT,
    created_at           INTEGER NOT NULL,
    finished_at          INTEGER,
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, artifact_id, kind)
);
CREATE INDEX jobs_ready ON jobs (state, run_at);
CREATE INDEX jobs_leased ON jobs (state, lease_expires_at);

-- What happened to each job: claims, takeovers, retries, releases, the end. Kept for operators and tests.
CREATE TABLE job_events (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id            TEXT    NOT NULL,
    job_id               TEXT    NOT NULL,
    at                   INTEGER NOT NULL,
    worker               TEXT    NOT NULL,
    attempt              INTEGER NOT NULL,
    event                TEXT    NOT NULL,           -- claimed | takeover | retry | released | succeeded | failed | exhausted
    detail               TEXT
);
CREATE INDEX job_events_by_job ON job_events (tenant_id, job_id, seq);

-- A fault `seed --faulty-units` put on a unit: restores of it fail with this error code.
ALTER TABLE protection_units ADD COLUMN fault TEXT;
