ALTER TABLE buckets DROP COLUMN lifecycle;
