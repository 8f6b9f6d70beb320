CREATE INDEX buckets_owner_name_idx ON buckets (owner_id, name);
DROP INDEX buckets_owner_name_c_idx;
