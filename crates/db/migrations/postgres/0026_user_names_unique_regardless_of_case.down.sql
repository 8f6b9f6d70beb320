DROP INDEX users_name_lower_idx;
ALTER TABLE users DROP COLUMN name_case_duplicate;
