-- Back to VARCHAR(64) when every stored secret fits in it. A sealed secret
-- does not, and cutting it would destroy it for good (a later `up` could
-- no longer open it), so while any is stored the column stays wide, which
-- the versions before 0019 read as they read VARCHAR(64). They take a
-- sealed secret for a clear one: those keys' S3 requests fail with
-- SignatureDoesNotMatch there, their API keys keep working, and they work
-- again once this migration is back up with the same key file.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM api_keys WHERE length(secret_access_key) > 64) THEN
        RAISE NOTICE 'api_keys.secret_access_key stays VARCHAR(128): it holds sealed secrets';
    ELSE
        ALTER TABLE api_keys ALTER COLUMN secret_access_key TYPE VARCHAR(64);
    END IF;
END
$$;
