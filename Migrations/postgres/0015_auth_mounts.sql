-- Auth methods at any path (Docs/API.md, "Auth methods"): AppRole may be enabled several times under chosen
-- names through sys/auth. The built-in auth/approle/ becomes the first row; the token method is built in
-- and never stored. Roles and secret IDs belong to their mount, and role IDs are unique within it, as in Vault.
CREATE TABLE auth_mounts (
    path TEXT PRIMARY KEY,                   -- without the trailing slash: 'approle', 'ci-approle'
    type TEXT NOT NULL CHECK (type = 'approle'),
    accessor TEXT NOT NULL UNIQUE,
    uuid TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
INSERT INTO auth_mounts (path, type, accessor, uuid, description, created_at)
VALUES ('approle', 'approle', 'auth_approle_' || substr(md5(gen_random_uuid()::text), 1, 8), gen_random_uuid()::text,
        'machine login with a role ID and a secret ID', now());

ALTER TABLE approle_roles ADD COLUMN mount TEXT NOT NULL DEFAULT 'approle' REFERENCES auth_mounts (path) ON DELETE CASCADE;
ALTER TABLE approle_roles ALTER COLUMN mount DROP DEFAULT;
ALTER TABLE approle_secret_ids ADD COLUMN mount TEXT NOT NULL DEFAULT 'approle';
ALTER TABLE approle_secret_ids ALTER COLUMN mount DROP DEFAULT;
ALTER TABLE approle_secret_ids DROP CONSTRAINT approle_secret_ids_role_name_fkey;
ALTER TABLE approle_roles DROP CONSTRAINT approle_roles_pkey;
ALTER TABLE approle_roles ADD PRIMARY KEY (mount, name);
ALTER TABLE approle_roles DROP CONSTRAINT approle_roles_role_id_key;
ALTER TABLE approle_roles ADD UNIQUE (mount, role_id);
ALTER TABLE approle_secret_ids ADD FOREIGN KEY (mount, role_name) REFERENCES approle_roles (mount, name) ON DELETE CASCADE;
DROP INDEX approle_secret_ids_role;
CREATE INDEX approle_secret_ids_role ON approle_secret_ids (mount, role_name);
