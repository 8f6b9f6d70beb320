DROP INDEX api_keys_user_created_idx;
DROP INDEX api_keys_access_key_id_idx;
ALTER TABLE api_keys DROP COLUMN secret_access_key;
ALTER TABLE api_keys DROP COLUMN access_key_id;
ALTER TABLE api_keys DROP COLUMN prefix;
DROP TABLE users;
