-- Mailboxes are trees of the live-tree tables: a drive of the kind `mailbox` per user (its resource
-- `mailbox:<user id>`, beside the user's OneDrive), whose folders are the mail folders. What a
-- workload keeps about an item beyond a file's columns (a folder's `isHidden`) is a JSON object of
-- strings, copied into the item's manifest entry by every snapshot.
ALTER TABLE drive_items ADD COLUMN props TEXT;

-- A message is a file of its mailbox's tree (its content the MIME, its name its id); what Graph
-- lists and filters messages by is kept here, one row per message, beside its item. A message's
-- state that a restore brings back (read, flags, categories) is also in its item's `props`, so
-- the snapshots hold it.
CREATE TABLE mail_messages (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    from_name TEXT,
    from_address TEXT,
    -- JSON arrays of {"name", "address"}.
    to_recipients TEXT NOT NULL,
    cc_recipients TEXT NOT NULL,
    bcc_recipients TEXT NOT NULL,
    reply_to TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    sent_at BIGINT,
    has_attachments BIGINT NOT NULL,
    is_read BIGINT NOT NULL,
    is_draft BIGINT NOT NULL,
    importance TEXT NOT NULL,
    -- A JSON array of strings.
    categories TEXT NOT NULL,
    flag_status TEXT NOT NULL,
    internet_message_id TEXT,
    conversation_id TEXT NOT NULL,
    body_preview TEXT NOT NULL,
    UNIQUE (tenant_id, drive_id, item_id)
);

CREATE INDEX mail_messages_by_received ON mail_messages (tenant_id, drive_id, received_at);

-- A folder's message delta reports what left the folder since a token: each move of a message
-- records the folder it left, at the mailbox's delta counter.
CREATE TABLE mail_moves (
    tenant_id TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    from_folder TEXT NOT NULL,
    delta_seq BIGINT NOT NULL
);

CREATE INDEX mail_moves_by_folder ON mail_moves (tenant_id, drive_id, from_folder, delta_seq);
