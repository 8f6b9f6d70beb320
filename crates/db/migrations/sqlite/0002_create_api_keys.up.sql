CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    key VARCHAR(64) NOT NULL UNIQUE,
    name VARCHAR(255),
    created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used TEXT
);
