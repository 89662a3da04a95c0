-- A restore point of a site or OneDrive unit holds its drive's tree at that moment: the root
-- manifest of the drive's newest snapshot when the point was taken (NULL for units without a drive,
-- and for mailboxes until mail is stored). A drive remembers the root of its newest snapshot.
ALTER TABLE restore_points ADD COLUMN content_root TEXT;
ALTER TABLE drives ADD COLUMN last_root TEXT;

-- The folders a snapshot has to write manifests for.
CREATE INDEX drive_items_changed ON drive_items (tenant_id, drive_id) WHERE tree_id IS NULL AND is_folder = 1;
