-- What a completed multipart upload leaves on its object, and the checksums
-- of uploads in progress.
--
-- objects.parts: the parts of an object completed from a multipart upload,
-- as a JSON array of {"size_bytes": n, "checksum": "<base64>" | null}, in
-- part order (NULL for objects written in one piece). GetObject/HeadObject
-- with partNumber read their byte ranges from it. It lives on the row, so
-- the one upsert that commits a write stores it, and replacing or deleting
-- the object drops it with the row.
ALTER TABLE objects ADD COLUMN parts TEXT;

-- The additional checksum an upload was created with
-- (x-amz-checksum-algorithm: CRC32, CRC32C, SHA1, SHA256), NULL for none;
-- every part then carries one, and the object gets their composite.
ALTER TABLE multipart_uploads ADD COLUMN checksum_algorithm TEXT;

-- A part's verified checksum (algorithm and base64 value), when it came
-- with one.
ALTER TABLE multipart_parts ADD COLUMN checksum_algorithm TEXT;
ALTER TABLE multipart_parts ADD COLUMN checksum_value TEXT;
