-- Storage: buckets with owners, and what objects need for the blob engine
-- and for S3. Bucket names are global (S3 rules, at most 63 characters).
CREATE TABLE buckets (
    name TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX buckets_owner_name_idx ON buckets (owner_id, name);

-- Keys: SQLite does not enforce VARCHAR(512), so the seed column already
-- holds 1,024-byte keys. The repository stores keys as BLOBs, which compare
-- bytewise (S3's listing order) and may contain NUL; the UNIQUE
-- (bucket, key) autoindex is the ordered index a prefix listing scans.
ALTER TABLE objects ADD COLUMN blob_id TEXT;
ALTER TABLE objects ADD COLUMN etag VARCHAR(64);
ALTER TABLE objects ADD COLUMN user_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE objects ADD COLUMN headers TEXT NOT NULL DEFAULT '{}';

-- The start-up sweep asks which blobs are referenced.
CREATE UNIQUE INDEX objects_blob_id_idx ON objects (blob_id);
