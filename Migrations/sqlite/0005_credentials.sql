-- The credentials store (Docs/API.md, "KV version 2"): mounts of KV v2 engines, secrets, and their
-- versions, each version's data sealed under the keyring and bound to (api_credential_versions, id, version).

CREATE TABLE kv_mounts (
    path TEXT PRIMARY KEY,                    -- without the trailing slash: 'secret', 'team/app'
    accessor TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    max_versions INTEGER NOT NULL,             -- 0 = the default (10)
    cas_required INTEGER NOT NULL,
    delete_version_after INTEGER NOT NULL,     -- seconds; 0 = never
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Vault's dev server and hvac's defaults expect a KV v2 engine at secret/.
INSERT INTO kv_mounts (path, accessor, description, max_versions, cas_required, delete_version_after, created_at, updated_at)
VALUES ('secret', 'kv_' || lower(hex(randomblob(12))), 'key/value secret storage', 0, 0, 0, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER), CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));

CREATE TABLE api_credentials (
    id TEXT PRIMARY KEY,                      -- mount || '/' || path: the binding id of its versions
    mount TEXT NOT NULL REFERENCES kv_mounts (path) ON DELETE CASCADE,
    path TEXT NOT NULL,
    current_version INTEGER NOT NULL,          -- 0 before the first write (metadata only)
    oldest_version INTEGER NOT NULL,
    max_versions INTEGER NOT NULL,             -- 0 = the mount's
    cas_required INTEGER NOT NULL,
    delete_version_after INTEGER NOT NULL,     -- seconds; 0 = the mount's
    custom_metadata TEXT,                     -- JSON object of strings, or NULL
    created_by TEXT NOT NULL,                 -- token accessor
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER,                   -- reads answer 404 from then on; NULL = never
    last_accessed_at INTEGER,             -- usage, flushed in batches (Docs/OPERATIONS.md)
    access_count INTEGER NOT NULL DEFAULT 0,
    rotation_interval INTEGER NOT NULL DEFAULT 0,  -- seconds; 0 = not rotated on a schedule
    rotation_kind TEXT,                       -- the rotator's name, or NULL
    last_rotated_at INTEGER,
    next_rotation_at INTEGER,
    UNIQUE (mount, path)
);

CREATE TABLE api_credential_versions (
    id TEXT NOT NULL REFERENCES api_credentials (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    deletion_time INTEGER,                -- soft delete (or delete_version_after); NULL = live
    destroyed INTEGER NOT NULL,
    key_term INTEGER,                          -- NULL once destroyed
    sealed BLOB,                             -- nonce || ciphertext || tag; NULL once destroyed
    PRIMARY KEY (id, version)
);
CREATE INDEX api_credential_versions_term ON api_credential_versions (key_term);

-- Response wrapping (sys/wrapping/*): a response sealed under the keyring, readable once.
CREATE TABLE wrapped_responses (
    accessor TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,         -- keyed BLAKE2b of the wrapping token
    creation_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    key_term INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX wrapped_responses_expiry ON wrapped_responses (expires_at);
