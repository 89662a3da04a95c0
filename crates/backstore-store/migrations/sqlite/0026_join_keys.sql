-- A page of artifacts joins every artifact to its restore point and the point to its unit. Joined by
-- (tenant_id, id) each join is a descent of a text index and then of the table; joined by the
-- parent's row key (its seq) it is one descent of the table, by an integer. The text keys stay
-- what the foreign keys check; these copies are written with each row, from the parent as the
-- write read it, and never change (a row's parent never does).
ALTER TABLE restore_points ADD COLUMN unit_seq INTEGER;
UPDATE restore_points SET unit_seq = (SELECT pu.seq FROM protection_units pu
    WHERE pu.tenant_id = restore_points.tenant_id AND pu.id = restore_points.protection_unit_id);
ALTER TABLE restore_artifacts ADD COLUMN point_seq INTEGER;
UPDATE restore_artifacts SET point_seq = (SELECT rp.seq FROM restore_points rp
    WHERE rp.tenant_id = restore_artifacts.tenant_id AND rp.id = restore_artifacts.restore_point_id);
