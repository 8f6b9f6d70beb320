DROP INDEX instances_ec2_id_idx;
ALTER TABLE instances DROP COLUMN ec2_id;
