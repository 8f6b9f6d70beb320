-- S3 bucket versioning. A bucket's state: NULL (never versioned),
-- 'Enabled' or 'Suspended'; once set it never goes back to NULL (as S3).
ALTER TABLE buckets ADD COLUMN versioning TEXT;
-- Whether a row's version id is its own id (written while versioning was
-- Enabled) rather than S3's `null` version. Every row of a bucket that was
-- never versioned keeps the default, so the hot upsert never sets it.
ALTER TABLE objects ADD COLUMN versioned BOOLEAN NOT NULL DEFAULT FALSE;
-- `objects` stays the table of current versions (one row per key, what
-- GET and the listings read). Noncurrent versions and delete markers live
-- here: a versioned write moves the current row in, in the same
-- transaction, instead of freeing its blob. `seq` orders a key's versions
-- (higher is newer); a delete marker has no blob.
CREATE TABLE object_versions (
    seq BIGSERIAL PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    bucket VARCHAR(63) NOT NULL REFERENCES buckets (name),
    key BYTEA NOT NULL,
    versioned BOOLEAN NOT NULL,
    delete_marker BOOLEAN NOT NULL,
    blob_id UUID,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    etag VARCHAR(64),
    content_type TEXT,
    user_metadata TEXT NOT NULL DEFAULT '{}',
    headers TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    parts TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    noncurrent_at TIMESTAMPTZ NOT NULL
);
-- A key's versions, newest first (ListObjectVersions, promotion).
CREATE INDEX object_versions_key_idx ON object_versions (bucket, key, seq);
-- The start-up sweep asks which blobs are referenced.
CREATE UNIQUE INDEX object_versions_blob_idx ON object_versions (blob_id);
