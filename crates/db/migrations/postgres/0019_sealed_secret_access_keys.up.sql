-- SigV4 secret access keys are stored sealed, no longer in clear:
-- `sealed1:` + base64 of a nonce, the ciphertext and its tag, 100
-- characters for a 40-character secret (miniaws-core's identity/sealing.rs).
-- VARCHAR(64) held only the clear form. Widening a VARCHAR rewrites
-- nothing. The existing rows are sealed by the server at start-up, not
-- here: the key that seals them is a file outside the database.
ALTER TABLE api_keys ALTER COLUMN secret_access_key TYPE VARCHAR(128);
