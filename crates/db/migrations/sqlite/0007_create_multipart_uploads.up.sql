-- S3 multipart uploads in progress and their parts. A part's bytes are a
-- blob like any object body; the parts table is what keeps the start-up
-- sweep from removing them. Keys are BLOBs, like object keys: byte order,
-- and NUL allowed. No foreign key to buckets: an
-- upload outliving its bucket is unreachable (every access checks the
-- bucket's owner) and expires.
CREATE TABLE multipart_uploads (
    id TEXT PRIMARY KEY,
    bucket VARCHAR(63) NOT NULL,
    key BLOB NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT,
    user_metadata TEXT NOT NULL DEFAULT '{}',
    headers TEXT NOT NULL DEFAULT '{}',
    initiated_at TEXT NOT NULL
);

CREATE INDEX multipart_uploads_listing_idx ON multipart_uploads (bucket, key, initiated_at, id);
CREATE INDEX multipart_uploads_initiated_idx ON multipart_uploads (initiated_at);

CREATE TABLE multipart_parts (
    upload_id TEXT NOT NULL REFERENCES multipart_uploads (id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    blob_id TEXT NOT NULL,
    size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
    etag VARCHAR(64) NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);

CREATE INDEX multipart_parts_blob_idx ON multipart_parts (blob_id);
