-- A fixed host port (`HOST:CONTAINER`) recorded on an instance that is not
-- terminated is reserved for that instance, stopped or not: one row per
-- host port and protocol, so that the primary key refuses a second
-- instance on it. A check in the server could be raced by two launches;
-- the index cannot. A launch writes its instance and its rows in one
-- transaction, a start claims the rows its instance lacks, and a
-- terminate deletes them with the row's `deleted_at`. A failed launch's
-- row goes with them (the foreign key cascades; the server turns SQLite's
-- foreign keys on). Auto-assigned host ports (`"80"`) change at every
-- start and are not reserved.
CREATE TABLE instance_host_ports (
    host_port INTEGER NOT NULL,
    protocol VARCHAR(3) NOT NULL,
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
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
-- holder lives. `ports` is the stored list (`8080:80/tcp,53/udp`), split
-- by a recursive CTE; an entry that is not a fixed mapping is left out.
WITH RECURSIVE specs (id, status, created_at, spec, rest) AS (
    SELECT id, status, created_at, NULL, ports || ','
      FROM instances
     WHERE deleted_at IS NULL AND owner_id IS NOT NULL AND ports IS NOT NULL
    UNION ALL
    SELECT id, status, created_at, trim(substr(rest, 1, instr(rest, ',') - 1)),
           substr(rest, instr(rest, ',') + 1)
      FROM specs
     WHERE rest <> ''
), split AS (
    SELECT id, status, created_at,
           CASE WHEN instr(spec, '/') > 0 THEN substr(spec, 1, instr(spec, '/') - 1)
                ELSE spec END AS mapping,
           CASE WHEN instr(spec, '/') > 0 THEN lower(substr(spec, instr(spec, '/') + 1))
                ELSE 'tcp' END AS protocol
      FROM specs
     WHERE spec IS NOT NULL
), fixed AS (
    SELECT id, status, created_at, protocol,
           substr(mapping, 1, instr(mapping, ':') - 1) AS host,
           substr(mapping, instr(mapping, ':') + 1) AS container
      FROM split
     WHERE instr(mapping, ':') > 0 AND protocol IN ('tcp', 'udp')
), ranked AS (
    SELECT id, CAST(host AS INTEGER) AS host_port, protocol,
           row_number() OVER (PARTITION BY CAST(host AS INTEGER), protocol
                              ORDER BY (status = 'RUNNING') DESC, created_at, id) AS place
      FROM fixed
     WHERE host <> '' AND length(host) <= 5 AND host NOT GLOB '*[^0-9]*'
       AND container <> '' AND length(container) <= 5 AND container NOT GLOB '*[^0-9]*'
)
INSERT INTO instance_host_ports (host_port, protocol, instance_id)
SELECT host_port, protocol, id FROM ranked WHERE place = 1 AND host_port BETWEEN 1 AND 65535;
