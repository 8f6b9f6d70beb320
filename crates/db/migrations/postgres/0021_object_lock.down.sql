ALTER TABLE object_versions DROP COLUMN legal_hold;
ALTER TABLE object_versions DROP COLUMN lock_until;
ALTER TABLE object_versions DROP COLUMN lock_mode;
ALTER TABLE objects DROP COLUMN legal_hold;
ALTER TABLE objects DROP COLUMN lock_until;
ALTER TABLE objects DROP COLUMN lock_mode;
ALTER TABLE buckets DROP COLUMN object_lock;
