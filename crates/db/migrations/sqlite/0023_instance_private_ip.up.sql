-- The address of a running instance's container on Docker's network
-- (what the EC2 API calls its private IP), set when the container starts
-- and cleared when it stops; NULL while it does not run.
ALTER TABLE instances ADD COLUMN private_ip TEXT;
