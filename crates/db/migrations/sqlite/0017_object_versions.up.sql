-- S3 bucket versioning. A bucket's state: NULL (never versioned),
-- 'Enabled' or 'Suspended'; once set it never goes back to NULL (as S3).
ALTER TABLE buckets ADD COLUMN versioning TEXT;
-- Whether a row's version id is its own id (written while versioning was
-- Enabled) rather than S3's `null` version. Every row of a bucket that was
-- never versioned keeps the default, so the hot upsert never sets it.
ALTER TABLE objects ADD COLUMN versioned INTEGER NOT NULL DEFAULT 0;
-- `objects` stays the table of current versions (one row per key, what
-- GET and the listings read). Noncurrent versions and delete markers live
-- here: a versioned write moves the current row in, in the same
-- transaction, instead of freeing its blob. `seq` orders a key's versions
-- (higher is newer); a delete marker has no blob.
CREATE TABLE object_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    versioned INTEGER NOT NULL,
    delete_marker INTEGER NOT NULL,
    blob_id TEXT,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    etag VARCHAR(64),
    content_type TEXT,
    user_metadata TEXT NOT NULL DEFAULT '{}',
    headers TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    parts TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    noncurrent_at TEXT NOT NULL
);
-- A key's versions, newest first (ListObjectVersions, promotion).
CREATE INDEX object_versions_key_idx ON object_versions (bucket, key, seq);
-- The start-up sweep asks which blobs are referenced.
CREATE UNIQUE INDEX object_versions_blob_idx ON object_versions (blob_id);
