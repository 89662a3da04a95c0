-- Mailboxes are trees of the live-tree tables: a drive of the kind `mailbox` per user (its resource
-- `mailbox:<user id>`, beside the user's OneDrive), whose folders are the mail folders. What a
-- workload keeps about an item beyond a file's columns (a folder's `isHidden`) is a JSON object of
-- strings, copied into the item's manifest entry by every snapshot.
ALTER TABLE drive_items ADD COLUMN props TEXT;
