-- S3 bucket tagging: a bucket's tag set as a JSON array of [key, value]
-- pairs in the order they were put, or NULL when it has none (S3 answers
-- GetBucketTagging with NoSuchTagSet then). It lives on the bucket's row,
-- so deleting the bucket drops it, and Put/DeleteBucketTagging are one
-- UPDATE that also checks the owner.
ALTER TABLE buckets ADD COLUMN tags TEXT;
