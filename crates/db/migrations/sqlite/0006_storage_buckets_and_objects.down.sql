DROP INDEX objects_blob_id_idx;
ALTER TABLE objects DROP COLUMN headers;
ALTER TABLE objects DROP COLUMN user_metadata;
ALTER TABLE objects DROP COLUMN etag;
ALTER TABLE objects DROP COLUMN blob_id;
DROP INDEX buckets_owner_name_idx;
DROP TABLE buckets;
