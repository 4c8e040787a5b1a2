-- The Gate (Docs/POLICIES.md, Docs/AUDIT.md): tokens, stored policies and the hash-chained audit trail.

-- Tokens, Vault's model. The token itself is never stored: only its keyed BLAKE2b hash (token HMAC key).
CREATE TABLE tokens (
    accessor TEXT PRIMARY KEY,               -- non-secret handle
    token_hash BLOB NOT NULL UNIQUE,
    parent_accessor TEXT,                    -- NULL for orphans; revoking a parent revokes its children
    policies TEXT NOT NULL,                  -- JSON array, sorted
    meta TEXT,                               -- JSON object of strings, or NULL
    display_name TEXT NOT NULL,
    path TEXT NOT NULL,                      -- how it was made: auth/token/create, auth/approle/login, sys/init
    creation_ttl INTEGER NOT NULL,           -- seconds; 0 = never expires
    explicit_max_ttl INTEGER NOT NULL,       -- seconds; 0 = none
    num_uses INTEGER NOT NULL,               -- uses left; 0 = unlimited
    renewable INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,                      -- NULL = never
    max_expires_at INTEGER                   -- renewals stop here; NULL = no limit
);
CREATE INDEX tokens_parent ON tokens (parent_accessor);

-- ACL policies in Vault's language, as written (HCL or JSON). `root` is built in and never stored.
CREATE TABLE policies (
    name TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The audit trail: numbered without gaps, each entry hashed with the one before (Docs/AUDIT.md).
-- `fields` is the hashed content; the other columns copy some of it for queries and are checked against it.
CREATE TABLE audit_log (
    sequence INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,                      -- request | response
    request_id TEXT NOT NULL,
    accessor TEXT NOT NULL,
    display_name TEXT NOT NULL,
    path TEXT NOT NULL,
    operation TEXT NOT NULL,
    decision TEXT NOT NULL,
    status INTEGER NOT NULL,
    fields TEXT NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_accessor ON audit_log (accessor);

-- The chain's head, taken under the write lock by every append (one chain across instances).
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, zeroblob(32));

-- Ed25519-signed statements of the head; also written to a witness outside the database.
CREATE TABLE audit_checkpoints (
    sequence INTEGER PRIMARY KEY,
    head BLOB NOT NULL,
    time INTEGER NOT NULL,
    signature BLOB NOT NULL
);
