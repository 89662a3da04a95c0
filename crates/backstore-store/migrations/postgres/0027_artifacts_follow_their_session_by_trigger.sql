-- The foreign key from each artifact to its session was checked once per artifact row, and each
-- check locked the session's row again (FOR KEY SHARE): 50 of them took 3.8 ms, three quarters of
-- a create of 50 artifacts (`docs/performance.md`, twelfth round), where the key to the restore
-- point, a different row each time, took 0.8 ms. Every write that adds artifacts reads their
-- session in its own transaction, under the tenant's lock that deleting the session also takes, so
-- the check found what the write had just read. What the key did on a session's deletion (its
-- artifacts go with it) is this trigger's now.
ALTER TABLE restore_artifacts DROP CONSTRAINT restore_artifacts_tenant_id_session_id_fkey;

CREATE FUNCTION restore_artifacts_go_with_their_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM restore_artifacts WHERE tenant_id = OLD.tenant_id AND session_id = OLD.id;
    RETURN OLD;
END
$$;

CREATE TRIGGER restore_sessions_take_their_artifacts AFTER DELETE ON restore_sessions
    FOR EACH ROW EXECUTE FUNCTION restore_artifacts_go_with_their_session();
