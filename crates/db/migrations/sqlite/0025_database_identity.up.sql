-- This database's id: a UUID made at the first start of a server on it
-- and written beside the data directory's objects too (`database-id`). A
-- server whose data directory names another database stops before its
-- start-up sweep, which would take every object file this database does
-- not know for a crash's debris and remove it (a mistyped DATABASE_URL, a
-- SQLite file removed under a running server). One row at most.
CREATE TABLE database_identity (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    id TEXT NOT NULL
);
