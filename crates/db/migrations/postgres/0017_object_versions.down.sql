DROP TABLE object_versions;
ALTER TABLE objects DROP COLUMN versioned;
ALTER TABLE buckets DROP COLUMN versioning;
