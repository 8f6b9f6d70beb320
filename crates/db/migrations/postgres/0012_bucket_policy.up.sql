-- S3 bucket policy and Block Public Access: the policy document as the
-- owner put it (NULL: none), and the four Block Public Access settings as
-- JSON (NULL once the owner deleted them). Every bucket, existing or new,
-- starts with all four settings on, as S3 does for buckets created since
-- April 2023, so nothing becomes public without two explicit steps.
ALTER TABLE buckets ADD COLUMN policy TEXT;
ALTER TABLE buckets ADD COLUMN public_access_block TEXT DEFAULT '{"block_public_acls":true,"ignore_public_acls":true,"block_public_policy":true,"restrict_public_buckets":true}';
