-- PostgreSQL's migration 0028 drops the foreign key from each artifact to its restore point (its
-- check locked the point's row once per artifact). SQLite checks the key with one index lookup and
-- no lock, and a create whose points were checked before its write turn relies on it, so it stays
-- here; this version keeps both dialects at the same schema version, which state archives name.
SELECT 1;
