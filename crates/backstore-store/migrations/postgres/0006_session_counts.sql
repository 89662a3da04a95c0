-- Per-status artifact counts on each session, kept in step with every artifact change, so deriving a
-- session's status costs the same for 1 artifact as for 100 000.
ALTER TABLE restore_sessions ADD COLUMN n_added BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restore_sessions ADD COLUMN n_scheduling BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restore_sessions ADD COLUMN n_scheduled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restore_sessions ADD COLUMN n_in_progress BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restore_sessions ADD COLUMN n_succeeded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restore_sessions ADD COLUMN n_failed BIGINT NOT NULL DEFAULT 0;
UPDATE restore_sessions SET
    n_added = (SELECT COUNT(*) FROM restore_artifacts a
               WHERE a.tenant_id = restore_sessions.tenant_id AND a.session_id = restore_sessions.id AND a.status = 'added'),
    n_scheduling = (SELECT COUNT(*) FROM restore_artifacts a
               WHERE a.tenant_id = restore_sessions.tenant_id AND a.session_id = restore_sessions.id AND a.status = 'scheduling'),
    n_scheduled = (SELECT COUNT(*) FROM restore_artifacts a
               WHERE a.tenant_id = restore_sessions.tenant_id AND a.session_id = restore_sessions.id AND a.status = 'scheduled'),
    n_in_progress = (SELECT COUNT(*) FROM restore_artifacts a
               WHERE a.tenant_id = restore_sessions.tenant_id AND a.session_id = restore_sessions.id AND a.status = 'inProgress'),
    n_succeeded = (SELECT COUNT(*) FROM restore_artifacts a
               WHERE a.tenant_id = restore_sessions.tenant_id AND a.session_id = restore_sessions.id AND a.status = 'succeeded'),
    n_failed = (SELECT COUNT(*) FROM restore_artifacts a
               WHERE a.tenant_id = restore_sessions.tenant_id AND a.session_id = restore_sessions.id AND a.status = 'failed');
CREATE INDEX restore_artifacts_failed ON restore_artifacts (tenant_id, session_id, completion_at) WHERE status = 'failed';
