-- The Gate (Docs/POLICIES.md, Docs/AUDIT.md): tokens, stored policies and the hash-chained audit trail.

-- Tokens, Vault's model. The token itself is never stored: only its keyed BLAKE2b hash (token HMAC key).
CREATE TABLE tokens (
    accessor TEXT PRIMARY KEY,               -- non-secret handle
    token_hash BYTEA NOT NULL UNIQUE,
    parent_accessor TEXT,                    -- NULL for orphans; revoking a parent revokes its children
    policies TEXT NOT NULL,                  -- JSON array, sorted
    meta TEXT,                               -- JSON object of strings, or NULL
    display_name TEXT NOT NULL,
    path TEXT NOT NULL,                      -- how it was made: auth/token/create, auth/approle/login, sys/init
    creation_ttl BIGINT NOT NULL,           -- seconds; 0 = never expires
    explicit_max_ttl BIGINT NOT NULL,       -- seconds; 0 = none
    num_uses INTEGER NOT NULL,               -- uses left; 0 = unlimited
    renewable BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,                      -- NULL = never
    max_expires_at TIMESTAMPTZ                   -- renewals stop here; NULL = no limit
);
CREATE INDEX tokens_parent ON tokens (parent_accessor);

-- ACL policies in Vault's language, as written (HCL or JSON). `root` is built in and never stored.
CREATE TABLE policies (
    name TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The audit trail: numbered without gaps, each entry hashed with the one before (Docs/AUDIT.md).
-- `fields` is the hashed content; the other columns copy some of it for queries and are checked against it.
CREATE TABLE audit_log (
    sequence BIGINT PRIMARY KEY,
    time TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,                      -- request | response
    request_id TEXT NOT NULL,
    accessor TEXT NOT NULL,
    display_name TEXT NOT NULL,
    path TEXT NOT NULL,
    operation TEXT NOT NULL,
    decision TEXT NOT NULL,
    status INTEGER NOT NULL,
    fields TEXT NOT NULL,
    hash BYTEA NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_accessor ON audit_log (accessor);

-- The chain's head, taken under the write lock by every append (one chain across instances).
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

-- Ed25519-signed statements of the head; also written to a witness outside the database.
CREATE TABLE audit_checkpoints (
    sequence BIGINT PRIMARY KEY,
    head BYTEA NOT NULL,
    time TIMESTAMPTZ NOT NULL,
    signature BYTEA NOT NULL
);
