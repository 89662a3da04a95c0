-- beta `activityLogs`: what happened to policies and restores, written in the transaction that made
-- it happen. `kind` is the subtype (`backupPolicyActivityLog`, `restoreTaskActivityLog`, …) and
-- `details` the subtype's own properties as Graph names them (JSON).
CREATE TABLE activity_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    activity_type TEXT NOT NULL,
    event_at INTEGER NOT NULL,
    performed_by TEXT,
    result_status TEXT NOT NULL,
    service_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    error_code TEXT,
    error_message TEXT,
    details TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX activity_logs_by_tenant ON activity_logs (tenant_id, seq);
CREATE INDEX activity_logs_by_time ON activity_logs (tenant_id, event_at);
