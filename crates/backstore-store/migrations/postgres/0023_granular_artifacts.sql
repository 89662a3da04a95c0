-- Granular restore artifacts live beside the standard ones of their session, told apart by `kind`.
-- A granular site or OneDrive artifact is a file or folder chosen in a browse session: its id on
-- the wire is the client's item key (`item_key`), kept apart from the row's own id because the same
-- item may be restored by several sessions. A granular mailbox artifact restores what a mail search
-- matched (`search_response_id`). What a granular restore wrote is named by the `restored_item_*`.
ALTER TABLE restore_artifacts ADD COLUMN kind TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE restore_artifacts ADD COLUMN browse_session_id TEXT;
ALTER TABLE restore_artifacts ADD COLUMN item_key TEXT;
ALTER TABLE restore_artifacts ADD COLUMN search_response_id TEXT;
ALTER TABLE restore_artifacts ADD COLUMN web_url TEXT;
ALTER TABLE restore_artifacts ADD COLUMN restored_item_key TEXT;
ALTER TABLE restore_artifacts ADD COLUMN restored_item_path TEXT;
ALTER TABLE restore_artifacts ADD COLUMN restored_item_web_url TEXT;
CREATE INDEX restore_artifacts_by_item_key ON restore_artifacts (tenant_id, session_id, item_key)
    WHERE item_key IS NOT NULL;
-- A delta asks whether a session holds granular artifacts (a session holds one kind or the other):
-- a seek in this partial index, not a walk through a big standard session's rows.
CREATE INDEX restore_artifacts_granular ON restore_artifacts (tenant_id, session_id, destination_type)
    WHERE kind = 'granular';
