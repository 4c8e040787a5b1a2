-- AppRole machine login (Docs/POLICIES.md) and CIDR-bound tokens.

ALTER TABLE tokens ADD COLUMN bound_cidrs TEXT;   -- JSON array of CIDR blocks the token may be used from; NULL = anywhere

CREATE TABLE approle_roles (
    name TEXT PRIMARY KEY,
    role_id TEXT NOT NULL UNIQUE,
    policies TEXT NOT NULL,                  -- JSON array
    token_ttl BIGINT NOT NULL,              -- seconds; 0 = the default
    token_max_ttl BIGINT NOT NULL,
    token_num_uses BIGINT NOT NULL,
    secret_id_ttl BIGINT NOT NULL,          -- seconds; 0 = never expires
    secret_id_num_uses BIGINT NOT NULL,     -- 0 = unlimited
    secret_id_bound_cidrs TEXT,              -- JSON array or NULL
    token_bound_cidrs TEXT,                  -- JSON array or NULL
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Secret IDs, stored only as keyed BLAKE2b hashes (the token HMAC key).
CREATE TABLE approle_secret_ids (
    accessor TEXT PRIMARY KEY,
    role_name TEXT NOT NULL REFERENCES approle_roles (name) ON DELETE CASCADE,
    secret_hash BYTEA NOT NULL UNIQUE,
    metadata TEXT,                           -- JSON object of strings, or NULL
    cidr_list TEXT,                          -- JSON array or NULL
    num_uses BIGINT NOT NULL,               -- uses left; 0 = unlimited
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ                       -- NULL = never
);
CREATE INDEX approle_secret_ids_role ON approle_secret_ids (role_name);
