-- Auth methods at any path (Docs/API.md, "Auth methods"): AppRole may be enabled several times under chosen
-- names through sys/auth. The built-in auth/approle/ becomes the first row; the token method is built in
-- and never stored. Roles and secret IDs belong to their mount, and role IDs are unique within it, as in Vault.
CREATE TABLE auth_mounts (
    path TEXT PRIMARY KEY,                   -- without the trailing slash: 'approle', 'ci-approle'
    type TEXT NOT NULL CHECK (type = 'approle'),
    accessor TEXT NOT NULL UNIQUE,
    uuid TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO auth_mounts (path, type, accessor, uuid, description, created_at)
VALUES ('approle', 'approle', 'auth_approle_' || lower(hex(randomblob(4))),
        lower(substr(hex(randomblob(4)), 1, 8) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2, 3) || '-'
              || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2, 3) || '-' || hex(randomblob(6))),
        'machine login with a role ID and a secret ID', CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));

CREATE TABLE approle_roles_by_mount (
    mount TEXT NOT NULL REFERENCES auth_mounts (path) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role_id TEXT NOT NULL,
    policies TEXT NOT NULL,                  -- JSON array
    token_ttl INTEGER NOT NULL,              -- seconds; 0 = the default
    token_max_ttl INTEGER NOT NULL,
    token_num_uses INTEGER NOT NULL,
    secret_id_ttl INTEGER NOT NULL,          -- seconds; 0 = never expires
    secret_id_num_uses INTEGER NOT NULL,     -- 0 = unlimited
    secret_id_bound_cidrs TEXT,              -- JSON array or NULL
    token_bound_cidrs TEXT,                  -- JSON array or NULL
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (mount, name),
    UNIQUE (mount, role_id)
);
INSERT INTO approle_roles_by_mount (mount, name, role_id, policies, token_ttl, token_max_ttl, token_num_uses, secret_id_ttl,
                                    secret_id_num_uses, secret_id_bound_cidrs, token_bound_cidrs, created_at, updated_at)
SELECT 'approle', name, role_id, policies, token_ttl, token_max_ttl, token_num_uses, secret_id_ttl, secret_id_num_uses,
       secret_id_bound_cidrs, token_bound_cidrs, created_at, updated_at FROM approle_roles;

CREATE TABLE approle_secret_ids_by_mount (
    accessor TEXT PRIMARY KEY,
    mount TEXT NOT NULL,
    role_name TEXT NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,
    metadata TEXT,                           -- JSON object of strings, or NULL
    cidr_list TEXT,                          -- JSON array or NULL
    num_uses INTEGER NOT NULL,               -- uses left; 0 = unlimited
    created_at INTEGER NOT NULL,
    expires_at INTEGER,                      -- NULL = never
    FOREIGN KEY (mount, role_name) REFERENCES approle_roles_by_mount (mount, name) ON DELETE CASCADE
);
INSERT INTO approle_secret_ids_by_mount (accessor, mount, role_name, secret_hash, metadata, cidr_list, num_uses, created_at, expires_at)
SELECT accessor, 'approle', role_name, secret_hash, metadata, cidr_list, num_uses, created_at, expires_at FROM approle_secret_ids;

DROP TABLE approle_secret_ids;
DROP TABLE approle_roles;
ALTER TABLE approle_roles_by_mount RENAME TO approle_roles;
ALTER TABLE approle_secret_ids_by_mount RENAME TO approle_secret_ids;
CREATE INDEX approle_secret_ids_role ON approle_secret_ids (mount, role_name);
