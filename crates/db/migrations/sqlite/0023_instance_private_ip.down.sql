ALTER TABLE instances DROP COLUMN private_ip;
