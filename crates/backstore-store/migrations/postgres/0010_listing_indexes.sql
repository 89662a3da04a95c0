-- Sorting by creation time (newest first is what clients ask most) and seeking a keyset position
-- in that order use these; the row sequence is the implicit last column of each.
CREATE INDEX restore_sessions_by_created ON restore_sessions (tenant_id, created_at);
CREATE INDEX restore_artifacts_by_created ON restore_artifacts (tenant_id, session_id, created_at);
CREATE INDEX protection_units_by_created ON protection_units (tenant_id, created_at);
-- A delta PATCH looks up the artifacts holding the restore points it adds.
CREATE INDEX restore_artifacts_by_point ON restore_artifacts (tenant_id, session_id, restore_point_id);
