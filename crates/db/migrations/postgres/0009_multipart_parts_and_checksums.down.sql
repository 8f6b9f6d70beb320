ALTER TABLE multipart_parts
    DROP COLUMN checksum_value,
    DROP COLUMN checksum_algorithm;
ALTER TABLE multipart_uploads DROP COLUMN checksum_algorithm;
ALTER TABLE objects DROP COLUMN parts;
