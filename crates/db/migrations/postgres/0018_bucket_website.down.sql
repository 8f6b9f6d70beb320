ALTER TABLE buckets DROP COLUMN website;
