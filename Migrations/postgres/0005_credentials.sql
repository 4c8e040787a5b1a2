-- The credentials store (Docs/API.md, "KV version 2"): mounts of KV v2 engines, secrets, and their
-- versions, each version's data sealed under the keyring and bound to (api_credential_versions, id, version).

CREATE TABLE kv_mounts (
    path TEXT PRIMARY KEY,                    -- without the trailing slash: 'secret', 'team/app'
    accessor TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    max_versions BIGINT NOT NULL,             -- 0 = the default (10)
    cas_required BOOLEAN NOT NULL,
    delete_version_after BIGINT NOT NULL,     -- seconds; 0 = never
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Vault's dev server and hvac's defaults expect a KV v2 engine at secret/.
INSERT INTO kv_mounts (path, accessor, description, max_versions, cas_required, delete_version_after, created_at, updated_at)
VALUES ('secret', 'kv_' || md5(random()::text), 'key/value secret storage', 0, FALSE, 0, now(), now());

CREATE TABLE api_credentials (
    id TEXT PRIMARY KEY,                      -- mount || '/' || path: the binding id of its versions
    mount TEXT NOT NULL REFERENCES kv_mounts (path) ON DELETE CASCADE,
    path TEXT NOT NULL,
    current_version BIGINT NOT NULL,          -- 0 before the first write (metadata only)
    oldest_version BIGINT NOT NULL,
    max_versions BIGINT NOT NULL,             -- 0 = the mount's
    cas_required BOOLEAN NOT NULL,
    delete_version_after BIGINT NOT NULL,     -- seconds; 0 = the mount's
    custom_metadata TEXT,                     -- JSON object of strings, or NULL
    created_by TEXT NOT NULL,                 -- token accessor
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,                   -- reads answer 404 from then on; NULL = never
    last_accessed_at TIMESTAMPTZ,             -- usage, flushed in batches (Docs/OPERATIONS.md)
    access_count BIGINT NOT NULL DEFAULT 0,
    rotation_interval BIGINT NOT NULL DEFAULT 0,  -- seconds; 0 = not rotated on a schedule
    rotation_kind TEXT,                       -- the rotator's name, or NULL
    last_rotated_at TIMESTAMPTZ,
    next_rotation_at TIMESTAMPTZ,
    UNIQUE (mount, path)
);

CREATE TABLE api_credential_versions (
    id TEXT NOT NULL REFERENCES api_credentials (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    deletion_time TIMESTAMPTZ,                -- soft delete (or delete_version_after); NULL = live
    destroyed BOOLEAN NOT NULL,
    key_term BIGINT,                          -- NULL once destroyed
    sealed BYTEA,                             -- nonce || ciphertext || tag; NULL once destroyed
    PRIMARY KEY (id, version)
);
CREATE INDEX api_credential_versions_term ON api_credential_versions (key_term);

-- Response wrapping (sys/wrapping/*): a response sealed under the keyring, readable once.
CREATE TABLE wrapped_responses (
    accessor TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,         -- keyed BLAKE2b of the wrapping token
    creation_path TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    key_term BIGINT NOT NULL,
    sealed BYTEA NOT NULL
);
CREATE INDEX wrapped_responses_expiry ON wrapped_responses (expires_at);
