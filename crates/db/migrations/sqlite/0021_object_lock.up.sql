-- S3 Object Lock. A bucket's configuration: NULL (Object Lock not
-- enabled) or a JSON object with its default retention, `{}` when it has
-- none (`{"mode":"GOVERNANCE","days":30}`, or `"years"`). Once enabled it
-- is never disabled, as on S3.
ALTER TABLE buckets ADD COLUMN object_lock TEXT;
-- Each version's lock, on its current row and on its noncurrent one alike
-- (the columns move with the version between the two tables):
-- `lock_mode` 'GOVERNANCE' or 'COMPLIANCE' with `lock_until` (the
-- retain-until date, in the fixed-width UTC format every time here has,
-- so that text order is time order), both NULL without a retention; and
-- the legal hold.
ALTER TABLE objects ADD COLUMN lock_mode TEXT;
ALTER TABLE objects ADD COLUMN lock_until TEXT;
ALTER TABLE objects ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
ALTER TABLE object_versions ADD COLUMN lock_mode TEXT;
ALTER TABLE object_versions ADD COLUMN lock_until TEXT;
ALTER TABLE object_versions ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0;
