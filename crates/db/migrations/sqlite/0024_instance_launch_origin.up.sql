-- The launch request an instance came from, when it launched several
-- instances or carried a client token (EC2's RunInstances): the request's
-- first instance (which names the reservation), the instance's place in
-- the request (amiLaunchIndex), the client token and a digest of the
-- request's other parameters. A retry with the token answers the
-- instances found by it instead of launching again, also after a
-- restart; the unique index makes a second launch with one token
-- impossible even if two got past the service's lock. Existing rows were
-- launched alone without a stored token: NULL, index 0.
ALTER TABLE instances ADD COLUMN launch_first TEXT;
ALTER TABLE instances ADD COLUMN launch_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN client_token TEXT;
ALTER TABLE instances ADD COLUMN launch_digest TEXT;
CREATE UNIQUE INDEX instances_client_token_idx ON instances (owner_id, client_token, launch_index)
    WHERE client_token IS NOT NULL;
