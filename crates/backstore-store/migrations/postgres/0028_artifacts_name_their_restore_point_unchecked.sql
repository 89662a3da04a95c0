-- The foreign key from each artifact to its restore point was checked once per artifact row, each
-- check locking the point's row (FOR KEY SHARE): 0.8 ms of the 1.1 ms insert of a create of 50
-- (`docs/performance.md`, thirteenth round). Every write that adds artifacts reads their points in
-- its own transaction (their keys come from that read), under the tenant's write lock; points are
-- deleted only by the retention pass, which holds the lock every tenant's writes share, and by a
-- tenant's reset, under that tenant's lock, with its artifacts. Either way a deletion checks for
-- artifacts naming the point itself, so the key found what the write had just read.
ALTER TABLE restore_artifacts DROP CONSTRAINT restore_artifacts_tenant_id_restore_point_id_fkey;
