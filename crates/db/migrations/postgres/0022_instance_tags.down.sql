ALTER TABLE instances DROP COLUMN tags;
