DROP INDEX instances_client_token_idx;
ALTER TABLE instances DROP COLUMN launch_digest;
ALTER TABLE instances DROP COLUMN client_token;
ALTER TABLE instances DROP COLUMN launch_index;
ALTER TABLE instances DROP COLUMN launch_first;
