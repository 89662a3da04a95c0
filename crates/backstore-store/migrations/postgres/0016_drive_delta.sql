-- Delta queries: every write to a drive takes the next number of the drive's counter, and every item
-- it changes (the item, the folders above it, everything a delete removes) records it. A delta
-- token is a number: what changed since is what has a higher one. Deleted items stay as rows
-- (`deleted_at`) so a delta can report them.
ALTER TABLE drives ADD COLUMN delta_counter BIGINT NOT NULL DEFAULT 0;
ALTER TABLE drive_items ADD COLUMN delta_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX drive_items_by_delta ON drive_items (tenant_id, drive_id, delta_seq, item_id);
