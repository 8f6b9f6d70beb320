-- "Never set" reads as OFF again, as it did before 0028; the column is
-- remade NOT NULL DEFAULT 0, as 0021 made it.
ALTER TABLE object_versions ADD COLUMN legal_hold_old INTEGER NOT NULL DEFAULT 0;
UPDATE object_versions SET legal_hold_old = COALESCE(legal_hold, 0);
ALTER TABLE object_versions DROP COLUMN legal_hold;
ALTER TABLE object_versions RENAME COLUMN legal_hold_old TO legal_hold;

ALTER TABLE objects ADD COLUMN legal_hold_old INTEGER NOT NULL DEFAULT 0;
UPDATE objects SET legal_hold_old = COALESCE(legal_hold, 0);
ALTER TABLE objects DROP COLUMN legal_hold;
ALTER TABLE objects RENAME COLUMN legal_hold_old TO legal_hold;
