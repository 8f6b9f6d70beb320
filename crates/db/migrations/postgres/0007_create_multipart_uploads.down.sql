DROP INDEX multipart_parts_blob_idx;
DROP TABLE multipart_parts;
DROP INDEX multipart_uploads_initiated_idx;
DROP INDEX multipart_uploads_listing_idx;
DROP TABLE multipart_uploads;
