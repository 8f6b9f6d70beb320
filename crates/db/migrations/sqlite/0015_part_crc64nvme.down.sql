ALTER TABLE multipart_parts DROP COLUMN crc64nvme;
