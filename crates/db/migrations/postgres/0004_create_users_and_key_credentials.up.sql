-- Identity: users own everything; each API key carries an AWS-style
-- access key id and the secret SigV4 verification needs in clear.
CREATE TABLE users (
    id UUID PRIMARY KEY,
    name VARCHAR(63) NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

ALTER TABLE api_keys
    ADD COLUMN prefix VARCHAR(16),
    ADD COLUMN access_key_id VARCHAR(32),
    ADD COLUMN secret_access_key VARCHAR(64),
    ADD CONSTRAINT api_keys_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;

CREATE UNIQUE INDEX api_keys_access_key_id_idx ON api_keys (access_key_id);
CREATE INDEX api_keys_user_created_idx ON api_keys (user_id, created_at, id);
