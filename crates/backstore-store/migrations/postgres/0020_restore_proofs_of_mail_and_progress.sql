-- A mailbox restored in place keeps what the restore point does not hold (mail that arrived
-- later), and no restore brings drafts back, so a mailbox's restore proof compares digests rather
-- than roots: one over the point's restorable folders and messages, one over what the restore left
-- of them (by folder path, bytes and state; `new` restores' copies have ids of their own).
ALTER TABLE restore_proofs ADD COLUMN point_digest TEXT;
ALTER TABLE restore_proofs ADD COLUMN written_digest TEXT;

-- A restore's progress (`sessions watch`, `GET /admin/restoreSessions/{id}/progress`): what it
-- writes in all, when its run started and how long the engine's pace gives it (`--restore-speed`);
-- what it has written is the planned share of that by the clock until it is written (`restored_at`).
ALTER TABLE restore_proofs ADD COLUMN items_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restore_proofs ADD COLUMN bytes_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE restore_proofs ADD COLUMN started_at BIGINT;
ALTER TABLE restore_proofs ADD COLUMN planned_micros BIGINT NOT NULL DEFAULT 0;
