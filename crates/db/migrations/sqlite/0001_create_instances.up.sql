-- SQLite has no UUID or TIMESTAMPTZ: ids are TEXT (hyphenated UUIDs) and
-- times TEXT in RFC 3339 UTC, which sorts in time order.
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    image VARCHAR(255) NOT NULL,
    status VARCHAR(50) NOT NULL,
    container_id VARCHAR(255),
    ports VARCHAR(255),
    created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    deleted_at TEXT
);
