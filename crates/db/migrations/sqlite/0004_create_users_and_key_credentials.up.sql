-- Identity: users own everything; each API key carries an AWS-style
-- access key id and the secret SigV4 verification needs in clear.
-- SQLite cannot add a foreign key to an existing table; the repository
-- deletes a user's keys with the user instead.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name VARCHAR(63) NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

ALTER TABLE api_keys ADD COLUMN prefix VARCHAR(16);
ALTER TABLE api_keys ADD COLUMN access_key_id VARCHAR(32);
ALTER TABLE api_keys ADD COLUMN secret_access_key VARCHAR(64);

CREATE UNIQUE INDEX api_keys_access_key_id_idx ON api_keys (access_key_id);
CREATE INDEX api_keys_user_created_idx ON api_keys (user_id, created_at, id);
