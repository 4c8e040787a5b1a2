-- Vault's database secrets engine for PostgreSQL (Docs/ROTATION.md, "Dynamic credentials"): connections
-- (the admin password sealed under the keyring, bound to (database_connections, name)), roles with their
-- creation and revocation statements, and the leases of the credentials they hand out.

CREATE TABLE database_connections (
    name TEXT PRIMARY KEY,
    plugin_name TEXT NOT NULL,
    connection_url TEXT NOT NULL,             -- may hold Vault's {{username}}/{{password}} template; never a password
    username TEXT NOT NULL,
    allowed_roles TEXT NOT NULL,              -- JSON array of role names, or ["*"]
    key_term INTEGER NOT NULL,
    sealed BLOB NOT NULL,                     -- the admin password
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE database_roles (
    name TEXT PRIMARY KEY,
    db_name TEXT NOT NULL,
    creation_statements TEXT NOT NULL,        -- JSON array of statements with {{name}}, {{password}}, {{expiration}}
    revocation_statements TEXT NOT NULL,      -- JSON array; empty: terminate sessions, drop owned objects, drop the role
    default_ttl INTEGER NOT NULL,             -- seconds
    max_ttl INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Static roles (database/static-roles/:name) are credentials with the postgres-password rotator, kept in
-- this engine, so they have versions, labels, schedules and audit like any other.
INSERT INTO kv_mounts (path, accessor, description, max_versions, cas_required, delete_version_after, created_at, updated_at)
VALUES ('database-static', 'kv_' || lower(hex(randomblob(12))), 'static roles of the database engine', 0, 0, 0, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER), CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));

CREATE TABLE leases (
    lease_id TEXT PRIMARY KEY,                -- database/creds/<role>/<random>: revoke-prefix works on it
    role_name TEXT NOT NULL,
    db_name TEXT NOT NULL,
    username TEXT NOT NULL,                   -- the role created on the target (not secret)
    accessor TEXT NOT NULL,                   -- the token that asked for it
    issued_at INTEGER NOT NULL,
    renewed_at INTEGER,
    expires_at INTEGER NOT NULL,
    max_expires_at INTEGER NOT NULL,
    revoke_attempts INTEGER NOT NULL DEFAULT 0,
    revoke_error TEXT,
    next_attempt_at INTEGER                   -- the reaper's backoff after a failed revocation
);
CREATE INDEX leases_expiry ON leases (expires_at);
