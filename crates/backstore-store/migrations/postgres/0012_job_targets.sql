-- A job's target is an artifact, a bulk request, a policy, a unit bulk job or a rule, depending on its
-- kind: the column says so. Existing rows keep their values (a rename carries them over), and the
-- unique (tenant, target, kind) constraint follows the column.
ALTER TABLE jobs RENAME COLUMN artifact_id TO target_id;
