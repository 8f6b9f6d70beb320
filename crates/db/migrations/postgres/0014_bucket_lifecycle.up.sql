-- S3 bucket lifecycle: a bucket's lifecycle configuration (its validated
-- rules, as JSON), or NULL when it has none. It lives on the bucket's row,
-- so deleting the bucket drops it, and Put/DeleteBucketLifecycle are one
-- UPDATE that also checks the owner. The lifecycle sweep reads the buckets
-- where it is set.
ALTER TABLE buckets ADD COLUMN lifecycle TEXT;
