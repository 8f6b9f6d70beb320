CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    user_id UUID,
    key VARCHAR(64) NOT NULL UNIQUE,
    name VARCHAR(255),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    last_used TIMESTAMPTZ
);
