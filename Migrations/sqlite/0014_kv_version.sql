-- KV engines of version 1 beside version 2 (Docs/API.md, "KV version 1"). Existing mounts are version 2.
-- A version 1 engine keeps one version per secret in the same tables, sealed and bound the same way, so a
-- tune to version 2 (Vault's upgrade) is a change of this column and nothing else.
ALTER TABLE kv_mounts ADD COLUMN version INTEGER NOT NULL DEFAULT 2 CHECK (version IN (1, 2));

-- The mount's UUID, as Vault gives one in sys/mounts (clients and UIs key mounts by it). Random, formatted as
-- a UUID (version 4); existing mounts get one here.
ALTER TABLE kv_mounts ADD COLUMN uuid TEXT;
UPDATE kv_mounts SET uuid = lower(substr(hex(randomblob(4)), 1, 8) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2, 3) || '-'
    || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2, 3) || '-' || hex(randomblob(6)));
