-- S3 bucket CORS: a bucket's CORS configuration (its rules, as JSON), or
-- NULL when it has none. It lives on the bucket's row, so deleting the
-- bucket drops it, and Put/DeleteBucketCors are one UPDATE that also
-- checks the owner.
ALTER TABLE buckets ADD COLUMN cors TEXT;
