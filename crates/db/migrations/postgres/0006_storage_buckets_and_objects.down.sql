DROP INDEX objects_blob_id_idx;
ALTER TABLE objects
    DROP CONSTRAINT objects_bucket_fk,
    DROP COLUMN headers,
    DROP COLUMN user_metadata,
    DROP COLUMN etag,
    DROP COLUMN blob_id;
ALTER TABLE objects ALTER COLUMN arn TYPE VARCHAR(512);
ALTER TABLE objects ADD CONSTRAINT objects_arn_key UNIQUE (arn);
-- Fails on keys the seed schema cannot hold (NUL bytes, over 512 characters).
ALTER TABLE objects ALTER COLUMN key TYPE VARCHAR(512) USING convert_from(key, 'UTF8');
DROP INDEX buckets_owner_name_idx;
DROP TABLE buckets;
