-- The key hierarchy (Docs/KEYS.md). Nothing here is usable without the root key, which is never stored.

-- How the root key is recovered at unseal, and a check value that tells a right root key from a wrong one.
CREATE TABLE seal_config (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    method TEXT NOT NULL CHECK (method IN ('shamir', 'passphrase', 'keyfile')),
    secret_shares INTEGER NOT NULL,
    secret_threshold INTEGER NOT NULL,
    argon2_ops BIGINT,               -- passphrase only
    argon2_mem BIGINT,
    argon2_salt BYTEA,
    key_check BYTEA NOT NULL,         -- keyed BLAKE2b of a constant under the root key
    root_generation INTEGER NOT NULL, -- bumped by every rekey
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Data-encryption keys by term, each sealed under the root key with AD "keyring|<term>".
CREATE TABLE keyring (
    term BIGINT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('active', 'decrypt-only', 'retired')),
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX keyring_status ON keyring (status);

-- Long-lived system keys (token and audit HMAC keys, audit signing seed), sealed under the root key
-- with AD "system_keys|<purpose>", so that rotating data keys never invalidates tokens or audit hashes.
CREATE TABLE system_keys (
    purpose TEXT PRIMARY KEY,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- The initial root token made at init, kept only as a keyed hash until the token system takes it over.
CREATE TABLE initial_root_token (
    accessor TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
