-- Compute: what an instance needs beyond the seed table. `status` holds the
-- state (STARTING, RUNNING, STOPPING, STOPPED, TERMINATED, ERROR); `ports`
-- the requested mappings ("8080:80/tcp,53/udp"); `published_ports` the real
-- bindings ("127.0.0.1:32768:80/tcp"); `env` a JSON object; `command` a JSON
-- array. Terminated rows keep `deleted_at`.
ALTER TABLE instances
    ADD COLUMN owner_id UUID,
    ADD COLUMN instance_type VARCHAR(32),
    ADD COLUMN env TEXT,
    ADD COLUMN command TEXT,
    ADD COLUMN state_reason TEXT,
    ADD COLUMN exit_code BIGINT,
    ADD COLUMN published_ports TEXT,
    ADD CONSTRAINT instances_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE;

-- One live instance per name and owner; terminated names are free again.
CREATE UNIQUE INDEX instances_owner_name_live_idx ON instances (owner_id, name) WHERE deleted_at IS NULL;
-- Owner-scoped lists in (created_at, id) order.
CREATE INDEX instances_owner_created_idx ON instances (owner_id, created_at, id);
-- The reconciler's scan of live instances.
CREATE INDEX instances_live_idx ON instances (created_at) WHERE deleted_at IS NULL;
