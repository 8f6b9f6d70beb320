-- "Never set" reads as OFF again, as it did before 0028.
UPDATE object_versions SET legal_hold = FALSE WHERE legal_hold IS NULL;
UPDATE objects SET legal_hold = FALSE WHERE legal_hold IS NULL;
ALTER TABLE object_versions ALTER COLUMN legal_hold SET DEFAULT FALSE,
                            ALTER COLUMN legal_hold SET NOT NULL;
ALTER TABLE objects ALTER COLUMN legal_hold SET DEFAULT FALSE,
                    ALTER COLUMN legal_hold SET NOT NULL;
