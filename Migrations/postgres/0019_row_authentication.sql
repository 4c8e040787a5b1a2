-- Row authentication (Docs/KEYS.md, Docs/THREAT_MODEL.md): every row that carries authority or ordering has a
-- tag, a keyed BLAKE2b of its fields under the row key of a keyring term. NULL until the first unseal after
-- this upgrade tags the rows written before it; from then on a row without a valid tag is refused.
ALTER TABLE tokens ADD COLUMN auth_term BIGINT;
ALTER TABLE tokens ADD COLUMN auth_tag BYTEA;
ALTER TABLE policies ADD COLUMN auth_term BIGINT;
ALTER TABLE policies ADD COLUMN auth_tag BYTEA;
ALTER TABLE token_roles ADD COLUMN auth_term BIGINT;
ALTER TABLE token_roles ADD COLUMN auth_tag BYTEA;
ALTER TABLE approle_roles ADD COLUMN auth_term BIGINT;
ALTER TABLE approle_roles ADD COLUMN auth_tag BYTEA;
ALTER TABLE approle_secret_ids ADD COLUMN auth_term BIGINT;
ALTER TABLE approle_secret_ids ADD COLUMN auth_tag BYTEA;
ALTER TABLE kv_mounts ADD COLUMN auth_term BIGINT;
ALTER TABLE kv_mounts ADD COLUMN auth_tag BYTEA;
ALTER TABLE auth_mounts ADD COLUMN auth_term BIGINT;
ALTER TABLE auth_mounts ADD COLUMN auth_tag BYTEA;
ALTER TABLE api_credentials ADD COLUMN auth_term BIGINT;
ALTER TABLE api_credentials ADD COLUMN auth_tag BYTEA;
ALTER TABLE database_connections ADD COLUMN auth_term BIGINT;
ALTER TABLE database_connections ADD COLUMN auth_tag BYTEA;
ALTER TABLE database_roles ADD COLUMN auth_term BIGINT;
ALTER TABLE database_roles ADD COLUMN auth_tag BYTEA;
ALTER TABLE leases ADD COLUMN auth_term BIGINT;
ALTER TABLE leases ADD COLUMN auth_tag BYTEA;
ALTER TABLE wrapped_responses ADD COLUMN auth_term BIGINT;
ALTER TABLE wrapped_responses ADD COLUMN auth_tag BYTEA;

-- A secret's random id, fixed at creation and bound into its versions' associated data (NULL for a secret
-- created before: its versions keep the mount/path binding), and the highest version number it ever gave,
-- so that numbers are never reused after a delete, a trim or a rolled-back rotation.
ALTER TABLE api_credentials ADD COLUMN secret_uid TEXT;
ALTER TABLE api_credentials ADD COLUMN version_counter BIGINT NOT NULL DEFAULT 0;
UPDATE api_credentials SET version_counter = greatest(current_version, coalesce(pending_version, 0),
    coalesce((SELECT max(version) FROM api_credential_versions v WHERE v.id = api_credentials.id), 0));
-- The binding id a version was sealed with (mount/path#uid), for sys/rewrap; reads derive it from the secret.
ALTER TABLE api_credential_versions ADD COLUMN binding_id TEXT;
