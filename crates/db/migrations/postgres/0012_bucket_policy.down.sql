ALTER TABLE buckets DROP COLUMN public_access_block;
ALTER TABLE buckets DROP COLUMN policy;
