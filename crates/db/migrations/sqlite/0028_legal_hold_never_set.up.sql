-- A legal hold never put on a version is told apart from one put OFF, as
-- S3 tells them apart: GetObjectLegalHold of the first is 404
-- `NoSuchObjectLockConfiguration`, of the second 200 `OFF`, and HeadObject
-- sends `x-amz-object-lock-legal-hold` only once a hold was put. NULL is
-- "never set", 1 ON, 0 OFF; new versions get NULL unless their write
-- names a hold. SQLite cannot drop a NOT NULL in place: the column is
-- remade (added, filled, the old one dropped, the new one renamed).
--
-- Until now 0 was both "never set" and "OFF". A row whose bucket has no
-- Object Lock never had a hold: every way of putting one (the write's
-- header, PutObjectLegalHold) is refused on such a bucket, and Object Lock
-- is never disabled once enabled. Its 0 becomes NULL. In a bucket with
-- Object Lock, 0 may be a hold put OFF: it stays OFF, as it answered
-- before (a hold put OFF is never turned into "never set"). 1 stays ON.
-- Delete markers have no lock: theirs is NULL.
ALTER TABLE objects ADD COLUMN legal_hold_set INTEGER;
UPDATE objects SET legal_hold_set = CASE
    WHEN legal_hold <> 0 THEN 1
    WHEN EXISTS (SELECT 1 FROM buckets AS b
                  WHERE b.name = objects.bucket AND b.object_lock IS NOT NULL) THEN 0
END;
ALTER TABLE objects DROP COLUMN legal_hold;
ALTER TABLE objects RENAME COLUMN legal_hold_set TO legal_hold;

ALTER TABLE object_versions ADD COLUMN legal_hold_set INTEGER;
UPDATE object_versions SET legal_hold_set = CASE
    WHEN legal_hold <> 0 THEN 1
    WHEN delete_marker = 0
         AND EXISTS (SELECT 1 FROM buckets AS b
                      WHERE b.name = object_versions.bucket AND b.object_lock IS NOT NULL) THEN 0
END;
ALTER TABLE object_versions DROP COLUMN legal_hold;
ALTER TABLE object_versions RENAME COLUMN legal_hold_set TO legal_hold;
