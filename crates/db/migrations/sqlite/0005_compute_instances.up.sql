-- Compute: what an instance needs beyond the seed table. `status` holds the
-- state (STARTING, RUNNING, STOPPING, STOPPED, TERMINATED, ERROR); `ports`
-- the requested mappings ("8080:80/tcp,53/udp"); `published_ports` the real
-- bindings ("127.0.0.1:32768:80/tcp"); `env` a JSON object; `command` a JSON
-- array. Terminated rows keep `deleted_at`.
-- SQLite cannot add a foreign key to an existing table; owners come from
-- authenticated callers, so they exist when a row is written.
ALTER TABLE instances ADD COLUMN owner_id TEXT;
ALTER TABLE instances ADD COLUMN instance_type VARCHAR(32);
ALTER TABLE instances ADD COLUMN env TEXT;
ALTER TABLE instances ADD COLUMN command TEXT;
ALTER TABLE instances ADD COLUMN state_reason TEXT;
ALTER TABLE instances ADD COLUMN exit_code BIGINT;
ALTER TABLE instances ADD COLUMN published_ports TEXT;

-- One live instance per name and owner; terminated names are free again.
CREATE UNIQUE INDEX instances_owner_name_live_idx ON instances (owner_id, name) WHERE deleted_at IS NULL;
-- Owner-scoped lists in (created_at, id) order.
CREATE INDEX instances_owner_created_idx ON instances (owner_id, created_at, id);
-- The reconciler's scan of live instances.
CREATE INDEX instances_live_idx ON instances (created_at) WHERE deleted_at IS NULL;
