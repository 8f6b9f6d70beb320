ALTER TABLE objects DROP COLUMN replaced_blob_id;
