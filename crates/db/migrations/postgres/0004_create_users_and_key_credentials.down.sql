DROP INDEX api_keys_user_created_idx;
DROP INDEX api_keys_access_key_id_idx;
ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_user_fk,
    DROP COLUMN secret_access_key,
    DROP COLUMN access_key_id,
    DROP COLUMN prefix;
DROP TABLE users;
