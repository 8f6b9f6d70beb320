-- Storage: buckets with owners, and what objects need for the blob engine
-- and for S3. Bucket names are global (S3 rules, at most 63 characters).
CREATE TABLE buckets (
    name VARCHAR(63) PRIMARY KEY,
    owner_id UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX buckets_owner_name_idx ON buckets (owner_id, name);

-- Keys become BYTEA: S3 keys are up to 1,024 bytes of UTF-8 and may contain
-- NUL, which TEXT cannot hold; BYTEA also compares bytewise, which is S3's
-- listing order (the same order TEXT COLLATE "C" would give). The rebuilt
-- UNIQUE (bucket, key) index is the ordered index a prefix listing scans.
ALTER TABLE objects ALTER COLUMN key TYPE BYTEA USING convert_to(key, 'UTF8');

-- The ARN embeds the key, so it can exceed both 512 characters and a btree
-- entry; (bucket, key) is the real identity, so its uniqueness suffices.
ALTER TABLE objects DROP CONSTRAINT objects_arn_key;
ALTER TABLE objects ALTER COLUMN arn TYPE TEXT;

-- Owner via bucket. NOT VALID: rows written before buckets existed are not
-- checked; every new row is, and a bucket with objects cannot be deleted.
ALTER TABLE objects
    ADD COLUMN blob_id UUID,
    ADD COLUMN etag VARCHAR(64),
    ADD COLUMN user_metadata TEXT NOT NULL DEFAULT '{}',
    ADD COLUMN headers TEXT NOT NULL DEFAULT '{}',
    ADD CONSTRAINT objects_bucket_fk FOREIGN KEY (bucket) REFERENCES buckets (name) NOT VALID;

-- The start-up sweep asks which blobs are referenced.
CREATE UNIQUE INDEX objects_blob_id_idx ON objects (blob_id);
