-- Nothing to do on SQLite: buckets_owner_name_idx (migration 0006) is in
-- the BINARY collation, which is byte order, so it already serves the
-- bucket listing's order and bounds. Postgres needs an index in "C"
-- (its 0016); the two lists stay numbered alike.
SELECT 1;
