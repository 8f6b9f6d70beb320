-- A fixed host port (`HOST:CONTAINER`) recorded on an instance that is not
-- terminated is reserved for that instance, stopped or not: one row per
-- host port and protocol, so that the primary key refuses a second
-- instance on it. A check in the server could be raced by two launches;
-- the index cannot. A launch writes its instance and its rows in one
-- transaction, a start claims the rows its instance lacks, and a
-- terminate deletes them with the row's `deleted_at`. A failed launch's
-- row goes with them (the foreign key cascades). Auto-assigned host ports
-- (`"80"`) change at every start and are not reserved.
CREATE TABLE instance_host_ports (
    host_port INTEGER NOT NULL,
    protocol VARCHAR(3) NOT NULL,
    instance_id UUID NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    PRIMARY KEY (host_port, protocol)
);
CREATE INDEX instance_host_ports_instance_idx ON instance_host_ports (instance_id);

-- The live instances of an existing database get their fixed ports. Two of
-- them may have recorded one port (a stopped instance's port taken by
-- another launch, which the server allowed until now): the upgrade must
-- not fail on that, so each port goes to one of them, a running instance
-- first (it is the one Docker publishes the port for), else the oldest
-- (by created_at, then id). The others keep their mapping and claim the
-- port at their next start, which is refused (409 PORT_CONFLICT) while the
-- holder lives. `ports` is the stored list (`8080:80/tcp,53/udp`); an
-- entry that is not a fixed mapping is left out, and the CASE keeps the
-- cast away from anything that is not digits.
WITH specs AS (
    SELECT i.id, i.status, i.created_at, trim(spec) AS spec
      FROM instances AS i, unnest(string_to_array(i.ports, ',')) AS spec
     WHERE i.deleted_at IS NULL AND i.owner_id IS NOT NULL
), fixed AS (
    SELECT id, status, created_at,
           CASE WHEN spec ~* '^[0-9]{1,5}:[0-9]{1,5}(/(tcp|udp))?$'
                THEN split_part(spec, ':', 1)::integer END AS host_port,
           lower(COALESCE(NULLIF(split_part(spec, '/', 2), ''), 'tcp')) AS protocol
      FROM specs
), ranked AS (
    SELECT id, host_port, protocol,
           row_number() OVER (PARTITION BY host_port, protocol
                              ORDER BY (status = 'RUNNING') DESC, created_at, id) AS place
      FROM fixed
     WHERE host_port BETWEEN 1 AND 65535
)
INSERT INTO instance_host_ports (host_port, protocol, instance_id)
SELECT host_port, protocol, id FROM ranked WHERE place = 1;
