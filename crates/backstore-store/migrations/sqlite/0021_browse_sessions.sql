-- Browse sessions: a SharePoint or OneDrive restore point opened for browsing (and for choosing
-- items to restore granularly). Made `created` with what the point holds (`content_root`, its size)
-- or `failed` with an error; auto-deleted by `expiration_at` (reads stop seeing it then).
CREATE TABLE browse_sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    workload TEXT NOT NULL,
    restore_point_id TEXT NOT NULL,
    protection_unit_id TEXT NOT NULL,
    site_id TEXT,
    site_name TEXT,
    site_web_url TEXT,
    directory_object_id TEXT,
    status TEXT NOT NULL,
    error_code TEXT,
    error_message TEXT,
    content_root TEXT,
    backup_size INTEGER NOT NULL DEFAULT 0,
    restore_point_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expiration_at INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
);
