-- A write commits in one statement, an upsert, and must learn which blob it
-- replaced so that it can remove that blob once committed: the update copies
-- the old blob_id here and RETURNING hands it back. Nothing else reads it.
ALTER TABLE objects ADD COLUMN replaced_blob_id TEXT;
