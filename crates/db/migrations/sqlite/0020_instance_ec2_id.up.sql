-- The EC2-compatible API names an instance `i-` and 17 hex digits. The
-- id is derived from the instance's UUID (its hex without the version
-- digit, 13th, and the variant digit, 17th: the first 17 random digits
-- left) and stored so that lookups by it use an index and can never be
-- ambiguous: the unique index refuses a second instance with the same
-- EC2 id. Existing rows get theirs here, by the same rule as new ones.
ALTER TABLE instances ADD COLUMN ec2_id TEXT;
UPDATE instances SET ec2_id = 'i-' || substr(replace(id, '-', ''), 1, 12)
    || substr(replace(id, '-', ''), 14, 3) || substr(replace(id, '-', ''), 18, 2);
CREATE UNIQUE INDEX instances_ec2_id_idx ON instances (ec2_id);
