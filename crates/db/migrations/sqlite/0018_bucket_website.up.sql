-- S3 static website hosting: a bucket's website configuration (its
-- validated index and error documents and routing rules, or its
-- redirect of every request, as JSON), or NULL when it has none. It lives
-- on the bucket's row, so deleting the bucket drops it, and
-- Put/DeleteBucketWebsite are one UPDATE that also checks the owner.
ALTER TABLE buckets ADD COLUMN website TEXT;
