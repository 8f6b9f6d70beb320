-- The tags of an instance beyond those its fields carry (Name, the
-- EC2 API's miniaws:ports and miniaws:command): a JSON object of key to
-- value, written whole by CreateTags/DeleteTags, which compare it with
-- what they read (compare-and-set), so that concurrent edits lose nothing.
ALTER TABLE instances ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
