-- A legal hold never put on a version is told apart from one put OFF, as
-- S3 tells them apart: GetObjectLegalHold of the first is 404
-- `NoSuchObjectLockConfiguration`, of the second 200 `OFF`, and HeadObject
-- sends `x-amz-object-lock-legal-hold` only once a hold was put. NULL is
-- "never set", TRUE ON, FALSE OFF; new versions get NULL unless their
-- write names a hold.
ALTER TABLE objects ALTER COLUMN legal_hold DROP NOT NULL,
                    ALTER COLUMN legal_hold DROP DEFAULT;
ALTER TABLE object_versions ALTER COLUMN legal_hold DROP NOT NULL,
                            ALTER COLUMN legal_hold DROP DEFAULT;

-- Until now FALSE was both "never set" and "OFF". A row whose bucket has
-- no Object Lock never had a hold: every way of putting one (the write's
-- header, PutObjectLegalHold) is refused on such a bucket, and Object Lock
-- is never disabled once enabled. Its FALSE becomes NULL. In a bucket with
-- Object Lock, FALSE may be a hold put OFF: it stays OFF, as it answered
-- before (a hold put OFF is never turned into "never set"). TRUE stays ON.
-- Delete markers have no lock: theirs is NULL.
UPDATE objects SET legal_hold = NULL
 WHERE NOT legal_hold
   AND NOT EXISTS (SELECT 1 FROM buckets AS b
                    WHERE b.name = objects.bucket AND b.object_lock IS NOT NULL);
UPDATE object_versions SET legal_hold = NULL
 WHERE NOT legal_hold
   AND (delete_marker
        OR NOT EXISTS (SELECT 1 FROM buckets AS b
                        WHERE b.name = object_versions.bucket AND b.object_lock IS NOT NULL));
