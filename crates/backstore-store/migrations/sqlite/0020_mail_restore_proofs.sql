-- A mailbox restored in place keeps what the restore point does not hold (mail that arrived
-- later), and no restore brings drafts back, so a mailbox's restore proof compares digests rather
-- than roots: one over the point's restorable folders and messages, one over what the restore left
-- of them (by folder path, bytes and state; `new` restores' copies have ids of their own).
ALTER TABLE restore_proofs ADD COLUMN point_digest TEXT;
ALTER TABLE restore_proofs ADD COLUMN written_digest TEXT;
