-- PostgreSQL's migration 0027 replaces the foreign key from each artifact to its session with a
-- trigger (its check locked the session's row once per artifact). SQLite checks the key with one
-- index lookup and no lock, so it stays here; this version keeps both dialects at the same schema
-- version, which state archives name.
SELECT 1;
