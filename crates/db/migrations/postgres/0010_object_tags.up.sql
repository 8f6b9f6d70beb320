-- S3 object tags: an object's tag set, and the one a multipart upload will
-- give its object, as a JSON array of [key, value] pairs in the order they
-- were given ('[]': no tags). They live on the object's row, so the one
-- upsert that commits a write stores them, replacing or deleting the object
-- drops them with the row, and PutObjectTagging is one UPDATE of the column.
ALTER TABLE objects ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE multipart_uploads ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
