-- A page of artifacts joins every artifact to its restore point and the point to its unit. Joined by
-- the parent's row key (its seq) each join is one descent of an integer index instead of one of a
-- text index on (tenant_id, id). The text keys stay what the foreign keys check; these copies are
-- written with each row, from the parent as the write read it, and never change.
ALTER TABLE restore_points ADD COLUMN unit_seq BIGINT;
UPDATE restore_points SET unit_seq = (SELECT pu.seq FROM protection_units pu
    WHERE pu.tenant_id = restore_points.tenant_id AND pu.id = restore_points.protection_unit_id);
ALTER TABLE restore_points ALTER COLUMN unit_seq SET NOT NULL;
ALTER TABLE restore_artifacts ADD COLUMN point_seq BIGINT;
UPDATE restore_artifacts SET point_seq = (SELECT rp.seq FROM restore_points rp
    WHERE rp.tenant_id = restore_artifacts.tenant_id AND rp.id = restore_artifacts.restore_point_id);
ALTER TABLE restore_artifacts ALTER COLUMN point_seq SET NOT NULL;
