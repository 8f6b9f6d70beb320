-- Buckets are listed in byte order of names (`ORDER BY name COLLATE "C"`),
-- a page at a time from a position. buckets_owner_name_idx is in the
-- database's default collation, which need not be "C" (en_US.UTF-8 sorts
-- '-' and '.' elsewhere), so it could serve neither that order nor the
-- page's bounds: every page read and sorted the owner's whole list. This
-- index is in "C", and replaces the old one (which served nothing else:
-- name lookups use the primary key, and this one leads with owner_id too).
CREATE INDEX buckets_owner_name_c_idx ON buckets (owner_id, name COLLATE "C");
DROP INDEX buckets_owner_name_idx;
